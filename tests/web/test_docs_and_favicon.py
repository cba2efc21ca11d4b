"""The API docs page needs no internet (Swagger UI's files come from the app) and every page
has an icon: /favicon.ico answers, and the agent pages link the SVG one."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from frontdesk.runtime import Runtime
from tests.web.agent.helpers import login_as, setup_workspace

URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


def test_docs_page_loads_only_local_files(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # no CDN, no remote icon
    urls = [a or b for a, b in URL.findall(page.text)]
    assert "/openapi.json" in urls
    expected = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".svg": "image/svg+xml",
        ".json": "application/json",
    }
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        response = client.get(url)
        assert response.status_code == 200, url
        kind = next(v for k, v in expected.items() if url.endswith(k))
        assert response.headers["content-type"].split(";")[0] == kind, url
        assert len(response.content) > 100, url
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    # the OAuth redirect page stays; /redoc stays off; nothing else of the package is served
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text.lower()
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 404
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404


def test_docs_page_may_run_its_script_the_inbox_may_not(client: TestClient) -> None:
    """Swagger UI's page starts itself with an inline script: it has no CSP; its files and
    the rest of the app keep theirs."""
    assert "content-security-policy" not in client.get("/docs").headers
    assert "content-security-policy" not in client.get("/docs/oauth2-redirect").headers
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert "script-src 'self'" in script.headers["content-security-policy"]
    assert "script-src 'self'" in client.get("/login").headers["content-security-policy"]


def test_favicon(client: TestClient, runtime: Runtime) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")
    link = 'rel="icon" href="/static/favicon.svg'
    assert link in client.get("/login").text
    login_as(client, runtime, setup_workspace(runtime).admin)
    for page in ("/inbox", "/admin/settings", "/admin/kb", "/account"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert link in response.text, page
