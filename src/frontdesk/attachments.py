"""Files that come with customer messages (email, web form), stored so that none can hurt.

RELIABILITY row 6. A file's bytes are written under ``data_dir/attachments/<2 hex>/<32 hex>``:
a random name, outside every folder the server serves, so ``.htaccess``, ``../../x`` or
``shell.php`` are just names shown to agents. The name is normalised before any check (NFKC,
path components, control and zero-width characters and leading dots removed, length capped),
the content type is sniffed from the bytes (the declared one is never used), and anything
HTML-, SVG- or XML-like, or unknown, is ``application/octet-stream``. Downloads always carry
``Content-Disposition: attachment``, ``nosniff`` and ``Content-Security-Policy: sandbox``
(see :mod:`frontdesk.web.agent.attachments`).

Each stored attachment is also listed in its message's ``meta["attachments"]`` (id, name,
type, size), which is what the inbox and the message payloads show; the table row is what a
download is checked against.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import unicodedata
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.errors import InvalidInput, NotFound
from frontdesk.store.models import Attachment, Conversation, Message

__all__ = [
    "MAX_FILENAME_CHARS",
    "attachment_path",
    "attachment_summary",
    "human_size",
    "normalize_filename",
    "open_attachment",
    "sniff_content_type",
    "store_attachment",
]

log = logging.getLogger(__name__)

MAX_FILENAME_CHARS: Final = 150
_KEY = re.compile(r"^[0-9a-f]{32}$")
_FILES_KEY = "frontdesk.attachment_files"  # files written in this session, removed on rollback


# --------------------------------------------------------------------------- names


def _drop_character(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Cc control, Cf format (zero-width, bidi overrides like U+202E), Cs surrogates,
    # Co private use, Cn unassigned, Zl/Zp line and paragraph separators
    return category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def normalize_filename(name: str) -> str:
    """The name a file is shown and downloaded under: ``"../../.htaccess"`` → ``"htaccess"``,
    ``"in\\u200bvoice.pdf"`` → ``"invoice.pdf"``, ``""`` → ``"attachment"``."""
    if not isinstance(name, str):
        name = ""
    name = unicodedata.normalize("NFKC", name)
    name = "".join(" " if ch in "\t\n\r\v\f" else ch for ch in name)
    name = "".join(ch for ch in name if not _drop_character(ch))
    # Path components, Unix and Windows style (and a drive letter): keep the last one only.
    name = name.replace("\\", "/")
    name = name.rsplit("/", 1)[-1]
    name = re.sub(r"^[A-Za-z]:", "", name)
    name = re.sub(r'[<>:"|?*]', "_", name)
    name = " ".join(name.split())
    name = name.lstrip(". ").rstrip(". ")
    if len(name) > MAX_FILENAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16 and stem:
            name = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            name = name[:MAX_FILENAME_CHARS].rstrip(". ")
    return name or "attachment"


# --------------------------------------------------------------------------- content types

OCTET_STREAM: Final = "application/octet-stream"
_OOXML: Final = (
    (b"word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (b"ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
)
_ODF: Final = (
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
)
_OLE: Final = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "msg": "application/vnd.ms-outlook",
}
# Text that a browser, a viewer or an XML parser could take for markup: never text/plain.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|iframe|object|embed|svg|math|xml|\?xml|"
    rb"style|meta|link|img|a\s|div|form|input|base|frame|frameset|title|table|!--|xsl|rdf)"
    rb"|<\?|\bxmlns\b|javascript:",
    re.IGNORECASE,
)
_TEXT_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


def _zip_type(data: bytes) -> str:
    # The type of an OOXML or ODF file shows in its entry names (stored uncompressed in the
    # local headers and the central directory): no need to unpack, so no zip bomb risk.
    if data[30:38] == b"mimetype":
        head = data[38:120]
        for odf in _ODF:
            if head.startswith(odf.encode()):
                return odf
    if b"[Content_Types].xml" in data:
        for marker, ooxml in _OOXML:
            if marker + b"_rels/" in data or re.search(re.escape(marker) + rb"[\w/]+\.xml", data):
                return ooxml
    return "application/zip"


def sniff_content_type(data: bytes, filename: str = "") -> str:
    """The type of ``data`` from its first bytes (the declared type is never trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_type(data)
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: old Office files
        ext = filename.rpartition(".")[2].lower()
        return _OLE.get(ext, OCTET_STREAM)
    if _is_plain_text(data):
        return "text/plain"
    return OCTET_STREAM


def _is_plain_text(data: bytes) -> bool:
    sample = data[:65536]
    if not sample.strip() or _TEXT_CONTROL.search(sample):
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the sample's end
            return False
    return _MARKUP.search(sample) is None and not sample.lstrip().startswith(b"<")


# --------------------------------------------------------------------------- storage


def _root(settings: Settings) -> Path:
    return (settings.data_dir / "attachments").resolve()


def attachment_path(settings: Settings, storage_key: str) -> Path:
    """Where the bytes of ``storage_key`` live; only ever a 32-hex name under the root."""
    if not _KEY.match(storage_key or ""):
        raise NotFound("This attachment was not found.")
    return _root(settings) / storage_key[:2] / storage_key


def human_size(size: int) -> str:
    """``2004 bytes``, ``350 KB``, ``10 MB``, ``12.3 MB``."""
    if size < 10 * 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")


def attachment_summary(attachment: Attachment) -> dict[str, Any]:
    """What a message lists of an attachment (its meta, the inbox, the live payloads)."""
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
    }


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def workspace_attachment_bytes(session: Session, workspace_id: int) -> int:
    """The bytes of every attachment the workspace keeps (what its quota counts)."""
    total = session.scalar(
        select(func.coalesce(func.sum(Attachment.size), 0)).where(
            Attachment.workspace_id == workspace_id
        )
    )
    return int(total or 0)


