"""Plumbing shared by the agent pages: templates, HTML errors, CSRF checks and form fields.

Every POST carries a CSRF token: the logged-in session's ``csrf_token`` (hidden field
``csrf_token`` or header ``X-CSRF-Token``), or before login a double-submit token (cookie
``frontdesk_csrf`` equal to the form field). Forms are read field by field: unknown fields are
ignored, so no form can set anything it does not name.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi import Path as PathParameter
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from frontdesk.errors import FrontdeskError, InvalidInput, RateLimited, Unauthorized
from frontdesk.web.api.schemas import MAX_ID
from frontdesk.web.deps import AgentLogin, CurrentLogin, get_runtime

# an id in a page's address: a number the database can hold, else the HTML error page (422)
PageId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STATIC = Path(__file__).resolve().parents[1] / "static"
PRE_CSRF_COOKIE = "frontdesk_csrf"
FORM_LIMIT = 64_000


def _static_version() -> str:
    try:
        stamps = [p.stat().st_mtime_ns for p in STATIC.iterdir() if p.is_file()]
    except OSError:
        return "0"
    return str(max(stamps, default=0) % 10**9)


def _timeago(moment: datetime | None) -> str:
    if moment is None:
        return ""
    from frontdesk.store.models import utcnow

    seconds = int((utcnow() - moment).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return moment.strftime("%d %b")


def safe_href(url: str | None) -> str | None:
    """The URL if it is http(s); anything else (javascript:, data:) is shown as text only."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals["static_version"] = _static_version()
templates.env.filters["timeago"] = _timeago
templates.env.filters["safe_href"] = safe_href
templates.env.filters["isotime"] = lambda m: m.isoformat() if m else ""
templates.env.filters["clock"] = lambda m: m.strftime("%Y-%m-%d %H:%M UTC") if m else ""


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    login: AgentLogin | None = None,
) -> Response:
    values: dict[str, Any] = {"login": login, "me": login.agent if login else None}
    if login is not None:
        values["csrf_token"] = login.session_row.csrf_token
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def is_fragment(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def error_response(request: Request, exc: FrontdeskError) -> Response:
    if isinstance(exc, Unauthorized) and not is_fragment(request):
        target = request.url.path if request.method == "GET" else "/inbox"
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    login: AgentLogin | None = getattr(request.state, "agent_login", None)
    response = render(
        request,
        "agent/error.html",
        {"status": exc.status, "message": exc.message, "back": request.headers.get("referer")},
        status_code=exc.status,
        login=login,
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def invalid_address(exc: RequestValidationError) -> InvalidInput:
    """A page's path or query parameter that does not parse (``/inbox/c/abc``), in words."""
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ()) if part not in ("path", "query")]
        where = ".".join(loc) or "the address"
        value = f" {err['input']!r}" if isinstance(err.get("input"), str | int) else ""
        problems.append(f"{where}{value}: {err.get('msg', 'invalid')}")
    return InvalidInput("This page's address is not valid: " + "; ".join(problems) + ".")


class HTMLRoute(APIRoute):
    """Errors raised by a page (or its dependencies) become an HTML page with the right status;
    so do parameters that do not parse (the API answers those in JSON, app.py)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except FrontdeskError as exc:
                return error_response(request, exc)
            except RequestValidationError as exc:
                return error_response(request, invalid_address(exc))

        return wrapped


def remember_login(request: Request, login: CurrentLogin) -> AgentLogin:
    request.state.agent_login = login
    return login


PageLogin = Annotated[AgentLogin, Depends(remember_login)]


async def read_form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > FORM_LIMIT:
        raise InvalidInput("The form is too large.")
    try:
        return await request.form(max_files=0, max_fields=200)
    except Exception as exc:  # malformed body, invalid encoding
        raise InvalidInput("The form could not be read.") from exc


class CsrfFailed(FrontdeskError):
    status = 403
    code = "csrf_failed"


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


async def session_form(request: Request, login: PageLogin) -> FormData:
    """The submitted form of a logged-in agent, after the CSRF check."""
    form = await read_form(request)
    sent = request.headers.get("x-csrf-token") or form.get("csrf_token")
    if not isinstance(sent, str) or not _same(sent, login.session_row.csrf_token):
        raise CsrfFailed("The form's security token is missing or wrong. Reload the page.")
    return form


async def public_form(request: Request) -> FormData:
    """A form posted before login (login, forgot, reset, invite): double-submit CSRF token."""
    form = await read_form(request)
    sent = form.get("csrf_token")
    cookie = request.cookies.get(PRE_CSRF_COOKIE)
    if not isinstance(sent, str) or not _same(sent, cookie):
        raise CsrfFailed("The form's security token is missing or expired. Reload the page.")
    return form


SessionForm = Annotated[FormData, Depends(session_form)]
PublicForm = Annotated[FormData, Depends(public_form)]


def pre_csrf_token(request: Request) -> str:
    token = request.cookies.get(PRE_CSRF_COOKIE)
    if token and 20 <= len(token) <= 100:
        return token
    return secrets.token_urlsafe(24)


def set_pre_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRE_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=get_runtime(request).settings.secure_cookies,
        path="/",
    )


def text_field(form: FormData, name: str, *, max_len: int = 10_000) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.")
    if len(value) > max_len:
        raise InvalidInput(f"{name} is longer than {max_len} characters.")
    return value


def optional_int(form: FormData | dict[str, str], name: str) -> int | None:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a number.")
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{name} must be a number.")
    return int(value)


def int_field(form: FormData, name: str) -> int:
    value = optional_int(form, name)
    if value is None:
        raise InvalidInput(f"{name} is required.")
    return value


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
