"""The pages behind the one-click links of CSAT emails: no login, the signed token is the key.

* ``GET /survey/{token}/{rating}``: the first click stores the rating and thanks, with a form
  for an optional comment. A second click (any rating), an expired survey or link, and an
  altered token each get a clear page and change nothing.
* ``POST /survey/{token}/comment``: the comment, once, after the rating.

Pages speak the conversation's language. They are never cached or indexed, and the token is
only ever sent back to this server (``Referrer-Policy: same-origin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from frontdesk.automation.surveys import (
    MAX_COMMENT_CHARS,
    RATINGS,
    AlreadyCommented,
    NotAnswered,
    SurveyLinkExpired,
    SurveyLinkInvalid,
    answer_survey,
    comment_survey,
    read_survey_token,
    survey_language,
)
from frontdesk.errors import Conflict, FrontdeskError, InvalidInput, NotFound
from frontdesk.runtime import Runtime
from frontdesk.store.models import Conversation, Survey, Workspace
from frontdesk.web.agent.common import templates
from frontdesk.web.deps import ClientIP, RuntimeDep
from frontdesk.web.survey.texts import page_texts

router = APIRouter(include_in_schema=False)

FORM_LIMIT = 16_000


@dataclass
class Found:
    survey_id: int
    language: str
    workspace_name: str


def _page(
    request: Request,
    state: str,
    *,
    status: int = 200,
    language: str = "en",
    workspace_name: str = "",
    token: str = "",
    rating: int | None = None,
    comment_form: bool = False,
    comment: str | None = None,
    error: str | None = None,
) -> Response:
    t = page_texts(language)
    message = t["thanks"].replace("{rating}", str(rating)) if state == "thanks" else t[state]
    context: dict[str, Any] = {
        "state": state,
        "t": t,
        "language": language,
        "workspace_name": workspace_name,
        "message": message,
        "token": token,
        "comment_form": comment_form,
        "comment": comment,
        "error": error,
        "max_comment": MAX_COMMENT_CHARS,
    }
    response = templates.TemplateResponse(request, "survey/page.html", context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _limit(runtime: Runtime, ip: str) -> None:
    runtime.limiter.hit(
        f"survey:ip:{ip}",
        limit=runtime.settings.rate_widget_ip_per_minute,
        window=60,
        what="survey answers from this address",
    )


def _find(runtime: Runtime, token: str) -> Found:
    """The survey of a link; SurveyLinkInvalid/Expired, NotFound when it was deleted."""
    settings = runtime.settings
    survey_id = read_survey_token(
        settings.resolved_secret_key(), token, max_age_days=settings.csat_link_days
    )
    with runtime.db.read() as session:
        survey = session.get(Survey, survey_id)
        conversation = session.get(Conversation, survey.conversation_id) if survey else None
        if survey is None or conversation is None:
            raise NotFound("This survey was not found.")
        workspace = session.get(Workspace, survey.workspace_id)
        return Found(
            survey.id,
            survey_language(conversation, workspace),
            workspace.name if workspace else "",
        )


def _refused(request: Request, exc: FrontdeskError, found: Found | None) -> Response:
    language = found.language if found else "en"
    name = found.workspace_name if found else ""
    if isinstance(exc, SurveyLinkExpired):
        return _page(request, "expired", status=410, language=language, workspace_name=name)
    return _page(request, "invalid", status=exc.status, language=language, workspace_name=name)


@router.api_route("/survey/{token}/{rating}", methods=["GET", "HEAD"])
def rate(request: Request, token: str, rating: str, runtime: RuntimeDep, ip: ClientIP) -> Response:
    _limit(runtime, ip)
    found: Found | None = None
    try:
        found = _find(runtime, token)
        value = int(rating) if rating.isdigit() and len(rating) == 1 else 0
        if value not in RATINGS:
            raise SurveyLinkInvalid("The rating must be 1 to 5.")
        if request.method == "HEAD":  # a link checker looking, not a customer clicking
            return _page(request, "title", language=found.language)
        with runtime.db.write() as session:
            answer_survey(session, found.survey_id, value, via="email")
    except Conflict:
        assert found is not None
        return _page(
            request,
            "already",
            status=409,
            language=found.language,
            workspace_name=found.workspace_name,
        )
    except (SurveyLinkInvalid, SurveyLinkExpired, NotFound) as exc:
        return _refused(request, exc, found)
    return _page(
        request,
        "thanks",
        language=found.language,
        workspace_name=found.workspace_name,
        token=token,
        rating=value,
        comment_form=True,
    )


async def comment_text(request: Request) -> str | None:
    """The posted comment; None when the form is too large or cannot be read."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > FORM_LIMIT):
        return None
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:  # malformed body, invalid encoding
        return None
    value = form.get("comment", "")
    return value if isinstance(value, str) else None


@router.post("/survey/{token}/comment")
def comment(
    request: Request,
    token: str,
    runtime: RuntimeDep,
    ip: ClientIP,
    text: Annotated[str | None, Depends(comment_text)],
) -> Response:
    _limit(runtime, ip)
    try:
        found = _find(runtime, token)
    except (SurveyLinkInvalid, SurveyLinkExpired, NotFound) as exc:
        return _refused(request, exc, None)
    page = partial(_page, request, language=found.language, workspace_name=found.workspace_name)
    if text is None or len(text) > MAX_COMMENT_CHARS:
        keep = (text or "")[:MAX_COMMENT_CHARS]
        return page("too_long", status=422, token=token, comment_form=True, comment=keep)
    try:
        with runtime.db.write() as session:
            comment_survey(session, found.survey_id, text, via="email")
    except InvalidInput:
        return page("comment_empty", status=422, token=token, comment_form=True, comment=text)
    except AlreadyCommented:
        return page("already_commented", status=409)
    except NotAnswered:
        return page("rate_first", status=409)
    except NotFound as exc:
        return _refused(request, exc, found)
    return page("commented")
