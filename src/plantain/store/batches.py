"""Batch jobs in the store: created whole, run by whichever server holds the job's lease, each
item's result written once, together with its ledger row, in one transaction.

That transaction is what makes a batch exactly-once: an item is done when its result and its charge
commit together, and only a pending item can be finished (a conditional update), so a server that
dies mid-item leaves the item pending, to be run again by the next one, and never charged twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update

from plantain.store.db import Database
from plantain.store.models import Batch, BatchItem, LedgerRow
from plantain.store.pages import newest_after

TERMINAL = frozenset({"BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"})


@dataclass(frozen=True)
class NewItem:
    key: str
    request: str  # JSON
    metadata: str | None  # JSON


@dataclass(frozen=True)
class Counts:
    total: int
    ok: int
    failed: int

    @property
    def pending(self) -> int:
        return self.total - self.ok - self.failed


def _aware(t: datetime | None) -> datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)


class BatchStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self, owner: str, key_id: int | None, model: str, display_name: str, input_config: str,
        input_file: str | None, items: list[NewItem], dialect: str = "gemini", webhook: str | None = None,
    ) -> Batch:  # fmt: skip
        now = datetime.now(UTC)
        batch = Batch(id=secrets.token_hex(8), owner=owner, key_id=key_id, model=model, display_name=display_name,
                      state="BATCH_STATE_PENDING", input_config=input_config, input_file=input_file,
                      request_count=len(items), created_at=now, updated_at=now, dialect=dialect,
                      webhook=webhook)  # fmt: skip
        with self.db.session() as session, session.begin():
            session.add(batch)
            session.flush()
            session.add_all(
                BatchItem(
                    batch_id=batch.id,
                    idx=i,
                    item_key=item.key,
                    request=item.request,
                    item_metadata=item.metadata,
                    state="pending",
                )
                for i, item in enumerate(items)
            )
        return batch

    def get(self, owner: str, batch_id: str) -> Batch | None:
        with self.db.session() as session:
            batch = session.get(Batch, batch_id)
        return batch if batch is not None and batch.owner == owner else None

    def page(self, owner: str, start: int, count: int, dialect: str = "gemini") -> tuple[list[Batch], bool]:
        with self.db.session() as session:
            rows = session.scalars(
                select(Batch).where(Batch.owner == owner, Batch.dialect == dialect)
                .order_by(Batch.created_at.desc(), Batch.id).offset(start).limit(count + 1)
            ).all()  # fmt: skip
        return list(rows[:count]), len(rows) > count

    def page_after(self, owner: str, dialect: str, after: str | None, count: int) -> tuple[list[Batch], bool]:
        """Like `page`, by cursor: the jobs after the one named `after` (OpenAI's paging)."""
        with self.db.session() as session:
            query = select(Batch).where(Batch.owner == owner, Batch.dialect == dialect)
            return newest_after(session, query, Batch, owner, after, count)

    def counts(self, batch_id: str) -> Counts:
        with self.db.session() as session:
            by_state = dict(
                session.execute(
                    select(BatchItem.state, func.count())
                    .where(BatchItem.batch_id == batch_id)
                    .group_by(BatchItem.state)
                ).all()
            )
        ok, failed = int(by_state.get("ok", 0)), int(by_state.get("error", 0))
        return Counts(ok + failed + int(by_state.get("pending", 0)), ok, failed)

    def items(self, batch_id: str, state: str | None = None) -> list[BatchItem]:
        with self.db.session() as session:
            query = select(BatchItem).where(BatchItem.batch_id == batch_id)
            if state is not None:
                query = query.where(BatchItem.state == state)
            return list(session.scalars(query.order_by(BatchItem.idx)))

    def set_state(
        self, batch_id: str, state: str, output_file: str | None = None, error_file: str | None = None
    ) -> bool:
        """Move a job that is not yet terminal to `state`; False when it already was terminal."""
        now = datetime.now(UTC)
        values: dict[str, object] = {"state": state, "updated_at": now}
        if state in TERMINAL:
            values.update(end_at=now, runner=None, lease_until=None)
        if output_file is not None:
            values["output_file"] = output_file
        if error_file is not None:
            values["error_file"] = error_file
        with self.db.session() as session, session.begin():
            done = session.execute(
                update(Batch)
                .where(Batch.id == batch_id, Batch.state.not_in(TERMINAL))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def delete(self, owner: str, batch_id: str) -> bool:
        with self.db.session() as session, session.begin():
            batch = session.get(Batch, batch_id)
            if batch is None or batch.owner != owner:
                return False
            session.query(BatchItem).filter(BatchItem.batch_id == batch_id).delete()
            session.delete(batch)
        return True

    def find(self, batch_id: str) -> Batch | None:
        """A job by id, whoever owns it (the operator's view)."""
        with self.db.session() as session:
            return session.get(Batch, batch_id)

    def claim(self, runner: str, lease: timedelta, batch_id: str | None = None) -> Batch | None:
        """A job to run (`batch_id`, or the oldest): pending, or running under a lease that has
        lapsed (its server died)."""
        now = datetime.now(UTC)
        with self.db.session() as session, session.begin():
            query = select(Batch).where(
                Batch.state.in_(("BATCH_STATE_PENDING", "BATCH_STATE_RUNNING")),
                or_(Batch.lease_until.is_(None), Batch.lease_until < now, Batch.runner == runner),
            )
            if batch_id is not None:
                query = query.where(Batch.id == batch_id)
            batch = session.scalars(query.order_by(Batch.created_at).limit(1)).first()
            if batch is None:
                return None
            taken = session.execute(
                update(Batch)
                .where(Batch.id == batch.id, or_(Batch.lease_until.is_(None), Batch.lease_until < now,
                                                  Batch.runner == runner))
                .values(state="BATCH_STATE_RUNNING", runner=runner, lease_until=now + lease, updated_at=now)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            if not taken.rowcount:  # type: ignore[attr-defined]
                return None  # another server took it first
        return batch

    def renew(self, batch_id: str, runner: str, lease: timedelta) -> bool:
        """Extend the lease; False when the job is no longer ours (cancelled, or taken over)."""
        now = datetime.now(UTC)
        with self.db.session() as session, session.begin():
            kept = session.execute(
                update(Batch)
                .where(Batch.id == batch_id, Batch.runner == runner, Batch.state == "BATCH_STATE_RUNNING")
                .values(lease_until=now + lease)
                .execution_options(synchronize_session=False)
            )
        return bool(kept.rowcount)  # type: ignore[attr-defined]

    def release(self, runner: str) -> None:
        """Give up the jobs `runner` holds (its server is stopping): another takes them at once."""
        with self.db.session() as session, session.begin():
            session.execute(
                update(Batch).where(Batch.runner == runner, Batch.state == "BATCH_STATE_RUNNING")
                .values(runner=None, lease_until=None).execution_options(synchronize_session=False)
            )  # fmt: skip

    def finish(self, batch_id: str, idx: int, state: str, result: str, charge: LedgerRow | None) -> bool:
        """Write an item's result and its ledger row together, if the item is still pending."""
        with self.db.session() as session, session.begin():
            done = session.execute(
                update(BatchItem)
                .where(BatchItem.batch_id == batch_id, BatchItem.idx == idx, BatchItem.state == "pending")
                .values(state=state, result=result)
                .execution_options(synchronize_session=False)
            )
            if not done.rowcount:  # type: ignore[attr-defined]
                return False  # finished already, by this server before a restart or by another
            if charge is not None:
                session.add(charge)
        return True

    def due_notices(self) -> list[Batch]:
        """Ended jobs with a webhook whose notice has not been delivered yet."""
        with self.db.session() as session:
            return list(
                session.scalars(
                    select(Batch).where(
                        Batch.state.in_(TERMINAL), Batch.webhook.is_not(None), Batch.notified_at.is_(None)
                    )
                )
            )

    def mark_notified(self, batch_id: str) -> None:
        with self.db.session() as session, session.begin():
            session.execute(
                update(Batch).where(Batch.id == batch_id).values(notified_at=datetime.now(UTC))
                .execution_options(synchronize_session=False)
            )  # fmt: skip
