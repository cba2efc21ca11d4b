"""IMAP polling against a real IMAP server on loopback: Debian's dovecot (dovecot-imapd), run
by the fixture with its own configuration in a temporary folder (plain-text login, no TLS)."""

from __future__ import annotations

import imaplib
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from frontdesk.channels.email import imap
from frontdesk.channels.email.imap import (
    ImapError,
    parse_imap_url,
    poll_for_a_minute,
    poll_mailbox,
)
from frontdesk.channels.email.ingest import reprocess
from frontdesk.channels.email.support import create_support_address
from frontdesk.config import Settings
from frontdesk.errors import Conflict
from frontdesk.jobs.registry import JOBS
from frontdesk.runtime import Runtime
from tests.channels.email.conftest import SUPPORT, MailWorkspace, email, mails, messages
from tests.conftest import service_missing
from tests.mailserver import free_port

# Users are written before dovecot starts: it re-reads its passwd file only now and then.
USERS = 200
_boxes = itertools.count(1)
_addresses = itertools.count(1)


def _passwd() -> str:
    lines = [f"box{i}:{{PLAIN}}pw-box{i}::::::" for i in range(1, USERS + 1)]
    lines += [f"inbox{i}@acme.example:{{PLAIN}}pw-inbox{i}::::::" for i in range(1, 21)]
    return "\n".join(lines) + "\n"


