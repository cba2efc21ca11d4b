"""Inbound email benchmark: N emails over real SMTP to the listener, through the whole pipeline.

Starts Frontdesk itself on loopback with the SMTP listener (``serve --smtp-port``), either

* ``--backend sqlite``: one ``frontdesk serve`` on a SQLite file, jobs in-process, or
* ``--backend postgres``: one ``frontdesk serve`` and ``--workers`` ``frontdesk worker``
  processes on a fresh PostgreSQL database and Redis (the production shape),

creates a workspace with a support address, two teams with an online agent each, and the demo
knowledge base (so the bot answers what it can), then sends N emails from C concurrent SMTP
connections: new questions (plain text, HTML, some with an attachment, some in Thai, German or
Chinese with their own charsets) and replies to earlier ones (In-Reply-To, so they must thread),
plus a share of exact re-deliveries (the same Message-ID again, which must be stored once).
Every email is parsed, threaded, read by the guardrails and the bot, and routed.

Reported: throughput (emails processed per second, first SMTP accept to the last mail done),
p50/p95/p99 of SMTP accept → stored message (``inbound_mails.received_at`` to the message's
``created_at``: both stamped by the server) and of accept → processed (the pipeline done), and
the checks, each of which must be 0: emails the listener refused, mails not processed,
Message-IDs with no message (lost), Message-IDs with more than one message (duplicated),
re-deliveries not recognised as duplicates, replies outside their conversation.

    .venv/bin/python benchmarks/email_load.py --backend sqlite --emails 500
    .venv/bin/python benchmarks/email_load.py --backend postgres --emails 500 --json

``--models hashing`` (the default) uses the fake embedders: the bot's search then costs almost
nothing and its answers mean nothing; ``--models e5,use`` runs the real models (slower, the same
pipeline).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import secrets
import shlex
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DEFAULT_REDIS = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SUPPORT = "support@bench.example"

console = Console(stderr=True)

# Questions a bike shop's customers write (made up for this benchmark), in a few languages and
# the charsets their mail clients still use.
QUESTIONS: list[tuple[str, str, str]] = [
    ("Battery will not charge", "My battery stays at 0% after a night on the charger.", "utf-8"),
    ("How long does charging take?", "How many hours does a full charge take?", "utf-8"),
    ("Invoice missing", "Where can I download the invoice for my last order?", "utf-8"),
    (
        "Error E05",
        "The display shows error E05 when I start the motor. What does it mean?",
        "utf-8",
    ),
    ("Cancel my order", "I want to cancel my order from yesterday, please.", "utf-8"),
    ("Price for 20 bikes", "What would 20 bikes for our delivery fleet cost?", "utf-8"),
    ("Rechnung", "Wo finde ich die Rechnung für meine Bestellung? Grüße aus Köln", "iso-8859-1"),
    ("แบตเตอรี่", "ต้องชาร์จแบตนานแค่ไหนครับ", "tis-620"),
    ("错误代码", "错误代码E05是什么意思？", "gb2312"),
    ("Bremsen", "Meine Bremsen quietschen seit dem Regen.", "iso-8859-1"),
]
REPLIES = [
    "Thanks, I tried that but it still does not work.",
    "Any news on this?",
    "It works now, thank you!",
    "Here is a photo of the display.",
]


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

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(20)
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


def wait_ready(proc: Proc, http_port: int, smtp_port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise SystemExit(f"{proc.name} exited:\n{proc.log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError, OSError):
            if httpx.get(f"http://127.0.0.1:{http_port}/healthz", timeout=1).status_code == 200:
                socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close()
                return
        time.sleep(0.2)
    raise SystemExit(f"{proc.name} did not start:\n{proc.log.read_text()[-3000:]}")


@dataclass
class Cluster:
    procs: list[Proc]
    database_url: str
    smtp_port: int
    cleanup: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        for action in self.cleanup:
            with contextlib.suppress(Exception):
                action()


def start_cluster(args: argparse.Namespace, workdir: Path) -> Cluster:
    values = {
        "data_dir": str(workdir / "data"),
        "secret_key": secrets.token_urlsafe(32),
        "log_level": "WARNING",
        "knowledge_models": args.models,
        "job_workers": str(args.job_threads),
    }
    cleanup: list[Any] = []
    if args.backend == "sqlite":
        database_url = f"sqlite:///{workdir / 'data' / 'frontdesk.db'}"
        values.update(database_url=database_url, redis_url="", run_jobs_in_process="true")
        workers = 0
    else:
        from sqlalchemy import create_engine, text

        name = f"frontdesk_bench_{secrets.token_hex(4)}"
        admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        cleanup.append(drop)
        database_url = args.postgres_url.rsplit("/", 1)[0] + f"/{name}"
        values.update(
            database_url=database_url,
            redis_url=args.redis_url,
            redis_prefix=f"fdbench-{secrets.token_hex(4)}",
            run_jobs_in_process="false",
        )
        workers = args.workers
    env = env_for(values)
    http_port, smtp_port = free_port(), free_port()
    cluster = Cluster([], database_url, smtp_port, cleanup)
    try:
        serve = spawn(
            "serve", env, workdir, "serve", "--port", str(http_port), "--smtp-port", str(smtp_port)
        )
        cluster.procs.append(serve)
        wait_ready(serve, http_port, smtp_port)  # it migrates the database first
        for i in range(workers):
            cluster.procs.append(
                spawn(f"worker-{i + 1}", env, workdir, "worker", "--workers", str(args.job_threads))
            )
    except BaseException:
        cluster.stop()
        raise
    return cluster


def create_fixture(database_url: str) -> int:
    """The workspace: its support address, two teams with an online agent, the demo KB."""
    from frontdesk.accounts.actions import (
        create_agent,
        create_team,
        create_workspace,
        set_team_members,
        update_agent,
    )
    from frontdesk.channels.email.support import create_support_address
    from frontdesk.demo import DEMO_KB
    from frontdesk.knowledge.store import import_folder
    from frontdesk.store.database import Database

    db = Database(database_url)
    try:
        with db.write() as session:
            workspace = create_workspace(session, "Benchmark", slug=f"bench-{secrets.token_hex(3)}")
            create_support_address(session, workspace.id, SUPPORT, name="Bench Support")
            for name in ("Billing", "Technical support"):
                team = create_team(session, workspace, name, slug=name.lower().replace(" ", "-"))
                agent = create_agent(
                    session,
                    workspace,
                    email=f"{team.slug}-{secrets.token_hex(3)}@bench.example",
                    name=f"{name} Agent",
                    role="agent",
                    password=secrets.token_urlsafe(16),
                )
                update_agent(session, agent, availability="online", capacity=1000)
                set_team_members(session, team, [agent.id])
            import_folder(session, workspace.id, DEMO_KB)
            return workspace.id
    finally:
        db.dispose()


@dataclass
class Planned:
    message_id: str
    raw: bytes
    customer: int
    reply_to: str | None  # the Message-ID this one answers
    redelivery: bool = False


def build_mail(n: int, customer: int, rng: random.Random, reply_to: Planned | None) -> Planned:
    msg = EmailMessage()
    msg["From"] = f"Customer {customer} <customer{customer}@example.net>"
    msg["To"] = SUPPORT
    message_id = make_msgid(idstring=f"b{n}", domain="example.net")
    msg["Message-ID"] = message_id
    msg["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    if reply_to is not None:
        msg["Subject"] = "Re: your question"
        msg["In-Reply-To"] = reply_to.message_id
        msg["References"] = reply_to.message_id
        text = rng.choice(REPLIES) + "\n\nOn Mon, 30 Nov 2026, Bench Support wrote:\n> Hello"
        msg.set_content(text)
    else:
        subject, text, charset = rng.choice(QUESTIONS)
        msg["Subject"] = subject
        kind = rng.random()
        if kind < 0.2:
            msg.set_content(
                f"<html><body><p>{text}</p><p>Regards</p></body></html>", subtype="html"
            )
        else:
            msg.set_content(text, charset=charset if charset != "utf-8" else "utf-8")
        if kind > 0.85:
            msg.add_attachment(
                b"\x89PNG\r\n\x1a\n" + rng.randbytes(2000),
                maintype="image",
                subtype="png",
                filename="photo.png",
            )
    return Planned(
        message_id.strip("<>"),
        msg.as_bytes(),
        customer,
        reply_to.message_id.strip("<>") if reply_to else None,
    )


def plan(count: int, customers: int, redeliver: float, seed: int) -> list[list[Planned]]:
    """Per customer, the emails in the order that customer sends them (a reply always after
    what it replies to); re-deliveries at the end."""
    rng = random.Random(seed)
    by_customer: list[list[Planned]] = [[] for _ in range(customers)]
    for n in range(count):
        customer = n % customers
        earlier = [p for p in by_customer[customer] if not p.redelivery]
        reply_to = rng.choice(earlier) if earlier and rng.random() < 0.4 else None
        by_customer[customer].append(build_mail(n, customer, rng, reply_to))
    for mails in by_customer:
        for original in list(mails):
            if rng.random() < redeliver:
                mails.append(
                    Planned(original.message_id, original.raw, original.customer, None, True)
                )
    return by_customer


@dataclass
class Sent:
    accepted: int = 0
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def send_all(
    port: int, queues: list[list[Planned]], concurrency: int, rate: float
) -> tuple[Sent, float]:
    """Send every queue on its own connection; with ``rate``, at most that many emails a
    second in all (paced, so that the latency is not the queue's backlog)."""
    sent = Sent()
    slots = itertools.count()
    started = time.perf_counter()

    def pace() -> None:
        if rate > 0:
            due = started + next(slots) / rate
            time.sleep(max(0.0, due - time.perf_counter()))

    def worker(mails: list[Planned]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
            for mail in mails:
                pace()
                try:
                    client.sendmail(f"customer{mail.customer}@example.net", [SUPPORT], mail.raw)
                    with sent.lock:
                        sent.accepted += 1
                except smtplib.SMTPException as exc:
                    with sent.lock:
                        sent.refused.append(f"{mail.message_id}: {exc}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(worker, queues))
    return sent, time.perf_counter() - started


def wait_processed(database_url: str, expected: int, timeout: float) -> int:
    from sqlalchemy import func, select

    from frontdesk.store.database import Database
    from frontdesk.store.models import InboundMail

    db = Database(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with db.read() as session:
                total = session.scalar(select(func.count()).select_from(InboundMail)) or 0
                pending = (
                    session.scalar(
                        select(func.count())
                        .select_from(InboundMail)
                        .where(InboundMail.status == "pending")
                    )
                    or 0
                )
            if total >= expected and pending == 0:
                return 0
            if time.monotonic() > deadline:
                return int(pending + max(0, expected - total))
            time.sleep(0.25)
    finally:
        db.dispose()


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return round(ordered[k], 1)


def measure(database_url: str, queues: list[list[Planned]]) -> dict[str, Any]:
    from sqlalchemy import select

    from frontdesk.channels.email.addresses import client_id_for
    from frontdesk.store.database import Database
    from frontdesk.store.models import InboundMail, Message

    originals = [p for mails in queues for p in mails if not p.redelivery]
    redeliveries = sum(1 for mails in queues for p in mails if p.redelivery)
    db = Database(database_url)
    try:
        with db.read() as session:
            mails = list(session.execute(select(InboundMail)).scalars())
            messages = list(
                session.execute(
                    select(Message.client_id, Message.conversation_id, Message.created_at).where(
                        Message.author_type == "customer"
                    )
                )
            )
    finally:
        db.dispose()
    by_client: dict[str, list[tuple[int, Any]]] = {}
    for client_id, conversation_id, created_at in messages:
        by_client.setdefault(str(client_id), []).append((conversation_id, created_at))
    created = {m.id: m for m in mails}
    statuses: dict[str, int] = {}
    for m in mails:
        statuses[m.status] = statuses.get(m.status, 0) + 1
    lost = duplicated = misthreaded = 0
    conversation_of: dict[str, int] = {}
    for p in originals:
        found = by_client.get(client_id_for(p.message_id), [])
        if not found:
            lost += 1
            continue
        duplicated += len(found) - 1
        conversation_of[p.message_id] = found[0][0]
    for p in originals:
        if p.reply_to and p.message_id in conversation_of and p.reply_to in conversation_of:
            if conversation_of[p.message_id] != conversation_of[p.reply_to]:
                misthreaded += 1
    message_at = {}
    for m in mails:
        if m.message_id is not None and m.status == "stored":
            message_at[m.id] = m
    stored_ms: list[float] = []
    processed_ms: list[float] = []
    created_at_of = {client_id: rows[0][1] for client_id, rows in by_client.items() if rows}
    for m in mails:
        if m.processed_at is not None:
            processed_ms.append((m.processed_at - m.received_at).total_seconds() * 1000)
        if m.status == "stored" and m.message_id_header:
            at = created_at_of.get(client_id_for(m.message_id_header))
            if at is not None:
                stored_ms.append((at - m.received_at).total_seconds() * 1000)
    first = min((m.received_at for m in mails), default=None)
    last = max((m.processed_at for m in mails if m.processed_at), default=None)
    elapsed = (last - first).total_seconds() if first and last else 0.0
    return {
        "emails_sent": len(originals) + redeliveries,
        "originals": len(originals),
        "redeliveries": redeliveries,
        "replies": sum(1 for p in originals if p.reply_to),
        "mail_log_rows": len(created),
        "statuses": statuses,
        "lost": lost,
        "duplicated": duplicated,
        "redeliveries_not_duplicate": redeliveries - statuses.get("duplicate", 0),
        "misthreaded_replies": misthreaded,
        "failed": statuses.get("failed", 0),
        "elapsed_s": round(elapsed, 3),
        "throughput_emails_per_s": round(len(mails) / elapsed, 1) if elapsed > 0 else 0,
        "accept_to_stored_ms": {
            "p50": percentile(stored_ms, 50),
            "p95": percentile(stored_ms, 95),
            "p99": percentile(stored_ms, 99),
            "mean": round(statistics.fmean(stored_ms), 1) if stored_ms else None,
            "samples": len(stored_ms),
        },
        "accept_to_processed_ms": {
            "p50": percentile(processed_ms, 50),
            "p95": percentile(processed_ms, 95),
            "p99": percentile(processed_ms, 99),
            "samples": len(processed_ms),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--emails", type=int, default=500, help="distinct emails to send")
    parser.add_argument("--customers", type=int, default=100, help="distinct senders")
    parser.add_argument("--concurrency", type=int, default=8, help="parallel SMTP connections")
    parser.add_argument("--redeliver", type=float, default=0.05, help="share sent twice")
    parser.add_argument(
        "--rate", type=float, default=0, help="emails a second in all (0: as fast as it takes)"
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (postgres)")
    parser.add_argument("--job-threads", type=int, default=4, help="job threads per process")
    parser.add_argument("--models", default="hashing", help="FRONTDESK_KNOWLEDGE_MODELS")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=600, help="give up after (seconds)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="admin database URL")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.emails < 1 or args.customers < 1 or args.concurrency < 1:
        parser.error("--emails, --customers and --concurrency must be at least 1")
    if not 0 <= args.redeliver <= 1:
        parser.error("--redeliver is a share, 0 to 1")

    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    console.print(f"[bold]command:[/bold] {command}")
    workdir = Path(tempfile.mkdtemp(prefix="frontdesk-email-bench-"))
    console.print(f"starting {args.backend} (logs in {workdir}) …")
    cluster = start_cluster(args, workdir)
    try:
        create_fixture(cluster.database_url)
        customers = min(args.customers, args.emails)
        queues = plan(args.emails, customers, args.redeliver, args.seed)
        # each connection sends whole customers' sequences, so a reply follows its original
        per_connection: list[list[Planned]] = [[] for _ in range(args.concurrency)]
        for i, mails in enumerate(queues):
            per_connection[i % args.concurrency].extend(mails)
        total = sum(len(q) for q in per_connection)
        console.print(f"sending {total} emails over {args.concurrency} SMTP connections …")
        sent, send_s = send_all(cluster.smtp_port, per_connection, args.concurrency, args.rate)
        console.print(f"sent in {send_s:.1f} s; waiting for processing …")
        unprocessed = wait_processed(cluster.database_url, sent.accepted, args.timeout)
        result = measure(cluster.database_url, queues)
    finally:
        cluster.stop()
    result = {
        "command": command,
        "backend": args.backend,
        "models": args.models,
        "concurrency": args.concurrency,
        "rate_limit_per_s": args.rate or None,
        "worker_processes": args.workers if args.backend == "postgres" else 0,
        "smtp_accepted": sent.accepted,
        "smtp_refused": len(sent.refused),
        "smtp_send_phase_s": round(send_s, 3),
        "smtp_accept_per_s": round(sent.accepted / send_s, 1) if send_s > 0 else 0,
        "unprocessed": unprocessed,
        **result,
        "refusals": sent.refused[:10],
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        stored, processed = result["accept_to_stored_ms"], result["accept_to_processed_ms"]
        console.print(
            f"\n[bold]{args.backend}[/bold] ({args.models} models): {result['emails_sent']} emails "
            f"({result['replies']} replies, {result['redeliveries']} re-deliveries) over "
            f"{args.concurrency} connections"
        )
        console.print(
            f"throughput:  {result['throughput_emails_per_s']} emails/s processed "
            f"(SMTP accepted {result['smtp_accept_per_s']}/s)"
        )
        console.print(
            f"accept → stored message: p50 {stored['p50']} ms · p95 {stored['p95']} ms · "
            f"p99 {stored['p99']} ms ({stored['samples']} samples)"
        )
        console.print(
            f"accept → processed:      p50 {processed['p50']} ms · p95 {processed['p95']} ms · "
            f"p99 {processed['p99']} ms"
        )
        console.print(f"statuses: {result['statuses']}")
        console.print(
            f"refused {result['smtp_refused']} · unprocessed {unprocessed} · lost "
            f"{result['lost']} · duplicated {result['duplicated']} · re-deliveries not "
            f"recognised {result['redeliveries_not_duplicate']} · misthreaded "
            f"{result['misthreaded_replies']} · failed {result['failed']}"
        )
        for refusal in result["refusals"]:
            console.print(f"[red]{refusal}[/red]")
    ok = all(
        result[k] == 0
        for k in (
            "smtp_refused",
            "unprocessed",
            "lost",
            "duplicated",
            "redeliveries_not_duplicate",
            "misthreaded_replies",
            "failed",
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
