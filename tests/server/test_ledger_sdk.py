"""The ledger through the SDKs against a real server: two keys each see only their own usage, the
ledger's sum is the sum of the replies' costs after a concurrent burst of 200 requests, and a server
killed mid-burst leaves only whole rows of finished requests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from google import genai
from google.genai import types
from sqlalchemy import func, select, text

from plantain.store.db import Database
from plantain.store.models import LedgerRow
from tests.server_process import server_process

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def plantain(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "plantain.cli", *args], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def gemini_cost(client: genai.Client, i: int) -> Decimal:
    r = client.models.generate_content(
        model="plantain-mini",
        contents=["a red circle", "three blue squares", "a green triangle"][i % 3],
        config=types.GenerateContentConfig(image_config=types.ImageConfig(image_size="512"), seed=i),
    )
    assert r.sdk_http_response is not None and r.sdk_http_response.headers is not None
    return Decimal(r.sdk_http_response.headers["x-plantain-cost-usd"])


def openai_cost(client: openai.OpenAI, i: int) -> Decimal:
    raw = client.images.with_raw_response.generate(model="plantain-mini", prompt="a pink diamond", size="512x512")
    raw.parse()
    return Decimal(raw.headers["x-plantain-cost-usd"])


def test_two_keys_a_burst_of_200_and_each_keys_own_usage(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path)}
    plantain(env, "db", "upgrade")
    secret_a = plantain(env, "keys", "create", "--name", "team-a")
    secret_b = plantain(env, "keys", "create", "--name", "team-b")
    with server_process(env) as server:
        google = genai.Client(api_key=secret_a, http_options=types.HttpOptions(base_url=server.base))
        oai = openai.OpenAI(base_url=f"{server.base}/v1", api_key=secret_b, max_retries=0)

        def one(i: int) -> tuple[str, Decimal]:
            return ("team-a", gemini_cost(google, i)) if i % 2 else ("team-b", openai_cost(oai, i))

        with ThreadPoolExecutor(16) as pool:
            costs = list(pool.map(one, range(200)))

        def own_usage(secret: str) -> dict[str, Any]:
            r = httpx.get(f"{server.base}/admin/usage", params={"by": "key"}, headers={"x-goog-api-key": secret})
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body

        for name, secret in (("team-a", secret_a), ("team-b", secret_b)):
            seen = own_usage(secret)
            assert [line["group"] for line in seen["usage"]] == [name]
            assert seen["usage"][0]["requests"] == 100
            assert Decimal(seen["totalCostUsd"]) == sum(c for n, c in costs if n == name)
        other = httpx.get(f"{server.base}/admin/usage", params={"key": "team-b"}, headers={"x-goog-api-key": secret_a})
        assert other.status_code == 404  # another key's usage is not found, not forbidden
    db = Database(f"sqlite:///{tmp_path / 'plantain.db'}")
    try:
        with db.session() as session:
            total = session.scalar(select(func.sum(LedgerRow.cost_micro_usd)))
            rows = session.scalar(select(func.count(LedgerRow.id)))
    finally:
        db.close()
    assert rows == 200 and Decimal(total or 0) / 1_000_000 == sum(c for _, c in costs)


def test_a_server_killed_mid_burst_leaves_only_finished_rows(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path)}
    plantain(env, "db", "upgrade")
    secret = plantain(env, "keys", "create", "--name", "team-k")
    answered: list[int] = []
    with server_process(env) as server:
        client = genai.Client(api_key=secret, http_options=types.HttpOptions(base_url=server.base, timeout=60_000))

        def one(i: int) -> None:
            try:
                gemini_cost(client, i)
                answered.append(i)
            except Exception:  # the server died under it
                pass

        pool = ThreadPoolExecutor(16)
        futures = [pool.submit(one, i) for i in range(100)]
        deadline = time.time() + 60
        while len(answered) < 10 and time.time() < deadline:
            time.sleep(0.05)
        os.kill(server.pid, signal.SIGKILL)
        for f in futures:
            f.result()
        pool.shutdown()
    assert 10 <= len(answered) < 100
    db = Database(f"sqlite:///{tmp_path / 'plantain.db'}")
    try:
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with db.session() as session:
            rows = session.scalars(select(LedgerRow)).all()
    finally:
        db.close()
    # Every row is a whole, finished request; every answered request has its row.
    assert len(rows) >= len(answered)
    assert all(r.outcome == "ok" and r.images == 1 and r.cost_micro_usd == rows[0].cost_micro_usd for r in rows)
    assert all(r.latency_ms > 0 and r.size_tier == "512" for r in rows)
