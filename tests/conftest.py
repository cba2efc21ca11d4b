"""Shared fixtures.

``runtime`` is parametrised over the databases: every test that uses it (directly or through
``client``) runs on SQLite and on PostgreSQL. The services are real: PostgreSQL at
127.0.0.1:5432 and Redis at 127.0.0.1:6379 (override with FRONTDESK_TEST_POSTGRES_URL and
FRONTDESK_TEST_REDIS_URL). Without them, their tests skip, saying why; on CI (CI=true) a missing
service fails the run instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from frontdesk import ratelimit
from frontdesk.accounts import passwords
from frontdesk.config import Settings
from frontdesk.runtime import Runtime, install
from frontdesk.store.migrate import upgrade
from frontdesk.store.models import Base
from frontdesk.web.app import create_app

ON_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("FRONTDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """argon2id at its smallest cost for the suite: at the production cost (64 MiB, 3 passes;
    ``tests/accounts/test_passwords.py`` checks it) each hash takes 0.2 s, and the web tests create and
    log in hundreds of agents. Hashes carry their parameters, so verifying is unchanged."""
    production = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = production


def service_missing(what: str, why: str) -> None:
    """Skip on a developer's machine; fail on CI, where every service must run."""
    message = f"{what} is not reachable ({why}); start it or set its FRONTDESK_TEST_* URL"
    if ON_CI:
        pytest.fail(f"CI requires {message}", pytrace=False)
    pytest.skip(message)


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip (fail on CI) when the project was cloned alone."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if ON_CI:
            pytest.fail(f"CI requires {path}", pytrace=False)
        pytest.skip(f"{path} is absent: ../shared/data comes with the team's workspace only")
    return path


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"frontdesk_test_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing("PostgreSQL", str(exc).splitlines()[0])
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "frontdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        service_missing("Redis", str(exc))
    return REDIS_URL


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "redis_url": "",
        "secret_key": "test-secret-key",
        "run_jobs_in_process": False,
        "redis_prefix": f"fdtest-{secrets.token_hex(4)}",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.build(settings, migrate=False)
    rt.jobs.huey.immediate = True  # jobs run inline in tests unless a test starts a consumer
    install(rt)  # what the jobs reach through runtime.current(); close() uninstalls it
    yield rt
    rt.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def one_rate_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limiter's clock stands still, so a test's attempts all fall in one fixed
    window: on a loaded machine they may take long enough to cross into the next one, which
    starts the count again."""
    clock = SimpleNamespace(time=lambda: 1_800_000_030.0, monotonic=time.monotonic)
    monkeypatch.setattr(ratelimit, "time", clock)
