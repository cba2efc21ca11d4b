"""Browser tests: a real Frontdesk server on a free loopback port, a second origin for the
company's website, and Debian's Chromium driven by Playwright.

Chromium is Debian's (/usr/bin/chromium): Playwright cannot download its own browser here.
Without it these tests skip, saying so; on CI they fail instead.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from frontdesk.config import Settings
from frontdesk.runtime import Runtime
from frontdesk.web.app import create_app
from tests.conftest import make_settings, service_missing

CHROMIUM = os.environ.get("FRONTDESK_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """Frontdesk served by uvicorn in a thread. ``stop()``/``start()`` simulate an outage."""

    runtime: Runtime
    port: int
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _app: Any = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._app is None:
            self._app = create_app(self.runtime)
        config = uvicorn.Config(
            self._app, host="127.0.0.1", port=self.port, log_level="warning", ws_ping_interval=5
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=15)
            self._server = None


@pytest.fixture
def browser_settings(tmp_path: Path) -> Settings:
    """SQLite in a temporary folder, jobs in-process: the one-command laptop setup."""
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'browser.db'}", run_jobs_in_process=True)


@pytest.fixture
def live_server(browser_settings: Settings) -> Iterator[LiveServer]:
    runtime = Runtime.build(browser_settings)
    server = LiveServer(runtime=runtime, port=free_port())
    server.start()
    yield server
    server.stop()
    runtime.close()


@dataclass
class StaticSite:
    """A page served from another origin, like the company's own website."""

    port: int
    pages: dict[str, str]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def other_origin() -> Iterator[StaticSite]:
    site = StaticSite(port=free_port(), pages={})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = site.pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", site.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser per test module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which would break ``asyncio.run`` in the tests that follow."""
    if not Path(CHROMIUM).exists():
        service_missing("Chromium", f"{CHROMIUM} is missing; apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(**context_options)``: a page in a fresh browser context (own cookies and
    storage). Every JavaScript dialog is recorded on ``page.dialogs`` and dismissed."""
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        context = chromium.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []

        def on_dialog(dialog: Any) -> None:
            page.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
