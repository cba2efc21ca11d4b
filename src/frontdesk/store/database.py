"""Engine and sessions, on SQLite (WAL, one writer at a time) or PostgreSQL.

Two kinds of session:

* ``db.read()``: a plain session for queries.
* ``db.write()``: a transaction that commits on exit. On SQLite it starts with ``BEGIN
  IMMEDIATE`` so that concurrent writers queue on the busy timeout instead of failing with
  "database is locked" when a read transaction tries to upgrade.

Work that must happen only once the data is committed (live updates, job enqueueing) is
registered with :func:`after_commit` and runs right after the commit, never on rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

_AFTER_COMMIT = "frontdesk_after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` after ``session`` commits (dropped if it rolls back)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # SQLAlchemy fires this when a SAVEPOINT is released too: wait for the real commit (a job
    # run now would wait on the write lock the still-open transaction holds).
    if session.in_nested_transaction():
        return
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # a failed side effect must not undo or hide the commit
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    # A SAVEPOINT rolled back keeps the transaction's work: only a real rollback drops it (a
    # callback registered inside the savepoint then still runs, and finds nothing to do).
    if session.in_nested_transaction():
        return
    session.info.pop(_AFTER_COMMIT, None)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (see the "begin" hook below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # Copied into every session's ``info``: how actions reach the live bus and job queue.
        self.session_info: dict[str, Any] = {}
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 30},
                pool_size=8,
                max_overflow=16,
            )
            _configure_sqlite(self.engine)
            write_engine: Engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        else:
            self.engine = create_engine(
                url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
            write_engine = self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read(info=dict(self.session_info))
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def write(self) -> Iterator[Session]:
        session = self._write(info=dict(self.session_info))
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine_for_migrations(url: str) -> Engine:
    """A short-lived engine for Alembic (no pool kept around)."""
    return create_engine(url, poolclass=NullPool)
