"""Chat load benchmark: N concurrent widget WebSocket sessions, M messages each.

Starts Frontdesk itself on loopback, either

* ``--backend sqlite``: one ``frontdesk serve`` process on a SQLite file (jobs in-process), or
* ``--backend postgres-redis``: two ``frontdesk serve`` processes and one ``frontdesk worker``
  on a fresh PostgreSQL database and Redis,

creates a workspace and an agent (with a login session, used as the inbox cookie) and an API
token, opens one agent inbox WebSocket per server process, then N widget sessions spread over
the processes. Each widget sends M messages one after the other (waiting for each ack). For
every customer message the time from its send to its ``message.created`` event on each inbox
is recorded (matched by client_id).

Reported: throughput (messages acknowledged per second), p50/p95/p99 latency send → inbox event,
lost messages (no ack, or an inbox never saw it) and duplicates (an inbox saw it twice). Both
must be 0. The run is bounded (``--timeout``) and stops its servers itself.

    .venv/bin/python benchmarks/chat_load.py --backend sqlite --sessions 200 --messages 5
    .venv/bin/python benchmarks/chat_load.py --backend postgres-redis --json

The widget rate limits are raised for the run (every session comes from 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_REDIS = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RATE_OVERRIDES = {
    "rate_widget_per_minute": "100000",
    "rate_widget_ip_per_minute": "10000000",
    "rate_widget_sessions_per_hour": "1000000",
}

console = Console(stderr=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(values: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update({f"FRONTDESK_{k.upper()}": v for k, v in values.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)


def spawn(name: str, env: dict[str, str], workdir: Path, *args: str) -> Proc:
    log = workdir / f"{name}.log"
    with log.open("wb") as handle:
        popen = subprocess.Popen(
            [sys.executable, "-m", "frontdesk.cli", *args],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    return Proc(name, popen, log)


def wait_healthy(proc: Proc, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"{proc.name} exited:\n{proc.log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{proc.url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{proc.name} did not start:\n{proc.log.read_text()[-3000:]}")


@dataclass
class Cluster:
    servers: list[Proc]
    others: list[Proc]
    database_url: str
    cleanup: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for proc in self.servers + self.others:
            proc.stop()
        for action in self.cleanup:
            with contextlib.suppress(Exception):
                action()


def start_cluster(backend: str, workdir: Path, postgres: str, redis_url: str) -> Cluster:
    values = {
        "data_dir": str(workdir / "data"),
        "secret_key": secrets.token_urlsafe(32),
        "log_level": "WARNING",
        **RATE_OVERRIDES,
    }
    cleanup: list[Any] = []
    if backend == "sqlite":
        database_url = f"sqlite:///{workdir / 'data' / 'frontdesk.db'}"
        values.update(database_url=database_url, redis_url="", run_jobs_in_process="true")
        api_count, workers = 1, 0
    else:
        from sqlalchemy import create_engine, text

        name = f"frontdesk_bench_{secrets.token_hex(4)}"
        admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        cleanup.append(drop)
        database_url = postgres.rsplit("/", 1)[0] + f"/{name}"
        values.update(
            database_url=database_url,
            redis_url=redis_url,
            redis_prefix=f"fdbench-{secrets.token_hex(4)}",
            run_jobs_in_process="false",
        )
        api_count, workers = 2, 1
    env = env_for(values)
    cluster = Cluster([], [], database_url, cleanup)
    try:
        for i in range(api_count):
            port = free_port()
            proc = spawn(f"api-{i + 1}", env, workdir, "serve", "--port", str(port))
            proc.port = port
            cluster.servers.append(proc)
            wait_healthy(proc)  # one at a time: the first one migrates the database
        for i in range(workers):
            cluster.others.append(spawn(f"worker-{i + 1}", env, workdir, "worker"))
    except BaseException:
        cluster.stop()
        raise
    return cluster


@dataclass
class Fixture:
    slug: str
    agent_id: int
    cookie: str
    api_token: str


def create_fixture(database_url: str) -> Fixture:
    from frontdesk.accounts.actions import (
        create_agent,
        create_api_token,
        create_session,
        create_workspace,
        update_agent,
    )
    from frontdesk.store.database import Database

    db = Database(database_url)
    try:
        with db.write() as session:
            workspace = create_workspace(session, "Benchmark", slug=f"bench-{secrets.token_hex(3)}")
            agent = create_agent(
                session,
                workspace,
                email=f"bench-{secrets.token_hex(3)}@example.com",
                name="Bench Agent",
                role="admin",
                password=secrets.token_urlsafe(16),
            )
            update_agent(session, agent, availability="online")
            cookie, _ = create_session(session, agent, days=1)
            token, _ = create_api_token(session, workspace, "benchmark", created_by=None)
            return Fixture(workspace.slug, agent.id, cookie, token)
    finally:
        db.dispose()


@dataclass
class Stats:
    sent_at: dict[str, float] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    seen: dict[int, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(dict))
    errors: list[str] = field(default_factory=list)


async def inbox_listener(
    index: int, url: str, fx: Fixture, stats: Stats, ready: asyncio.Event, stop: asyncio.Event
) -> None:
    ws_url = url.replace("http://", "ws://") + "/inbox/ws"
    headers = {"Cookie": f"frontdesk_session={fx.cookie}", "Origin": url}
    async with connect(ws_url, additional_headers=headers, open_timeout=20, max_size=None) as ws:
        ready.set()
        seen = stats.seen[index]
        while not stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") != "message.created":
                continue
            client_id = (frame.get("message") or {}).get("client_id")
            if client_id:
                seen.setdefault(client_id, []).append(now)


async def next_ack(ws: ClientConnection, client_id: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame.get("type") == "ack" and frame.get("client_id") == client_id:
            message: dict[str, Any] = frame["message"]
            return message
        if frame.get("type") == "error":
            raise RuntimeError(f"server error frame: {frame}")


async def customer(
    n: int,
    base: str,
    fx: Fixture,
    messages: int,
    stats: Stats,
    http: httpx.AsyncClient,
    progress: Progress,
    task: Any,
) -> None:
    try:
        opened = await http.post(f"{base}/widget/v1/{fx.slug}/session", json={})
        opened.raise_for_status()
        token = opened.json()["session_token"]
        ws_url = base.replace("http://", "ws://") + f"/widget/v1/{fx.slug}/ws?token={token}"
        async with connect(ws_url, open_timeout=30) as ws:
            conversation_id = None
            for m in range(messages):
                client_id = f"b{n}-{m}-{secrets.token_hex(4)}"
                frame = {
                    "type": "send",
                    "client_id": client_id,
                    "text": f"Load test message {m} from customer {n}",
                    "conversation_id": conversation_id,
                }
                stats.sent_at[client_id] = time.perf_counter()
                await ws.send(json.dumps(frame))
                message = await next_ack(ws, client_id)
                conversation_id = message.get("conversation_id", conversation_id)
                stats.acked.add(client_id)
                progress.advance(task)
    except Exception as exc:
        stats.errors.append(f"customer {n}: {type(exc).__name__}: {exc}")


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run_load(cluster: Cluster, fx: Fixture, sessions: int, messages: int) -> dict[str, Any]:
    stats = Stats()
    stop = asyncio.Event()
    readies = [asyncio.Event() for _ in cluster.servers]
    inboxes = [
        asyncio.create_task(inbox_listener(i, p.url, fx, stats, readies[i], stop))
        for i, p in enumerate(cluster.servers)
    ]
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
    total = sessions * messages
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("messages acknowledged", total=total)
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            started = time.perf_counter()
            await asyncio.gather(
                *(
                    customer(
                        n,
                        cluster.servers[n % len(cluster.servers)].url,
                        fx,
                        messages,
                        stats,
                        http,
                        progress,
                        task,
                    )
                    for n in range(sessions)
                )
            )
            acked_at = time.perf_counter()
        # Let the last inbox events arrive (bounded).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(len(stats.seen[i]) >= len(stats.acked) for i in range(len(inboxes))):
                break
            await asyncio.sleep(0.05)
    finished = max(
        [acked_at] + [t for s in stats.seen.values() for times in s.values() for t in times]
    )
    stop.set()
    for inbox in inboxes:
        with contextlib.suppress(Exception):
            await inbox

    latencies: list[float] = []
    lost_inbox = 0
    duplicates = 0
    for i in range(len(inboxes)):
        seen = stats.seen[i]
        for client_id, sent in stats.sent_at.items():
            times = seen.get(client_id, [])
            if not times:
                lost_inbox += 1
                continue
            duplicates += len(times) - 1
            latencies.append((times[0] - sent) * 1000)
    not_acked = total - len(stats.acked)
    elapsed = finished - started
    return {
        "sessions": sessions,
        "messages_per_session": messages,
        "messages_total": total,
        "api_processes": len(cluster.servers),
        "acknowledged": len(stats.acked),
        "not_acknowledged": not_acked,
        "lost_in_inbox": lost_inbox,
        "duplicated_in_inbox": duplicates,
        "elapsed_s": round(elapsed, 3),
        "send_phase_s": round(acked_at - started, 3),
        "throughput_msgs_per_s": round(len(stats.acked) / elapsed, 1) if elapsed > 0 else 0,
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 1),
            "p95": round(percentile(latencies, 95), 1),
            "p99": round(percentile(latencies, 99), 1),
            "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
            "samples": len(latencies),
        },
        "errors": stats.errors[:20],
        "error_count": len(stats.errors),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres-redis"], default="sqlite")
    parser.add_argument("--sessions", type=int, default=200, help="concurrent widget sessions")
    parser.add_argument("--messages", type=int, default=5, help="messages per session")
    parser.add_argument("--timeout", type=float, default=300, help="give up after (seconds)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="admin database URL")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.sessions < 1 or args.messages < 1:
        parser.error("--sessions and --messages must be at least 1")

    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    console.print(f"[bold]command:[/bold] {command}")
    workdir = Path(tempfile.mkdtemp(prefix="frontdesk-bench-"))
    console.print(f"starting {args.backend} servers (logs in {workdir}) …")
    cluster = start_cluster(args.backend, workdir, args.postgres_url, args.redis_url)
    try:
        fx = create_fixture(cluster.database_url)
        try:
            result = asyncio.run(
                asyncio.wait_for(run_load(cluster, fx, args.sessions, args.messages), args.timeout)
            )
        except TimeoutError:
            console.print(f"[red]the run did not finish within {args.timeout:g} s[/red]")
            return 1
    finally:
        cluster.stop()
    result = {"command": command, "backend": args.backend, **result}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        console.print(
            f"\n[bold]{args.backend}[/bold]: {result['sessions']} sessions × "
            f"{result['messages_per_session']} messages on {result['api_processes']} API process(es)"
        )
        console.print(f"throughput:  {result['throughput_msgs_per_s']} msgs/s")
        console.print(
            f"latency send→inbox: p50 {lat['p50']} ms · p95 {lat['p95']} ms · "
            f"p99 {lat['p99']} ms (max {lat['max']} ms, {lat['samples']} samples)"
        )
        console.print(
            f"lost: {result['not_acknowledged']} unacknowledged, {result['lost_in_inbox']} "
            f"missing in an inbox · duplicated: {result['duplicated_in_inbox']}"
        )
        for error in result["errors"]:
            console.print(f"[red]{error}[/red]")
    ok = (
        result["not_acknowledged"] == 0
        and result["lost_in_inbox"] == 0
        and result["duplicated_in_inbox"] == 0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
