"""Work registered with after_commit runs once, after the outermost commit, never on rollback."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from frontdesk.store.database import Database, after_commit


def test_savepoints_do_not_run_or_drop_the_transactions_callbacks(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    ran: list[str] = []
    with db.write() as session:
        session.execute(text("select 1"))
        after_commit(session, lambda: ran.append("outer"))
        with session.begin_nested():
            after_commit(session, lambda: ran.append("inside released savepoint"))
        assert ran == []  # releasing a savepoint is not the commit
        savepoint = session.begin_nested()
        savepoint.rollback()
        assert ran == []
    assert ran == ["outer", "inside released savepoint"]
    db.dispose()


def test_a_rollback_drops_the_callbacks(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    ran: list[str] = []
    try:
        with db.write() as session:
            after_commit(session, lambda: ran.append("never"))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.write() as session:
        session.execute(text("select 1"))
    assert ran == []
    db.dispose()
