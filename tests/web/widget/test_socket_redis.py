"""With Redis, a reply written by another process reaches this process's widget socket."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from frontdesk.config import Settings
from frontdesk.live.bus import RedisBus
from frontdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.web.widget.site import agent_reply, make_site, post, start

pytestmark = pytest.mark.redis


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    return make_settings(tmp_path, database_url, redis_url=redis_url)


@pytest.fixture
def other_process(settings: Settings) -> Iterator[Runtime]:
    """A second runtime on the same database and Redis, like a second API process."""
    runtime = Runtime.build(settings.model_copy(), migrate=False)
    yield runtime
    runtime.close()


def test_reply_from_another_process_arrives_through_redis(
    client: TestClient, runtime: Runtime, other_process: Runtime
) -> None:
    assert isinstance(runtime.bus, RedisBus) and isinstance(other_process.bus, RedisBus)
    deadline = time.monotonic() + 10
    while not runtime.bus.connected.is_set():  # this process listens to Redis
        assert time.monotonic() < deadline, "the Redis live bus did not connect"
        time.sleep(0.05)
    site = make_site(runtime)
    session = start(client, site)
    cid = post(client, site, session, "hello").json()["conversation"]["id"]
    with client.websocket_connect(f"{site.api}/ws?token={session['session_token']}") as ws:
        assert ws.receive_json()["type"] == "conversation"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        agent_reply(other_process, site, cid, "answer from process B")
        frame = ws.receive_json()
        while frame["type"] != "message":
            frame = ws.receive_json()
        assert frame["message"]["body"] == "answer from process B"
