"""The API docs (/docs) in a real browser with no internet: Swagger UI comes from the app
itself, lists the operations, and a call made with an API token through Authorize works."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from frontdesk.inbound import InboundMessage, receive
from tests.browser.conftest import LiveServer, screenshot
from tests.factories import make_api_token, make_customer, make_workspace

pytestmark = pytest.mark.browser


def test_docs_work_offline(live_server: LiveServer, new_page: Callable[..., Any]) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        token = make_api_token(s, workspace)
        workspace_id, customer_id = workspace.id, make_customer(s, workspace).id
    receive(runtime.db, InboundMessage(workspace_id, "chat", customer_id, "Where is my order?"))

    page = new_page(viewport={"width": 1300, "height": 900})
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(live_server.url + "/"):
            route.continue_()
        else:  # an air-gapped server: nothing outside this machine answers
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(live_server.url + "/docs")
    listed = page.locator(".opblock-summary-path[data-path='/api/v1/conversations']")
    listed.first.wait_for()
    assert page.locator(".opblock").count() >= 10
    assert page.get_by_text("Unable to render this definition").count() == 0

    # The token authorisation: Authorize, then a call that carries the token.
    page.click("button.authorize")
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(token)
    page.click(".modal-ux button.authorize")
    page.click(".modal-ux button.btn-done")
    get_list = page.locator(".opblock-get", has=listed).first
    get_list.locator(".opblock-summary").first.click()
    get_list.locator("button.try-out__btn").click()
    get_list.locator("button.execute").click()
    status = get_list.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert f'"customer_id": {customer_id}' in get_list.locator(".live-responses-table").inner_text()
    screenshot(page, "docs-offline")
    assert blocked == []
