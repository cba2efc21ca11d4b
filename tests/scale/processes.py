"""Real ``frontdesk`` processes for multi-process tests: servers and workers on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def frontdesk_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env.update({f"FRONTDESK_{k.upper()}": v for k, v in values.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start(name: str, env: dict[str, str], log_dir: Path, *args: str) -> Process:
    log = log_dir / f"{name}.log"
    handle = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", *args],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=log_dir,
    )
    handle.close()
    return Process(name, popen, log)


def start_server(name: str, env: dict[str, str], log_dir: Path, timeout: float = 60) -> Process:
    port = free_port()
    proc = start(name, env, log_dir, "serve", "--host", "127.0.0.1", "--port", str(port))
    proc.port = port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{proc.output()}")
        try:
            if httpx.get(f"{proc.url}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{name} did not start within {timeout} s:\n{proc.output()}")


def start_worker(name: str, env: dict[str, str], log_dir: Path, timeout: float = 30) -> Process:
    proc = start(name, env, log_dir, "worker", "--workers", "2")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # ready once huey's consumer says so
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{proc.output()}")
        if "Huey consumer started" in proc.output():
            return proc
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{name} did not start within {timeout} s:\n{proc.output()}")
