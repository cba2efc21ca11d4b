"""System emails through a real SMTP conversation with a minimal local relay."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from frontdesk.config import Settings
from frontdesk.mail import send_mail


def _fake_relay(received: list[str]) -> tuple[int, threading.Thread]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn, server:
            stream = conn.makefile("rwb")

            def say(line: str) -> None:
                stream.write(line.encode() + b"\r\n")
                stream.flush()

            say("220 fake ESMTP")
            in_data = False
            while True:
                raw = stream.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if in_data:
                    if line == ".":
                        in_data = False
                        say("250 queued")
                    else:
                        received.append(line)
                    continue
                verb = line.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    say("250 fake")
                elif verb == "DATA":
                    in_data = True
                    say("354 go on")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                else:
                    say("250 ok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread


def test_send_mail_through_smtp(tmp_path: Path) -> None:
    received: list[str] = []
    port, thread = _fake_relay(received)
    settings = Settings(data_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    assert send_mail(settings, "ana@example.com", "Hello", "Your link: https://x/reset/abc")
    thread.join(timeout=5)
    text = "\n".join(received)
    assert "To: ana@example.com" in text and "Subject: Hello" in text
    assert "https://x/reset/abc" in text


def test_send_mail_failure_is_reported_not_raised(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(data_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{port}")
    assert send_mail(settings, "ana@example.com", "Hello", "body") is False
    assert send_mail(Settings(data_dir=tmp_path, smtp_url="ftp://x"), "a@b.c", "s", "b") is False
