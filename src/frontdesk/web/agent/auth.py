"""Login, logout, password reset, invitations and the agent's own account page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from frontdesk.accounts.actions import (
    authenticate,
    change_email,
    change_password,
    create_agent_token,
    create_session,
    revoke_session,
    set_password,
    update_agent,
)
from frontdesk.accounts.tokens import digest
from frontdesk.errors import InvalidInput, Unauthorized
from frontdesk.mail import send_mail
from frontdesk.runtime import Runtime
from frontdesk.store.models import Agent, AgentToken, utcnow
from frontdesk.web.agent.common import (
    HTMLRoute,
    PageLogin,
    PublicForm,
    SessionForm,
    pre_csrf_token,
    redirect,
    render,
    set_pre_csrf_cookie,
    text_field,
)
from frontdesk.web.deps import SESSION_COOKIE, ClientIP, OptionalLogin, RuntimeDep, base_url

router = APIRouter(route_class=HTMLRoute, include_in_schema=False)

RESET_HOURS = 2
INVITE_HOURS = 72
REFUSED_LINK = "This link is invalid or has expired. Ask for a new one."


def _safe_next(value: object) -> str:
    """Only a local path: never an open redirect to another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value[:500]
    return "/inbox"


def _public_page(
    request: Request, name: str, context: dict[str, object], *, status_code: int = 200
) -> Response:
    token = pre_csrf_token(request)
    response = render(request, name, {**context, "csrf_token": token}, status_code=status_code)
    set_pre_csrf_cookie(request, response, token)
    return response


def _set_session_cookie(runtime: Runtime, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=runtime.settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=runtime.settings.secure_cookies,
        path="/",
    )


def _limit_login(runtime: Runtime, ip: str, email: str) -> None:
    per_minute = runtime.settings.rate_login_per_minute
    runtime.limiter.hit(f"login:ip:{ip}", limit=per_minute, window=60, what="login attempts")
    if email:
        runtime.limiter.hit(
            f"login:email:{email.strip().lower()[:320]}",
            limit=per_minute,
            window=60,
            what="login attempts for this email",
        )


@router.get("/")
def home(login: OptionalLogin) -> Response:
    return redirect("/inbox" if login else "/login")


@router.get("/login")
def login_page(request: Request, login: OptionalLogin) -> Response:
    if login is not None:
        return redirect("/inbox")
    return _public_page(
        request, "agent/login.html", {"next": _safe_next(request.query_params.get("next"))}
    )


@router.post("/login")
def login_submit(request: Request, form: PublicForm, runtime: RuntimeDep, ip: ClientIP) -> Response:
    email = text_field(form, "email", max_len=320)
    password = text_field(form, "password", max_len=1024)
    next_url = _safe_next(form.get("next"))
    _limit_login(runtime, ip, email)
    try:
        with runtime.db.write() as session:
            agent = authenticate(session, email, password)
            token, _ = create_session(
                session,
                agent,
                days=runtime.settings.session_days,
                user_agent=request.headers.get("user-agent", ""),
            )
    except Unauthorized as exc:
        return _public_page(
            request,
            "agent/login.html",
            {"error": exc.message, "email": email, "next": next_url},
            status_code=401,
        )
    response = redirect(next_url)
    _set_session_cookie(runtime, response, token)
    return response


