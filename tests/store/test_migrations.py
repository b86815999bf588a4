"""The store's schema comes from its migrations: an empty database and one at the previous revision
both reach the newest, and the models describe exactly what the migrations make."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from plantain.store.db import Database, alembic_config, current_revision, upgrade
from plantain.store.models import Base


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert revision is not None
    return revision


def test_an_empty_database_reaches_the_newest_schema(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    try:
        assert current_revision(db.engine) == head()
        assert {"api_keys", "ledger"} <= set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        upgrade(db_url)  # again: nothing to do
    finally:
        db.close()


def test_a_database_at_the_previous_revision_keeps_its_rows(db_url: str) -> None:
    upgrade(db_url, "0001")
    db = Database(db_url)
    try:
        assert "ledger" not in inspect(db.engine).get_table_names()
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO api_keys (name, prefix, salt, hash, admin, created_at) "
                    "VALUES ('old', 'abc', :salt, :hash, false, :now)"
                ),
                {"salt": b"s" * 16, "hash": b"h" * 32, "now": datetime.now(UTC)},
            )
        upgrade(db_url)
        assert current_revision(db.engine) == head()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM api_keys")).scalars().all() == ["old"]
            assert conn.execute(text("SELECT count(*) FROM ledger")).scalar() == 0
    finally:
        db.close()
