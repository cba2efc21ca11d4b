"""GET and POST /form/{workspace_slug}: the public, embeddable contact form (F20).

The page may be framed by the workspace's allowed origins (``frame-ancestors``; the same list
as the widget's) and runs no script. A post is checked in this order, cheapest first: the
per-IP rate limit (429 page), the body size (413 page; this route enforces it, the app's JSON
body limit does not apply under /form/), the form itself (400 page when it cannot be read),
the honeypot (a thank-you page, nothing stored, a log line), the signed token (the form again,
values kept, when it is missing, forged or older than a day), then each field (the form again
with inline errors and the typed values). Only then is the ticket created
(:func:`frontdesk.channels.webform.submit_web_form`) and the thank-you page shown.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, Response

from frontdesk.attachments import human_size
from frontdesk.channels.webform import (
    FormError,
    FormSubmission,
    TokenRefused,
    check_token,
    issue_token,
    submit_web_form,
    validate,
)
from frontdesk.errors import NotFound, RateLimited
from frontdesk.language.detect import SUPPORTED
from frontdesk.web.agent.common import TEMPLATES, templates
from frontdesk.web.deps import client_ip, get_runtime
from frontdesk.web.helpcenter.texts import NATIVE_NAMES, pick_language
from frontdesk.web.webform.texts import texts_for
from frontdesk.web.widget.sessions import WidgetWorkspace, load_workspace

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

FIELDS = ("name", "email", "subject", "message")
HONEYPOT = "website"
STYLESHEET = TEMPLATES / "webform" / "form.css"
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(?::[0-9]{1,5})?$")
# Room for the text fields and the multipart framing around the largest allowed file.
FORM_OVERHEAD_BYTES = 1_000_000


def frame_ancestors(allowed_origins: tuple[str, ...]) -> str:
    """Who may frame the form: this server and the workspace's allowed origins (the only ones
    that are well-formed: nothing else can reach the header)."""
    sources = ["'self'"]
    for origin in allowed_origins:
        clean = origin.strip().rstrip("/").lower()
        if clean == "*":
            return "*"
        if _ORIGIN.match(clean) and clean not in sources:
            sources.append(clean)
    return " ".join(sources)


def _csp(workspace: WidgetWorkspace | None) -> str:
    ancestors = frame_ancestors(workspace.allowed_origins) if workspace else "'none'"
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )


def _language(request: Request, workspace: WidgetWorkspace | None, form_lang: object) -> str:
    query = request.query_params.get("lang") or (form_lang if isinstance(form_lang, str) else "")
    default = workspace.default_language if workspace else "en"
    return pick_language(query or None, request.headers.get("accept-language"), default)


def _page(
    request: Request,
    name: str,
    workspace: WidgetWorkspace | None,
    language: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    t = texts_for(language, workspace.name if workspace else "")
    values: dict[str, Any] = {
        "t": t,
        "language": language,
        "workspace": workspace,
        "languages": [
            (
                code,
                NATIVE_NAMES[code],
                f"/form/{workspace.slug}?{urlencode({'lang': code})}" if workspace else "",
            )
            for code in SUPPORTED
        ],
        **context,
    }
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers["Content-Security-Policy"] = _csp(workspace)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    if workspace is None:
        response.headers["X-Frame-Options"] = "DENY"
    return response


def _message_page(
    request: Request,
    workspace: WidgetWorkspace | None,
    language: str,
    title_key: str | None,
    text: str,
    *,
    status_code: int,
    headers: dict[str, str] | None = None,
) -> Response:
    t = texts_for(language, workspace.name if workspace else "")
    response = _page(
        request,
        "webform/message.html",
        workspace,
        language,
        {"title": t[title_key] if title_key else t["title"], "text": text},
        status_code=status_code,
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _error_text(t: dict[str, str], error: FormError) -> str:
    params = dict(error.params)
    if error.code == "file_too_large":
        size, limit = int(params["size"]), int(params["max"])
        shown = human_size(size), human_size(limit)
        if shown[0] == shown[1]:  # 10.2 MB over a 10 MB limit must not read "10 MB, at most 10 MB"
            shown = f"{size:,} bytes", f"{limit:,} bytes"
        params["size"], params["max"] = shown
    text = t[error.code]
    for key, value in params.items():
        text = text.replace("{" + key + "}", value)
    return text


def _form_page(
    request: Request,
    workspace: WidgetWorkspace,
    language: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, FormError] | None = None,
    banner: str | None = None,
    file_chosen: bool = False,
    status_code: int = 200,
) -> Response:
    runtime = get_runtime(request)
    t = texts_for(language, workspace.name)
    shown_errors = {name: _error_text(t, error) for name, error in (errors or {}).items()}
    if file_chosen and errors and "attachment" not in shown_errors:
        shown_errors["attachment"] = t["choose_again"]
    return _page(
        request,
        "webform/form.html",
        workspace,
        language,
        {
            "values": {name: (values or {}).get(name, "") for name in FIELDS},
            "errors": shown_errors,
            "banner": banner or (t["fix_below"] if errors else None),
            "token": issue_token(runtime.settings, workspace.id),
            "action": f"/form/{workspace.slug}?{urlencode({'lang': language})}",
            "honeypot": HONEYPOT,
            "max_chars": runtime.settings.max_message_chars,
            "max_size": human_size(runtime.settings.attachment_max_bytes),
        },
        status_code=status_code,
    )


async def _workspace(slug: str, request: Request) -> WidgetWorkspace | None:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", slug):
        return None
    try:
        return await run_in_threadpool(load_workspace, get_runtime(request).db, slug)
    except NotFound:
        return None


@router.get("/form/_static/form.css")
def stylesheet() -> FileResponse:
    return FileResponse(
        STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/form/{slug}")
async def show_form(request: Request, slug: str) -> Response:
    workspace = await _workspace(slug, request)
    language = _language(request, workspace, None)
    if workspace is None:
        t = texts_for(language, "")
        return _message_page(request, None, language, None, t["not_found"], status_code=404)
    return _form_page(request, workspace, language)


def _text(form: FormData, name: str) -> tuple[str, bool]:
    """A text field's value, and whether it was something else (a file in a text field)."""
    value = form.get(name, "")
    if isinstance(value, str):
        return value, False
    return "", True


