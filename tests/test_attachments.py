"""Attachment storage and download (RELIABILITY row 6, and row 3 for other tenants' ids)."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.attachments import (
    normalize_filename,
    open_attachment,
    sniff_content_type,
    store_attachment,
    workspace_attachment_bytes,
)
from frontdesk.config import Settings
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.runtime import Runtime
from frontdesk.store.models import Attachment, Message
from tests.factories import make_customer, make_message
from tests.web.agent.helpers import login_as, setup_workspace

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 20


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".htaccess", "htaccess"),
        ("../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
        ("C:evil.bat", "evil.bat"),
        ("in\u200bvoi\u200dce\ufeff.pdf", "invoice.pdf"),
        ("photo\u202egnp.exe", "photognp.exe"),  # the right-to-left override is gone
        ("repor\x00t\x07.txt", "report.txt"),
        ("ｆｕｌｌｗｉｄｔｈ．ｐｄｆ", "fullwidth.pdf"),  # NFKC first, then the checks
        ("..", "attachment"),
        ("", "attachment"),
        ("   ", "attachment"),
        ("/", "attachment"),
        ("a/b/", "attachment"),
        ("...hidden. ", "hidden"),
        ('we<ird>:"|?*.txt', "we_ird______.txt"),
        ("line\nbreak\ttab.txt", "line break tab.txt"),
        ("报告 2026.docx", "报告 2026.docx"),
    ],
)
def test_normalize_filename(name: str, expected: str) -> None:
    assert normalize_filename(name) == expected


def test_long_names_keep_their_extension() -> None:
    name = normalize_filename("x" * 500 + ".pdf")
    assert len(name) == 150 and name.endswith(".pdf")
    assert len(normalize_filename("y" * 500)) == 150


def _zip(names: list[str], first: str | None = None, stored: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if first:
            archive.writestr(zipfile.ZipInfo(first), stored)
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (_zip(["a.txt"]), "application/zip"),
        (
            _zip(["[Content_Types].xml", "_rels/.rels", "word/document.xml"]),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            _zip(["[Content_Types].xml", "xl/workbook.xml"]),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            _zip(["[Content_Types].xml", "ppt/presentation.xml"]),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            _zip(
                ["content.xml"], first="mimetype", stored=b"application/vnd.oasis.opendocument.text"
            ),
            "application/vnd.oasis.opendocument.text",
        ),
        (b"Hello, the order is late.\nThanks\n", "text/plain"),
        ("Grüße, สวัสดี, 你好\n".encode(), "text/plain"),
        (b"<html><body><script>alert(1)</script></body></html>", "application/octet-stream"),
        (b"  <!DOCTYPE html><p>hi", "application/octet-stream"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "application/octet-stream",
        ),
        (b'<?xml version="1.0"?><root/>', "application/octet-stream"),
        (b"looks like text\n<script>alert(1)</script>", "application/octet-stream"),
        (b"see javascript:alert(1)", "application/octet-stream"),
        (b"\x00\x01\x02binary", "application/octet-stream"),
        (b"caf\xe9 latin-1 text", "application/octet-stream"),
        (b"", "application/octet-stream"),
        (b"MZ\x90\x00\x03\x00", "application/octet-stream"),
    ],
)
def test_sniff_content_type(data: bytes, expected: str) -> None:
    assert sniff_content_type(data) == expected


def test_declared_type_and_extension_are_never_trusted() -> None:
    html = b"<html><script>alert(document.cookie)</script></html>"
    assert sniff_content_type(html, "photo.png") == "application/octet-stream"
    assert sniff_content_type(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "old.doc") == (
        "application/msword"
    )
    assert sniff_content_type(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "x.html") == (
        "application/octet-stream"
    )


def _conversation(runtime: Runtime, workspace_id: int) -> tuple[int, int]:
    with runtime.db.write() as session:
        from frontdesk.store.models import Workspace

        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        customer = make_customer(session, workspace, email="c@customer.test")
        result = make_message(session, workspace, customer, "see the file", channel="web_form")
    return result.conversation_id, result.message_id


def _files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_store_and_open(runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    conversation_id, message_id = _conversation(runtime, setup.workspace.id)
    with runtime.db.write() as session:
        attachment = store_attachment(
            session,
            runtime.settings,
            workspace_id=setup.workspace.id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename="../../.htaccess",
            data=b"Deny from all\n",
        )
        attachment_id = attachment.id
    files = _files(runtime.settings)
    assert len(files) == 1
    stored = files[0]
    # random 32-hex name under data_dir/attachments/<first 2 chars>/, nothing of the given name
    assert stored.parent.parent == (runtime.settings.data_dir / "attachments").resolve()
    assert len(stored.name) == 32 and stored.parent.name == stored.name[:2]
    assert int(stored.name, 16) >= 0 and "htaccess" not in str(stored)
    assert stored.stat().st_mode & 0o777 == 0o600
    with runtime.db.read() as session:
        row = session.get(Attachment, attachment_id)
        assert row is not None
        assert (row.filename, row.content_type, row.size) == ("htaccess", "text/plain", 14)
        assert row.sha256 == hashlib.sha256(b"Deny from all\n").hexdigest()
        assert open_attachment(runtime.settings, row) == b"Deny from all\n"
        message = session.get(Message, message_id)
        assert message is not None
        assert message.meta["attachments"] == [
            {"id": attachment_id, "filename": "htaccess", "content_type": "text/plain", "size": 14}
        ]


def test_oversized_file_is_refused_with_a_clear_message(runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    conversation_id, message_id = _conversation(runtime, setup.workspace.id)
    settings = runtime.settings.model_copy(update={"attachment_max_bytes": 1000})
    with pytest.raises(InvalidInput) as caught, runtime.db.write() as session:
        store_attachment(
            session,
            settings,
            workspace_id=setup.workspace.id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename="big.zip",
            data=b"x" * 1001,
        )
    assert "'big.zip'" in caught.value.message and "1000 bytes" in caught.value.message
    assert _files(runtime.settings) == []
    with runtime.db.read() as session:
        assert session.query(Attachment).count() == 0


def test_a_workspace_past_its_quota_keeps_no_more_files(runtime: Runtime) -> None:
    full, other = setup_workspace(runtime), setup_workspace(runtime)
    settings = runtime.settings.model_copy(update={"attachment_quota_bytes": 2500})

    def store(workspace_id: int, name: str, size: int, quota: Settings = settings) -> None:
        conversation_id, message_id = _conversation(runtime, workspace_id)
        with runtime.db.write() as session:
            store_attachment(
                session,
                quota,
                workspace_id=workspace_id,
                conversation_id=conversation_id,
                message_id=message_id,
                filename=name,
                data=b"x" * size,
            )

    store(full.workspace.id, "one.txt", 1000)
    store(full.workspace.id, "two.txt", 1500)  # exactly the quota
    with pytest.raises(InvalidInput) as caught:
        store(full.workspace.id, "three.txt", 1)
    assert caught.value.message == (
        "The file 'three.txt' was not kept: this workspace's attachment storage is full "
        "(2500 bytes of 2500 bytes)."
    )
    store(other.workspace.id, "theirs.txt", 2000)  # each workspace has its own
    assert len(_files(runtime.settings)) == 3
    with runtime.db.read() as session:
        assert workspace_attachment_bytes(session, full.workspace.id) == 2500
        assert workspace_attachment_bytes(session, other.workspace.id) == 2000
    unlimited = runtime.settings.model_copy(update={"attachment_quota_bytes": 0})
    store(full.workspace.id, "four.txt", 1, unlimited)


def test_rollback_removes_the_written_file(runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    conversation_id, message_id = _conversation(runtime, setup.workspace.id)
    with pytest.raises(RuntimeError), runtime.db.write() as session:
        store_attachment(
            session,
            runtime.settings,
            workspace_id=setup.workspace.id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename="a.png",
            data=PNG,
        )
        assert len(_files(runtime.settings)) == 1
        raise RuntimeError("the caller's transaction fails after the file was written")
    assert _files(runtime.settings) == []


def test_other_workspace_or_message_is_refused(runtime: Runtime) -> None:
    acme = setup_workspace(runtime, "Acme")
    other = setup_workspace(runtime, "Other")
    conversation_id, message_id = _conversation(runtime, acme.workspace.id)
    other_conversation, other_message = _conversation(runtime, other.workspace.id)
    for workspace_id, conv, msg in (
        (other.workspace.id, conversation_id, message_id),
        (acme.workspace.id, conversation_id, other_message),
        (acme.workspace.id, other_conversation, None),
    ):
        with pytest.raises(NotFound), runtime.db.write() as session:
            store_attachment(
                session,
                runtime.settings,
                workspace_id=workspace_id,
                conversation_id=conv,
                message_id=msg,
                filename="a.txt",
                data=b"hi",
            )
    assert _files(runtime.settings) == []


def test_damaged_or_tampered_rows_are_not_served(runtime: Runtime) -> None:
    setup = setup_workspace(runtime)
    conversation_id, message_id = _conversation(runtime, setup.workspace.id)
    with runtime.db.write() as session:
        attachment = store_attachment(
            session,
            runtime.settings,
            workspace_id=setup.workspace.id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename="a.txt",
            data=b"original",
        )
        session.expunge(attachment)
    _files(runtime.settings)[0].write_bytes(b"changed!")
    with pytest.raises(NotFound):
        open_attachment(runtime.settings, attachment)
    attachment.storage_key = "../../secret_key"
    with pytest.raises(NotFound):
        open_attachment(runtime.settings, attachment)


def _stored(runtime: Runtime, workspace_id: int, filename: str, data: bytes) -> int:
    conversation_id, message_id = _conversation(runtime, workspace_id)
    with runtime.db.write() as session:
        return store_attachment(
            session,
            runtime.settings,
            workspace_id=workspace_id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename=filename,
            data=data,
        ).id


POLYGLOT_HTML = b"GIF89a/*<html><script>alert(document.domain)</script></html>*/"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("filename", "data", "content_type", "disposition"),
    [
        (
            "report.pdf",
            b"%PDF-1.4 fine",
            "application/pdf",
            "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
        ),
        (
            "evil.svg",
            SVG,
            "application/octet-stream",
            "attachment; filename=\"evil.svg\"; filename*=UTF-8''evil.svg",
        ),
        ("page.html", b"<html><script>alert(1)</script>", "application/octet-stream", None),
        ("polyglot.gif", POLYGLOT_HTML, "image/gif", None),
        ("notes.txt", b"plain notes", "text/plain; charset=utf-8", None),
        (
            'фото \u200b"quote";.png',
            PNG,
            "image/png",
            "attachment; filename=\"____ _quote__.png\"; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE%20_quote_%3B.png",
        ),
    ],
)
def test_download_is_always_an_inert_attachment(
    runtime: Runtime,
    client: TestClient,
    filename: str,
    data: bytes,
    content_type: str,
    disposition: str | None,
) -> None:
    setup = setup_workspace(runtime)
    attachment_id = _stored(runtime, setup.workspace.id, filename, data)
    login_as(client, runtime, setup.agent)
    response = client.get(f"/inbox/attachments/{attachment_id}")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == content_type
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert response.headers["content-disposition"].startswith("attachment; ")
    if disposition is not None:
        assert response.headers["content-disposition"] == disposition


def test_download_needs_a_login_and_the_same_workspace(
    runtime: Runtime, client: TestClient
) -> None:
    acme = setup_workspace(runtime, "Acme")
    other = setup_workspace(runtime, "Other")
    attachment_id = _stored(runtime, acme.workspace.id, "a.pdf", b"%PDF-1.4 secret")

    anonymous = client.get(f"/inbox/attachments/{attachment_id}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert b"secret" not in anonymous.content

    login_as(client, runtime, other.agent)
    foreign = client.get(f"/inbox/attachments/{attachment_id}")
    missing = client.get("/inbox/attachments/999999")
    huge = client.get(f"/inbox/attachments/{2**70}")
    assert foreign.status_code == missing.status_code == huge.status_code == 404
    assert foreign.text == missing.text  # indistinguishable
    assert b"secret" not in foreign.content

    login_as(client, runtime, acme.agent)
    assert client.get(f"/inbox/attachments/{attachment_id}").content == b"%PDF-1.4 secret"


def test_inbox_lists_a_message_attachments(runtime: Runtime, client: TestClient) -> None:
    setup = setup_workspace(runtime)
    conversation_id, message_id = _conversation(runtime, setup.workspace.id)
    with runtime.db.write() as session:
        attachment = store_attachment(
            session,
            runtime.settings,
            workspace_id=setup.workspace.id,
            conversation_id=conversation_id,
            message_id=message_id,
            filename='it\'s "bold" & <big>.png',
            data=PNG,
        )
        attachment_id = attachment.id
    login_as(client, runtime, setup.agent)
    page = client.get(f"/inbox/c/{conversation_id}")
    assert page.status_code == 200
    assert f'href="/inbox/attachments/{attachment_id}"' in page.text
    assert "it&#39;s _bold_ &amp; _big_.png" in page.text  # normalised, then escaped
    assert "<big>" not in page.text
    fragment = client.get(f"/inbox/c/{conversation_id}/messages?after_seq=0")
    assert f'href="/inbox/attachments/{attachment_id}"' in fragment.text


def test_a_zip_bomb_is_stored_as_it_came_never_unpacked(runtime: Runtime) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("zeros.bin", "w", force_zip64=True) as entry:
            block = b"\x00" * (1024 * 1024)
            for _ in range(200):  # 200 MB of zeros, a few hundred KB compressed
                entry.write(block)
    bomb = buffer.getvalue()
    assert len(bomb) < 1024 * 1024
    setup = setup_workspace(runtime)
    attachment_id = _stored(runtime, setup.workspace.id, "bomb.zip", bomb)
    with runtime.db.read() as session:
        row = session.get(Attachment, attachment_id)
        assert row is not None
        assert (row.content_type, row.size) == ("application/zip", len(bomb))
    assert _files(runtime.settings)[0].stat().st_size == len(bomb)
