"""Batch jobs in the store, on SQLite and PostgreSQL: leases, and items finished exactly once with
their ledger rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from plantain.store.batches import BatchStore, NewItem
from plantain.store.db import Database, upgrade
from plantain.store.models import LedgerRow


def row(request_id: str) -> LedgerRow:
    return LedgerRow(
        key_id=None, request_id=request_id, created_at=datetime.now(UTC), model="m", dialect="gemini-batch",
        images=1, size_tier="1K", prompt_text_tokens=1, prompt_image_tokens=0, output_text_tokens=0,
        output_image_tokens=1120, thought_tokens=0, cost_micro_usd=17, batch=True, latency_ms=1, outcome="ok",
    )  # fmt: skip


def test_an_item_is_finished_and_charged_once_and_leases_pass_on(db_url: str) -> None:
    upgrade(db_url)
    one, two = BatchStore(Database(db_url)), BatchStore(Database(db_url))
    batch = one.create("env", None, "m", "job", "{}", None, [NewItem(f"k{i}", "{}", None) for i in range(3)])
    assert two.claim("a", timedelta(seconds=60)).id == batch.id  # type: ignore[union-attr]
    assert one.claim("b", timedelta(seconds=60)) is None  # held by a
    assert two.finish(batch.id, 0, "ok", "{}", row("r0"))
    assert not one.finish(batch.id, 0, "ok", "{}", row("r0"))  # a second finish writes nothing
    assert one.counts(batch.id).ok == 1 and one.counts(batch.id).pending == 2
    with one.db.session() as session:
        assert session.scalar(select(func.count(LedgerRow.id))) == 1
    # a's server dies: its lease lapses and b takes the job over.
    assert two.renew(batch.id, "a", timedelta(seconds=-1))
    assert one.claim("b", timedelta(seconds=60)).id == batch.id  # type: ignore[union-attr]
    assert not two.renew(batch.id, "a", timedelta(seconds=60))  # a is told it lost the job
    assert [i.idx for i in one.items(batch.id, "pending")] == [1, 2]
    assert one.set_state(batch.id, "BATCH_STATE_CANCELLED")
    assert not one.set_state(batch.id, "BATCH_STATE_SUCCEEDED")  # terminal stays terminal
    assert one.get("someone-else", batch.id) is None and one.delete("env", batch.id)
