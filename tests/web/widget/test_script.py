"""GET /widget.js and the demo page."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from frontdesk.runtime import Runtime
from tests.web.widget.site import make_site

SCRIPT = Path(__file__).resolve().parents[3] / "src" / "frontdesk" / "web" / "static" / "widget.js"


def test_script_is_served_as_javascript_for_other_origins(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "attachShadow" in response.text


def test_script_never_turns_text_into_markup() -> None:
    source = SCRIPT.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, sink


def test_demo_page_carries_the_snippet_and_escapes_the_name(
    client: TestClient, runtime: Runtime
) -> None:
    site = make_site(runtime, name="Tom & <Jerry>")
    page = client.get(f"/widget/demo/{site.slug}")
    assert page.status_code == 200
    assert (
        f'<script src="http://127.0.0.1/widget.js" data-workspace="{site.slug}" async>' in page.text
    )
    assert "Tom &amp; &lt;Jerry&gt;" in page.text and "<Jerry>" not in page.text
    assert client.get("/widget/demo/nope").status_code == 404
