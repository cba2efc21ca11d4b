"""The API fixtures (two tenants, a token client) for the rules API tests."""

from tests.web.api.conftest import api, tenant_a, tenant_b

__all__ = ["api", "tenant_a", "tenant_b"]
