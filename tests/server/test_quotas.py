"""Quotas under a real burst: two `plantain serve` processes share one database (SQLite, and
PostgreSQL when PLANTAIN_TEST_POSTGRES_URL names a server); 50 concurrent requests against a key
allowed 10 images a day give exactly 10 images, and every reply's cost is in the ledger."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from plantain.store.db import Database
from plantain.store.models import LedgerRow
from tests.server_process import server_process
from tests.store.conftest import POSTGRES, postgres_database

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment that points a server and the command line at one database."""
    if request.param == "sqlite":
        yield {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
        return
    if not POSTGRES:
        pytest.skip("PLANTAIN_TEST_POSTGRES_URL is not set: start a server with `bash .ci/postgres`")
    for url in postgres_database():
        yield {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_DATABASE_URL": url}


def plantain(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "plantain.cli", *args], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_fifty_concurrent_requests_on_two_servers_against_a_quota_of_ten(database: dict[str, str]) -> None:
    plantain(database, "db", "upgrade")
    secret = plantain(database, "keys", "create", "--name", "burst", "--images-per-day", "10")
    config = {"imageConfig": {"imageSize": "512"}}
    body = {"contents": [{"parts": [{"text": "a red circle"}]}], "generationConfig": config}
    with server_process(database) as one, server_process(database) as two:

        def ask(i: int) -> httpx.Response:
            base = (one, two)[i % 2].base
            return httpx.post(
                f"{base}/v1beta/models/plantain-mini:generateContent",
                json=body,
                headers={"x-goog-api-key": secret},
                timeout=300,
            )

        with ThreadPoolExecutor(50) as pool:
            replies = list(pool.map(ask, range(50)))
    codes = sorted(r.status_code for r in replies)
    assert codes == [200] * 10 + [429] * 40
    costs = sum(Decimal(r.headers["x-plantain-cost-usd"]) for r in replies if r.status_code == 200)
    db = Database(database["PLANTAIN_DATABASE_URL"])
    try:
        with db.session() as session:
            rows = session.scalar(select(func.count(LedgerRow.id)))
            total = session.scalar(select(func.sum(LedgerRow.cost_micro_usd)))
    finally:
        db.close()
    assert rows == 10 and Decimal(total or 0) / 1_000_000 == costs