@dataclass
class Dovecot:
    port: int

    def new_mailbox(self) -> tuple[str, str]:
        """A user not used yet (and so an empty INBOX): (user, password)."""
        number = next(_boxes)
        assert number <= USERS, "raise USERS"
        return f"box{number}", f"pw-box{number}"

    def new_address_mailbox(self) -> tuple[str, str]:
        """A user named by an email address, like a provider's mailbox."""
        number = next(_addresses)
        return f"inbox{number}@acme.example", f"pw-inbox{number}"

    def url(self, user: str, password: str) -> str:
        return f"imap://{user}:{password}@127.0.0.1:{self.port}/INBOX"

    def client(self, user: str, password: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            client.login(user, password)
        except BaseException:
            client.shutdown()
            raise
        return client

    def append(self, user: str, password: str, raw: bytes) -> None:
        with self.client(user, password) as client:
            status, _ = client.append("INBOX", None, None, raw)
            assert status == "OK"

    def unseen(self, user: str, password: str) -> int:
        with self.client(user, password) as client:
            client.select("INBOX", readonly=True)
            _, data = client.uid("SEARCH", None, "UNSEEN")
            return len((data[0] or b"").split())


def _config(root: Path, port: int) -> str:
    if os.geteuid() == 0:  # dovecot refuses to give mail to uid 0: a plain system user
        mail_user = pwd.getpwnam("nobody")
        service_users = ""
    else:  # a developer's own account runs every dovecot process
        mail_user = pwd.getpwuid(os.geteuid())
        name = mail_user.pw_name
        service_users = (
            f"default_internal_user = {name}\ndefault_login_user = {name}\n"
            f"default_internal_group = {mail_user.pw_gid}\n"
        )
    (root / "home").mkdir()
    if os.geteuid() == 0:
        os.chown(root / "home", mail_user.pw_uid, mail_user.pw_gid)
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/home/%u/Maildir
{service_users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        service_missing("dovecot", "not installed: apt-get install dovecot-imapd")
    # Under /tmp, not pytest's 0700 folder: dovecot's unprivileged processes must reach it.
    root = Path(tempfile.mkdtemp(prefix="fd-dovecot-"))
    root.chmod(0o755)
    (root / "state").mkdir()
    (root / "passwd").write_text(_passwd())
    port = free_port()
    (root / "dovecot.conf").write_text(_config(root, port))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: its children are stopped with it
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                error = process.stderr.read().decode() if process.stderr else ""
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                shutil.rmtree(root, ignore_errors=True)
                service_missing("dovecot", f"it did not start: {error} {log}".strip())
            time.sleep(0.05)
    yield Dovecot(port)
    process.terminate()
    try:
        process.wait(timeout=2)
    except subprocess.TimeoutExpired:  # it waits for a penalised login: stop the whole group
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stderr is not None:
        process.stderr.close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot, runtime: Runtime, mail_ws: MailWorkspace) -> tuple[str, str]:
    user, password = dovecot.new_mailbox()
    runtime.settings.imap_url = dovecot.url(user, password)
    return user, password


class Killed(BaseException):
    """The poller's process dies right here."""


def test_unseen_mail_is_accepted_then_marked_seen(
    runtime: Runtime, dovecot: Dovecot, mailbox: tuple[str, str]
) -> None:
    dovecot.append(*mailbox, email(subject="First").as_bytes())
    dovecot.append(*mailbox, email(subject="Second", body="Another question").as_bytes())
    result = poll_mailbox(runtime)
    assert (result.unseen, result.accepted, result.errors) == (2, 2, [])
    assert dovecot.unseen(*mailbox) == 0
    assert [(m.source, m.status) for m in mails(runtime)] == [("imap", "stored")] * 2
    assert [m.body for m in messages(runtime)] == [
        "Hello, the battery stays at 0% after a night on the charger.",
        "Another question",
    ]
    again = poll_mailbox(runtime)
    assert (again.unseen, again.accepted) == (0, 0)
    assert len(mails(runtime)) == 2


def test_a_crash_before_marking_seen_redelivers_and_is_stored_once(
    runtime: Runtime,
    dovecot: Dovecot,
    mailbox: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dovecot.append(*mailbox, email().as_bytes())

    def crash(*args: object) -> None:
        raise Killed

    monkeypatch.setattr(imap, "_mark_seen", crash)
    with pytest.raises(Killed):
        poll_mailbox(runtime)
    assert dovecot.unseen(*mailbox) == 1  # accepted, but never marked seen
    assert [m.status for m in mails(runtime)] == ["stored"]
    monkeypatch.undo()

    result = poll_mailbox(runtime)  # the re-poll fetches it again
    assert (result.unseen, result.accepted, result.already_logged) == (1, 0, 1)
    assert dovecot.unseen(*mailbox) == 0
    assert len(mails(runtime)) == 1 and len(messages(runtime)) == 1
    assert poll_mailbox(runtime).unseen == 0  # and never again


def test_the_same_message_id_delivered_twice_is_stored_once(
    runtime: Runtime, dovecot: Dovecot, mailbox: tuple[str, str]
) -> None:
    msg = email()
    dovecot.append(*mailbox, msg.as_bytes())
    dovecot.append(*mailbox, b"Received: from relay2.example.net\r\n" + msg.as_bytes())
    result = poll_mailbox(runtime)
    assert result.accepted == 2
    assert [m.status for m in mails(runtime)] == ["stored", "duplicate"]
    assert len(messages(runtime)) == 1


def test_a_too_large_mail_is_logged_as_failed_and_never_refetched(
    runtime: Runtime, dovecot: Dovecot, mailbox: tuple[str, str]
) -> None:
    runtime.settings.mail_max_bytes = 3000
    big = email(subject="Huge", body="x" * 10_000)
    dovecot.append(*mailbox, big.as_bytes())
    result = poll_mailbox(runtime)
    assert (result.too_large, result.accepted) == (1, 0)
    [mail] = mails(runtime)
    assert mail.status == "failed" and (mail.reason or "").startswith("too large:")
    assert mail.size > 10_000 and b"Subject: Huge" in mail.raw and b"xxxx" not in mail.raw
    assert dovecot.unseen(*mailbox) == 0
    assert poll_mailbox(runtime).unseen == 0
    with runtime.db.write() as session, pytest.raises(Conflict, match="too large"):
        reprocess(session, mail.id)


def test_bcc_mail_finds_its_workspace_through_the_mailbox_address(
    runtime: Runtime, dovecot: Dovecot, mail_ws: MailWorkspace
) -> None:
    user, password = dovecot.new_address_mailbox()
    address = user
    with runtime.db.write() as session:
        create_support_address(session, mail_ws.workspace_id, address)
    dovecot.append(user, password, email(to="someone-else@example.org").as_bytes())
    poll_mailbox(runtime, url=dovecot.url(user, password))
    [mail] = mails(runtime)
    assert mail.envelope_to == [address] and mail.status == "stored"
    assert mail.workspace_id == mail_ws.workspace_id


def test_unreachable_or_refused_mailboxes_raise_a_clear_error(
    runtime: Runtime, dovecot: Dovecot, mailbox: tuple[str, str]
) -> None:
    with pytest.raises(ImapError, match="cannot connect"):
        poll_mailbox(runtime, url=f"imap://u:p@127.0.0.1:{free_port()}/INBOX")
    with pytest.raises(ImapError, match="selecting Nope failed"):
        poll_mailbox(runtime, url=dovecot.url(*mailbox).replace("/INBOX", "/Nope"))
    assert mails(runtime) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("imap://me:secret@mail.example:1143/INBOX", (False, "mail.example", 1143, "INBOX")),
        ("imaps://me%40acme.example:p%2Fw@mail.example", (True, "mail.example", 993, "INBOX")),
        ("imap://me:pw@mail.example/Support%20Mail", (False, "mail.example", 143, "Support Mail")),
    ],
)
def test_imap_urls(url: str, expected: tuple[bool, str, int, str]) -> None:
    config = parse_imap_url(url)
    assert (config.tls, config.host, config.port, config.mailbox) == expected
    assert "secret" not in config.label and "p/w" not in config.label


