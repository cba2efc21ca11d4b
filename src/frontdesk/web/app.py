"""The ASGI application: REST API, agent inbox, widget and their shared plumbing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdesk.errors import FrontdeskError, RateLimited
from frontdesk.language.detect import warm_up
from frontdesk.runtime import Runtime, install

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
# Swagger UI 5 (renders OpenAPI 3.1), as the fastapi-offline package ships it
SWAGGER_UI = Path(str(resources.files("fastapi_offline") / "static"))

# Customer text is shown by the inbox; no inline script may ever run there (F40, row 1).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(
        ("/api/", "/widget/")
    ) and "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FrontdeskError)
    async def frontdesk_error(request: Request, exc: FrontdeskError) -> Response:
        headers = {}
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        if exc.status == 401 and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            details.append({"field": loc, "message": err.get("msg", "invalid")})
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            message = "The request body is not valid JSON."
        elif details:
            first = details[0]
            message = f"{first['field'] or 'body'}: {first['message']}"
        else:
            message = "The request is invalid."
        return JSONResponse(error_body("invalid_input", message, details), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 400: "bad_request"}
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404 and message == "Not Found":
            message = f"Nothing at {request.url.path}."
        return JSONResponse(
            error_body(codes.get(exc.status_code, "http_error"), message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(UnicodeDecodeError)
    async def bad_encoding(request: Request, exc: UnicodeDecodeError) -> Response:
        return JSONResponse(
            error_body("invalid_input", "The request body is not valid UTF-8."), status_code=400
        )


DOCS_PAGES = ("/docs", "/docs/oauth2-redirect")
# Swagger UI's script and stylesheet: served from here, so /docs needs no CDN (air-gapped servers)
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def install_docs(app: FastAPI) -> None:
    """/docs: FastAPI's Swagger UI page, its OAuth redirect page and Swagger UI's files."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url
    docs_url, redirect_url = DOCS_PAGES

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url,
            swagger_js_url=f"{root}/docs/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}/docs/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/favicon.svg",
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def swagger_ui_asset(name: str) -> FileResponse:
        if name not in DOCS_ASSETS:
            raise StarletteHTTPException(404)
        return FileResponse(SWAGGER_UI / name, media_type=DOCS_ASSETS[name])


def install_middleware(app: FastAPI, runtime: Runtime) -> None:
    limit = runtime.settings.max_body_bytes

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        # /form/ carries a file: the web form's route enforces its own, larger limit
        if length is not None and not request.url.path.startswith("/form/"):
            try:
                too_big = int(length) > limit
            except ValueError:
                return JSONResponse(
                    error_body("bad_request", "Bad Content-Length."), status_code=400
                )
            if too_big:
                return JSONResponse(
                    error_body("too_large", f"The request body is larger than {limit} bytes."),
                    status_code=413,
                )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # the Swagger UI page and its OAuth redirect page run inline scripts: no CSP there
        if not request.url.path.startswith("/widget") and request.url.path not in DOCS_PAGES:
            response.headers.setdefault("Content-Security-Policy", CSP)
            if not request.url.path.startswith("/form/"):  # framed: CSP frame-ancestors
                response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def create_app(runtime: Runtime) -> FastAPI:
    install(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.bus.start()
        await asyncio.to_thread(warm_up)
        if runtime.settings.run_jobs_in_process and not runtime.settings.redis_url:
            runtime.jobs.start_consumer(runtime.settings.job_workers)
        try:
            yield
        finally:
            await runtime.bus.stop()
            runtime.jobs.stop_consumer()

    app = FastAPI(
        title="Frontdesk API",
        version="1",
        description="Conversations, messages, customers, teams and agents of a workspace. "
        "Authenticate with a workspace API token: `Authorization: Bearer fd_…`. "
        'Errors always have the shape `{"error": {"code", "message", "details"}}`.',
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # install_docs: Swagger UI without a CDN
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    install_middleware(app, runtime)
    install_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    from frontdesk.web.agent import router as inbox_router
    from frontdesk.web.api import router as api_router
    from frontdesk.web.helpcenter import router as helpcenter_router
    from frontdesk.web.survey import router as survey_router
    from frontdesk.web.webform import router as webform_router
    from frontdesk.web.widget import router as widget_router

    app.include_router(api_router.router)
    app.include_router(widget_router.router)
    app.include_router(helpcenter_router.router)
    app.include_router(survey_router.router)
    app.include_router(webform_router.router)
    app.include_router(inbox_router.router)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:  # what a browser asks for on a page without an icon link
        return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
