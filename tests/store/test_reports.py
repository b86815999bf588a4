"""`plantain usage` over a ledger on SQLite and PostgreSQL: the price table's figures come out of
the ledger, grouped by model, key and day."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

from plantain.core.catalog import load_catalog
from plantain.core.results import Usage
from plantain.serving.accounting import Account, settle
from plantain.store.db import Database, upgrade
from plantain.store.keys import KeyStore
from plantain.store.ledger import Ledger

CATALOG = load_catalog()


def usage_csv(db_url: str, *args: str) -> list[dict[str, str]]:
    env = {**os.environ, "PLANTAIN_DATABASE_URL": db_url}
    result = subprocess.run(
        [sys.executable, "-m", "plantain.cli", "usage", "--csv", *args], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_usage_reports_the_price_tables_figures_by_model_and_key(db_url: str) -> None:
    upgrade(db_url)
    db = Database(db_url)
    ledger = Ledger(db, 600)
    keys = KeyStore(db)
    thumbnails, _ = keys.create("thumbnails")
    finals, _ = keys.create("finals")
    for model, tier, key in (
        ("gemini-3.1-flash-lite-image", "1K", thumbnails),
        ("gemini-3.1-flash-image-preview", "4K", finals),
    ):
        entry = CATALOG.models[model]
        for i in range(100):  # 100 requests of 10 images
            usage = Usage(0, 0, output_image_tokens=10 * entry.image_output_tokens[tier], images=10, size_tier=tier)
            settle(ledger, Account(key, "gemini", f"{model}-{i}"), None, entry, usage, False, "ok")
    db.close()
    by_model = {row["model"]: row for row in usage_csv(db_url)}
    assert by_model["gemini-3.1-flash-lite-image"]["images"] == "1000"
    assert by_model["gemini-3.1-flash-lite-image"]["cost USD"] == "0.034000"
    assert by_model["gemini-3.1-flash-image-preview"]["cost USD"] == "0.151000"
    assert by_model["total"]["cost USD"] == "0.185000" and by_model["total"]["requests"] == "200"
    by_key = {row["key"]: row["cost USD"] for row in usage_csv(db_url, "--by", "key")}
    assert by_key == {"finals": "0.151000", "thumbnails": "0.034000", "total": "0.185000"}
    (only,) = [row for row in usage_csv(db_url, "--key", "thumbnails", "--by", "day") if row["day"] != "total"]
    assert only["images"] == "1000"
    assert usage_csv(db_url, "--since", "2999-01-01") == [
        {
            "model": "total",
            "requests": "0",
            "images": "0",
            "input tokens": "0",
            "output tokens": "0",
            "cost USD": "0.000000",
        }
    ]