def test_imap_url_decodes_credentials() -> None:
    config = parse_imap_url("imaps://me%40acme.example:p%2Fw@mail.example")
    assert (config.user, config.password) == ("me@acme.example", "p/w")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pop3://u:p@h/INBOX", "must start with imap://"),
        ("imap:///INBOX", "no host"),
        ("imap://mail.example/INBOX", "no user name"),
        ("imap://u:p@mail.example:99999/INBOX", "invalid port"),
    ],
)
def test_bad_imap_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_imap_url(url)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_periodic_job_polls_at_the_configured_interval(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "poll_imap" in JOBS and JOBS["poll_imap"].schedule == {"minute": "*"}
    polls: list[float] = []
    clock = FakeClock()
    monkeypatch.setattr(imap, "poll_mailbox", lambda rt: polls.append(clock.now))
    monkeypatch.setattr(imap, "_last_poll", {})

    runtime.settings.imap_url = ""
    assert poll_for_a_minute(runtime, clock=clock, sleep=clock.sleep) == 0  # not configured

    runtime.settings.imap_url = "imap://u:p@127.0.0.1:1/INBOX"
    runtime.settings.imap_poll_seconds = 20
    assert poll_for_a_minute(runtime, clock=clock, sleep=clock.sleep) == 3
    assert polls == [1000.0, 1020.0, 1040.0]

    polls.clear()
    imap._last_poll.clear()
    runtime.settings.imap_poll_seconds = 120  # every other minute
    clock.now = 1100.0
    assert poll_for_a_minute(runtime, clock=clock, sleep=clock.sleep) == 1
    clock.now = 1160.0
    assert poll_for_a_minute(runtime, clock=clock, sleep=clock.sleep) == 0
    clock.now = 1220.0
    assert poll_for_a_minute(runtime, clock=clock, sleep=clock.sleep) == 1
    assert polls == [1100.0, 1220.0]


def test_a_failing_poll_is_logged_not_raised(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(imap, "_last_poll", {})
    runtime.settings.imap_url = f"imap://u:p@127.0.0.1:{free_port()}/INBOX"
    runtime.settings.imap_poll_seconds = 60
    clock = FakeClock()
    assert poll_for_a_minute(runtime, clock=clock, sleep=clock.sleep) == 1
    assert "IMAP poll failed: cannot connect" in caplog.text


def test_mail_without_a_message_id_is_not_lost(
    runtime: Runtime, dovecot: Dovecot, mailbox: tuple[str, str]
) -> None:
    raw = f"From: carla@example.net\r\nTo: {SUPPORT}\r\nSubject: no id\r\n\r\nHello\r\n"
    dovecot.append(*mailbox, raw.encode())
    assert poll_mailbox(runtime).accepted == 1
    [mail] = mails(runtime)
    assert mail.message_id_header is None and mail.status == "stored"


# Last in this module: after a failed login dovecot slows down every login from the address.
# Run once (no database needed: the login fails before anything is read).
def test_a_wrong_password_is_a_clear_error(dovecot: Dovecot) -> None:
    user, _ = dovecot.new_mailbox()
    no_database = SimpleNamespace(settings=Settings(mail_max_bytes=1000))
    with pytest.raises(ImapError, match=r"login to imap://box\d+@127\.0\.0\.1:\d+/INBOX refused"):
        poll_mailbox(no_database, url=dovecot.url(user, "wrong password"))  # type: ignore[arg-type]
