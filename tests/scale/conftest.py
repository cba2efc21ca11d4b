"""Real server processes on loopback sharing a fresh PostgreSQL database and Redis."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN_URL, service_missing


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """An empty database: the first server to start migrates it."""
    name = f"frontdesk_scale_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass
class ClusterEnv:
    env: dict[str, str]
    database_url: str
    dir: Path


@pytest.fixture
def cluster_env(fresh_postgres_url: str, redis_url: str, tmp_path: Path) -> ClusterEnv:
    from tests.scale.processes import frontdesk_env

    env = frontdesk_env(
        database_url=fresh_postgres_url,
        redis_url=redis_url,
        redis_prefix=f"fdtest-{secrets.token_hex(4)}",
        secret_key=secrets.token_urlsafe(32),
        run_jobs_in_process="false",
        data_dir=str(tmp_path / "data"),
        log_level="WARNING",
    )
    return ClusterEnv(env, fresh_postgres_url, tmp_path)
