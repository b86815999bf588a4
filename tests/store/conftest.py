"""A fresh, empty database per test, on SQLite and on PostgreSQL.

PostgreSQL comes from PLANTAIN_TEST_POSTGRES_URL (`.ci/run` starts one with `.ci/postgres`); each test
gets a database of its own on that server, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES = os.environ.get("PLANTAIN_TEST_POSTGRES_URL", "")


def postgres_database() -> Iterator[str]:
    import psycopg

    name = f"plantain_{secrets.token_hex(6)}"
    admin = POSTGRES.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES:
        pytest.skip("PLANTAIN_TEST_POSTGRES_URL is not set: start a server with `bash .ci/postgres`")
    yield from postgres_database()
