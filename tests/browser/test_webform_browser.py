"""The web form in Chromium, embedded in the company's site (another origin): fill it in, attach
a file, see the thank-you page; the agent inbox then shows the ticket and its attachment.
A site that is not an allowed origin cannot frame the form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from frontdesk.accounts.actions import update_workspace
from frontdesk.store.models import Attachment, Conversation
from tests.browser.conftest import LiveServer, StaticSite, screenshot
from tests.factories import PASSWORD, make_agent, make_workspace

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_web_form_ticket_reaches_the_inbox(
    live_server: LiveServer,
    other_origin: StaticSite,
    new_page: Callable[..., Any],
    tmp_path: Path,
) -> None:
    runtime = live_server.runtime
    with runtime.db.write() as s:
        workspace = make_workspace(s, "Northwind")
        update_workspace(s, workspace, allowed_origins=[other_origin.origin])
        make_agent(s, workspace, name="Ana", email="ana@example.com", role="admin")
        closed = make_workspace(s, "Closed")  # allows no other origin
        slug, closed_slug = workspace.slug, closed.slug
    other_origin.pages["/contact"] = (
        "<!doctype html><title>Contact us</title><h1>Northwind Bikes</h1>"
        f'<iframe id="form" src="{live_server.url}/form/{slug}?lang=en" '
        'width="700" height="900"></iframe>'
    )
    other_origin.pages["/elsewhere"] = (
        f'<!doctype html><iframe id="form" src="{live_server.url}/form/{closed_slug}"></iframe>'
    )
    upload = tmp_path / "receipt.pdf"
    upload.write_bytes(PDF)

    page = new_page(viewport={"width": 900, "height": 1000})
    page.goto(other_origin.origin + "/contact")
    form = page.frame_locator("#form")
    form.locator("input[name=name]").fill("Sam Rider")
    form.locator("input[name=email]").fill("sam@rider.example")
    form.locator("input[name=subject]").fill("Brake squeaks")
    form.locator("textarea[name=message]").fill("The front brake squeaks since Monday.")
    form.locator("input[name=attachment]").set_input_files(str(upload))
    trap = form.locator("input[name=website]").bounding_box()  # the honeypot: off-screen
    assert trap is not None and trap["x"] + trap["width"] <= 0
    form.locator("button[type=submit]").click()
    thanks = form.locator(".wf-thanks")
    thanks.wait_for()
    assert "we'll reply to sam@rider.example" in (thanks.text_content() or "")
    screenshot(page, "webform-thanks")

    with runtime.db.read() as s:
        conversation = s.scalars(select(Conversation)).one()
        attachment = s.scalars(select(Attachment)).one()
        assert conversation.channel == "web_form" and conversation.reply_by_email
        assert (attachment.filename, attachment.content_type) == ("receipt.pdf", "application/pdf")
        conversation_id, attachment_id = conversation.id, attachment.id

    agent = new_page(viewport={"width": 1400, "height": 900})
    agent.goto(live_server.url + "/login")
    agent.fill("input[name=email]", "ana@example.com")
    agent.fill("input[name=password]", PASSWORD)
    agent.click("button[type=submit]")
    agent.wait_for_url("**/inbox")
    agent.click("a.view[data-view=all]")
    agent.wait_for_url("**/inbox?view=all*")
    agent.get_by_text("Brake squeaks").first.click()
    agent.wait_for_url(f"**/inbox/c/{conversation_id}*")
    agent.locator("#transcript .msg-customer .msg-body", has_text="front brake squeaks").wait_for()
    link = agent.locator(f"#transcript a[data-attachment='{attachment_id}']")
    assert link.text_content() == "receipt.pdf"
    with agent.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "receipt.pdf"
    assert Path(download.path()).read_bytes() == PDF
    screenshot(agent, "webform-inbox")

    # A site that is not among the allowed origins gets no form in its frame.
    blocked = new_page()
    blocked.goto(other_origin.origin + "/elsewhere")
    blocked.wait_for_timeout(500)
    frame = blocked.frames[-1]
    assert frame != blocked.main_frame
    assert frame.locator("input[name=email]").count() == 0