def store_attachment(
    session: Session,
    settings: Settings,
    *,
    workspace_id: int,
    conversation_id: int,
    message_id: int | None,
    filename: str,
    data: bytes,
) -> Attachment:
    """Write ``data`` and add its row (in the caller's transaction; the file is removed again
    if that transaction rolls back). Raises InvalidInput when it is over the size limit and
    NotFound when the conversation or message is not the workspace's; InvalidInput too when
    the workspace's attachments would pass ``attachment_quota_bytes``."""
    limit = settings.attachment_max_bytes
    name = normalize_filename(filename)
    if len(data) > limit:
        raise InvalidInput(
            f"The file {name!r} is {human_size(len(data))}; files can be at most "
            f"{human_size(limit)}."
        )
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.workspace_id != workspace_id:
        raise NotFound(f"Conversation {conversation_id} was not found.")
    quota = settings.attachment_quota_bytes
    if quota:
        used = workspace_attachment_bytes(session, workspace_id)
        if used + len(data) > quota:
            log.warning(
                "attachment %r refused: workspace %s keeps %d of its %d bytes",
                name,
                workspace_id,
                used,
                quota,
            )
            raise InvalidInput(
                f"The file {name!r} was not kept: this workspace's attachment storage is full "
                f"({human_size(used)} of {human_size(quota)})."
            )
    message: Message | None = None
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None or message.conversation_id != conversation_id:
            raise NotFound(f"Message {message_id} was not found.")

    key = secrets.token_hex(16)
    path = attachment_path(settings, key)
    _write(path, data)
    session.info.setdefault(_FILES_KEY, []).append(path)
    attachment = Attachment(
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        message_id=message_id,
        filename=name,
        content_type=sniff_content_type(data, name),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=key,
    )
    session.add(attachment)
    session.flush()
    if message is not None:
        meta = dict(message.meta or {})
        meta["attachments"] = [*meta.get("attachments", []), attachment_summary(attachment)]
        message.meta = meta
    log.info(
        "attachment %s stored: %d bytes, %s, conversation %s",
        attachment.id,
        attachment.size,
        attachment.content_type,
        conversation_id,
    )
    return attachment


def open_attachment(settings: Settings, attachment: Attachment) -> bytes:
    """The bytes of a stored attachment; NotFound when the file is missing or damaged."""
    path = attachment_path(settings, attachment.storage_key)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        log.error("attachment %s: its file %s is missing", attachment.id, path)
        raise NotFound("This attachment was not found.") from None
    if hashlib.sha256(data).hexdigest() != attachment.sha256:
        log.error("attachment %s: its file %s does not match its sha256", attachment.id, path)
        raise NotFound("This attachment was not found.")
    return data


@event.listens_for(Session, "after_commit")
def _keep_files(session: Session) -> None:
    session.info.pop(_FILES_KEY, None)


@event.listens_for(Session, "after_rollback")
def _remove_files(session: Session) -> None:
    for path in session.info.pop(_FILES_KEY, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove the orphaned attachment file %s", path, exc_info=True)