@router.post("/logout")
def logout(request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    with runtime.db.write() as session:
        revoke_session(session, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# Password reset ------------------------------------------------------------------------------

FORGOT_ANSWER = (
    "If an account uses this address, we have sent it a link to choose a new password. "
    "The link works once, for 2 hours."
)


@router.get("/forgot")
def forgot_page(request: Request) -> Response:
    return _public_page(request, "agent/forgot.html", {})


@router.post("/forgot")
def forgot_submit(
    request: Request, form: PublicForm, runtime: RuntimeDep, ip: ClientIP
) -> Response:
    email = text_field(form, "email", max_len=320).strip().lower()
    _limit_login(runtime, ip, email)
    links: list[tuple[str, str]] = []
    if email:
        with runtime.db.write() as session:
            agents = session.scalars(
                select(Agent).where(Agent.email == email, Agent.is_active)
            ).all()
            for agent in agents:
                token = create_agent_token(session, agent, "reset", hours=RESET_HOURS)
                links.append((agent.email, f"{base_url(request)}/reset/{token}"))
    for to, link in links:
        send_mail(
            runtime.settings,
            to,
            "Choose a new Frontdesk password",
            f"Someone asked to reset your Frontdesk password.\n\nOpen this link within "
            f"{RESET_HOURS} hours to choose a new one:\n{link}\n\n"
            "If it was not you, ignore this email: your password stays the same.",
        )
    return _public_page(request, "agent/forgot.html", {"sent": True, "answer": FORGOT_ANSWER})


def _token_usable(session: Session, token: str, purpose: str) -> Agent | None:
    if not token or len(token) > 200:
        return None
    row = session.get(AgentToken, digest(token))
    if row is None or row.purpose != purpose or row.used_at is not None:
        return None
    if row.expires_at <= utcnow():
        return None
    agent = session.get(Agent, row.agent_id)
    return agent if agent is not None and agent.is_active else None


def _new_password(form: PublicForm) -> str:
    password = text_field(form, "password", max_len=1024)
    if password != text_field(form, "password_again", max_len=1024):
        raise InvalidInput("The two passwords differ.")
    return password


@router.get("/reset/{token}")
def reset_page(request: Request, token: str, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        agent = _token_usable(session, token, "reset")
    if agent is None:
        return _public_page(
            request, "agent/refused.html", {"message": REFUSED_LINK}, status_code=400
        )
    return _public_page(request, "agent/reset.html", {"email": agent.email})


@router.post("/reset/{token}")
def reset_submit(request: Request, token: str, form: PublicForm, runtime: RuntimeDep) -> Response:
    from frontdesk.accounts.actions import consume_agent_token

    password = _new_password(form)
    try:
        with runtime.db.write() as session:
            agent = consume_agent_token(session, token, "reset")
            set_password(session, agent, password)  # logs out every session of the agent
    except InvalidInput as exc:
        if exc.message.startswith("This link"):
            return _public_page(
                request, "agent/refused.html", {"message": exc.message}, status_code=400
            )
        raise
    return _public_page(
        request,
        "agent/login.html",
        {"notice": "Your password is changed. Log in with it.", "next": "/inbox"},
    )


# Invitations ---------------------------------------------------------------------------------


@router.get("/invite/{token}")
def invite_page(request: Request, token: str, runtime: RuntimeDep) -> Response:
    with runtime.db.read() as session:
        agent = _token_usable(session, token, "invite")
    if agent is None:
        return _public_page(
            request, "agent/refused.html", {"message": REFUSED_LINK}, status_code=400
        )
    return _public_page(request, "agent/invite.html", {"email": agent.email, "name": agent.name})


@router.post("/invite/{token}")
def invite_submit(request: Request, token: str, form: PublicForm, runtime: RuntimeDep) -> Response:
    from frontdesk.accounts.actions import consume_agent_token

    password = _new_password(form)
    name = text_field(form, "name", max_len=200)
    try:
        with runtime.db.write() as session:
            agent = consume_agent_token(session, token, "invite")
            if name.strip():
                update_agent(session, agent, name=name)
            set_password(session, agent, password)
            session_token, _ = create_session(
                session,
                agent,
                days=runtime.settings.session_days,
                user_agent=request.headers.get("user-agent", ""),
            )
    except InvalidInput as exc:
        if exc.message.startswith("This link"):
            return _public_page(
                request, "agent/refused.html", {"message": exc.message}, status_code=400
            )
        raise
    response = redirect("/inbox")
    _set_session_cookie(runtime, response, session_token)
    return response


# The agent's own account ---------------------------------------------------------------------


@router.get("/account")
def account_page(request: Request, login: PageLogin) -> Response:
    notice = {
        "name": "Your name is saved.",
        "password": "Your password is changed.",
        "email": "Your email is changed.",
    }.get(request.query_params.get("saved", ""))
    return render(request, "agent/account.html", {"notice": notice}, login=login)


def _me(session: Session, login: PageLogin) -> Agent:
    agent = session.get(Agent, login.agent.id)
    if agent is None:
        raise Unauthorized("Log in first.")
    return agent


@router.post("/account/name")
def account_name(login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    name = text_field(form, "name", max_len=200)
    with runtime.db.write() as session:
        update_agent(session, _me(session, login), name=name)
    return redirect("/account?saved=name")


@router.post("/account/password")
def account_password(login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    current = text_field(form, "current_password", max_len=1024)
    new = text_field(form, "password", max_len=1024)
    if new != text_field(form, "password_again", max_len=1024):
        raise InvalidInput("The two new passwords differ.")
    with runtime.db.write() as session:
        change_password(
            session, _me(session, login), current, new, keep_session=login.session_row.id
        )
    return redirect("/account?saved=password")


@router.post("/account/email")
def account_email(login: PageLogin, form: SessionForm, runtime: RuntimeDep) -> Response:
    current = text_field(form, "current_password", max_len=1024)
    email = text_field(form, "email", max_len=320)
    with runtime.db.write() as session:
        change_email(session, _me(session, login), current, email)
    return redirect("/account?saved=email")


@router.post("/account/availability")
def account_availability(
    request: Request, login: PageLogin, form: SessionForm, runtime: RuntimeDep
) -> Response:
    availability = text_field(form, "availability", max_len=16)
    with runtime.db.write() as session:
        update_agent(session, _me(session, login), availability=availability)
    back = request.headers.get("referer", "")
    origin = base_url(request)
    return redirect(back[len(origin) :] if back.startswith(origin + "/") else "/inbox")
