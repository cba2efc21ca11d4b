"""An office behind one NAT address: its fresh browsers all get a chat (default settings)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from tests.web.widget.site import counts, make_site, start

pytestmark = pytest.mark.usefixtures("one_rate_window")


def test_the_default_lets_an_office_in_and_still_caps_a_script() -> None:
    limit = Settings.model_fields["rate_widget_sessions_per_hour"]
    assert isinstance(limit.default, int) and 500 <= limit.default <= 5000
    assert limit.description is not None and "NAT" in limit.description


def test_many_fresh_browsers_from_one_address_each_get_a_session(
    client: TestClient, runtime: Runtime
) -> None:
    """The report: 31 fresh browser contexts in an hour from one address locked the 31st out."""
    site = make_site(runtime)
    tokens = {start(client, site)["visitor_token"] for _ in range(40)}
    assert len(tokens) == 40
    assert counts(runtime)["customers"] == 40
