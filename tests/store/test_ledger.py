"""The ledger and the quotas it settles, on SQLite and PostgreSQL: prices through the ledger, limits
that hold under concurrency across two processes' connections, and failures that cost nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from plantain.core.catalog import load_catalog
from plantain.core.errors import ServiceError
from plantain.core.results import Usage
from plantain.serving.accounting import Account, admit, estimate, settle
from plantain.store.db import Database, upgrade
from plantain.store.keys import KeyStore, Limits
from plantain.store.ledger import Charge, Ledger
from plantain.store.models import LedgerRow

CATALOG = load_catalog()


@pytest.fixture
def dbs(db_url: str) -> tuple[Database, Database]:
    """Two connections' worth of the same database, as two server processes have."""
    upgrade(db_url)
    return Database(db_url), Database(db_url)


def spent(db: Database, key_id: int | None = None) -> int:
    with db.session() as session:
        query = select(func.coalesce(func.sum(LedgerRow.cost_micro_usd), 0))
        if key_id is not None:
            query = query.where(LedgerRow.key_id == key_id)
        return int(session.scalar(query) or 0)


@pytest.mark.parametrize(
    ("model", "tier", "micro_usd"),
    [("gemini-3.1-flash-lite-image", "1K", 34_000), ("gemini-3.1-flash-image-preview", "4K", 151_000)],
)
def test_a_thousand_images_cost_the_price_table(
    dbs: tuple[Database, Database], model: str, tier: str, micro_usd: int
) -> None:
    db, _ = dbs
    ledger = Ledger(db, 600)
    info, _ = KeyStore(db).create("bulk")
    entry = CATALOG.models[model]
    for i in range(250):  # 250 requests of 4 images
        usage = Usage(0, 0, output_image_tokens=4 * entry.image_output_tokens[tier], images=4, size_tier=tier)
        account = Account(info, "gemini", f"req-{i}")
        reservation = admit(ledger, account, estimate(entry, tier, 4, 0, False))
        settle(ledger, account, reservation, entry, usage, False, "ok")
    assert spent(db, info.id) == micro_usd


def test_prompt_tokens_and_text_are_charged_and_failures_cost_nothing(dbs: tuple[Database, Database]) -> None:
    db, _ = dbs
    ledger = Ledger(db, 600)
    entry = CATALOG.models["gemini-3.1-flash-lite-image"]
    account = Account(None, "openai", "req-1")
    usage = Usage(1_000_000, 0, output_image_tokens=1120, output_text_tokens=1_000_000, images=1, size_tier="1K")
    cost = settle(ledger, account, None, entry, usage, False, "ok")
    assert cost == 34 + 250_000 + 1_500_000  # one image, 1M tokens in at $0.25/M and 1M out at $1.50/M
    assert settle(ledger, account, None, entry, usage, False, "deadline") == 0
    with db.session() as session:
        rows = session.scalars(select(LedgerRow).order_by(LedgerRow.id)).all()
        assert [(r.outcome, r.cost_micro_usd, r.images) for r in rows] == [("ok", cost, 1), ("deadline", 0, 0)]


def test_fifty_concurrent_requests_against_ten_images_a_day_give_exactly_ten(dbs: tuple[Database, Database]) -> None:
    one, two = dbs
    info, _ = KeyStore(one).create("burst", Limits(images_per_day=10))
    ledgers = [Ledger(one, 600), Ledger(two, 600)]

    def attempt(i: int) -> bool:
        try:
            ledgers[i % 2].admit(info, Charge(1, 34))
            return True
        except ServiceError as exc:
            assert exc.quota == ("api_key:burst", "images_per_day") and exc.retry_after
            return False

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, range(50)))
    assert sum(results) == 10


def test_requests_per_minute_and_budget(dbs: tuple[Database, Database]) -> None:
    db, _ = dbs
    ledger = Ledger(db, 600)
    keys = KeyStore(db)
    fast, _ = keys.create("fast", Limits(rpm=3))
    for _ in range(3):
        ledger.admit(fast, Charge(1, 1))
    with pytest.raises(ServiceError) as slow_down:
        ledger.admit(fast, Charge(1, 1))
    assert slow_down.value.quota == ("api_key:fast", "requests_per_minute")
    assert slow_down.value.retry_after is not None and 1 <= slow_down.value.retry_after <= 60
    thrifty, _ = keys.create("thrifty", Limits(budget_micro_usd=100))
    held = ledger.admit(thrifty, Charge(1, 60))
    with pytest.raises(ServiceError) as broke:
        ledger.admit(thrifty, Charge(1, 60))  # 60 held + 60 asked > 100
    assert broke.value.quota == ("api_key:thrifty", "budget") and broke.value.retry_after is None
    entry = CATALOG.models["gemini-3.1-flash-lite-image"]
    settle(ledger, Account(thrifty, "gemini", "r"), held, entry, None, False, "cancelled")  # costs nothing
    ledger.admit(thrifty, Charge(1, 60))  # the hold is released
