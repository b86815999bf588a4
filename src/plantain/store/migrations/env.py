"""Alembic's entry point for the store's migrations (run by `plantain db upgrade` and at start)."""

from __future__ import annotations

from alembic import context

from plantain.store.db import make_engine
from plantain.store.models import Base

url = context.config.get_main_option("sqlalchemy.url")
assert url is not None
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