@router.post("/form/{slug}")
async def post_form(request: Request, slug: str) -> Response:
    runtime = get_runtime(request)
    settings = runtime.settings
    workspace = await _workspace(slug, request)
    language = _language(request, workspace, None)
    t = texts_for(language, workspace.name if workspace else "")
    if workspace is None:
        return _message_page(request, None, language, None, t["not_found"], status_code=404)
    ip = client_ip(request)

    try:
        runtime.limiter.hit(
            f"form:ip:{ip}",
            limit=settings.rate_form_per_hour,
            window=3600,
            what="web-form messages",
        )
    except RateLimited as exc:
        log.warning("web form %s: rate limit reached for %s", slug, ip)
        minutes = str(max(1, (exc.retry_after + 59) // 60))
        return _message_page(
            request,
            workspace,
            language,
            "rate_limited_title",
            t["rate_limited"].replace("{minutes}", minutes),
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )

    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return _message_page(request, workspace, language, None, t["unreadable"], status_code=411)
    if int(length) > settings.attachment_max_bytes * 2 + FORM_OVERHEAD_BYTES:
        log.info("web form %s: a %s-byte post from %s refused", slug, length, ip)
        return _message_page(request, workspace, language, None, t["too_large"], status_code=413)
    try:
        form = await request.form(max_files=1, max_fields=20)
    except Exception:  # malformed multipart, too many fields or files, a part too large
        log.info("web form %s: unreadable post from %s", slug, ip, exc_info=True)
        return _message_page(request, workspace, language, None, t["unreadable"], status_code=400)
    try:
        return await _handle(request, workspace, form, ip)
    finally:
        await form.close()


async def _handle(
    request: Request, workspace: WidgetWorkspace, form: FormData, ip: str
) -> Response:
    runtime = get_runtime(request)
    settings = runtime.settings
    language = _language(request, workspace, form.get("lang"))
    t = texts_for(language, workspace.name)

    values: dict[str, str] = {}
    not_text: list[str] = []
    for name in FIELDS:
        values[name], wrong = _text(form, name)
        if wrong:
            not_text.append(name)

    upload = form.get("attachment")
    file_name: str | None = None
    data: bytes | None = None
    too_large: int | None = None
    if isinstance(upload, UploadFile) and (upload.filename or upload.size):
        file_name = upload.filename or "attachment"
        size = upload.size if upload.size is not None else 0
        if size > settings.attachment_max_bytes:
            too_large = size  # not read into memory
        else:
            data = await upload.read(settings.attachment_max_bytes + 1)

    honeypot = form.get(HONEYPOT)
    if honeypot and (not isinstance(honeypot, str) or honeypot.strip()):
        log.warning(
            "web form %s: honeypot filled from %s (email %r); nothing stored",
            workspace.slug,
            ip,
            values["email"][:100],
        )
        return _page(
            request,
            "webform/thanks.html",
            workspace,
            language,
            {"thanks": t["thanks"].replace("{email}", values["email"].strip()[:320])},
        )

    try:
        token = check_token(settings, workspace.id, form.get("token"))
    except TokenRefused as exc:
        log.info("web form %s: post from %s refused: %s", workspace.slug, ip, exc.reason)
        return _form_page(
            request,
            workspace,
            language,
            values=values,
            banner=t["token_refused"],
            file_chosen=file_name is not None,
            status_code=400,
        )

    submission = FormSubmission(
        name=values["name"],
        email=values["email"],
        subject=values["subject"],
        message=values["message"],
        attachment_name=file_name,
        attachment=data,
    )
    errors = validate(
        submission,
        max_message_chars=settings.max_message_chars,
        max_attachment_bytes=settings.attachment_max_bytes,
    )
    for name in not_text:
        errors[name] = FormError("invalid_text")
    if too_large is not None:
        errors["attachment"] = FormError(
            "file_too_large", {"size": str(too_large), "max": str(settings.attachment_max_bytes)}
        )
    if errors:
        return _form_page(
            request,
            workspace,
            language,
            values=values,
            errors=errors,
            file_chosen=file_name is not None,
            status_code=422,
        )

    try:
        result = await run_in_threadpool(submit_web_form, runtime, workspace.id, token, submission)
    except Exception:
        log.exception("web form %s: the ticket from %s could not be stored", workspace.slug, ip)
        return _form_page(
            request,
            workspace,
            language,
            values=values,
            banner=t["unavailable"],
            file_chosen=file_name is not None,
            status_code=503,
        )
    return _page(
        request,
        "webform/thanks.html",
        workspace,
        language,
        {
            "thanks": t["thanks"].replace("{email}", result.email),
            "file_failed": (
                t["file_failed"]
                if result.attachment_failed
                else t["file_not_kept"]
                if result.attachment_refused
                else None
            ),
        },
    )
