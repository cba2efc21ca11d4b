"""The migrations build the same schema as the models, on an empty SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from frontdesk.runtime import Runtime
from frontdesk.store.models import Base


def test_migrated_schema_matches_the_models(runtime: Runtime) -> None:
    engine = create_engine(runtime.db.url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
