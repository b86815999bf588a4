"""The usage ledger and the quotas it settles: a request is admitted under its key's limits (a
reservation, in one transaction that holds the key), then settled (its ledger row written in the
same transaction that deletes the reservation). Counting reservations with finished rows is what
makes concurrent requests, in one process or many, unable to pass a limit together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plantain.core.errors import ErrorKind, ServiceError
from plantain.store.db import Database
from plantain.store.keys import KeyInfo
from plantain.store.models import ApiKey, LedgerRow, Reservation


@dataclass(frozen=True)
class Charge:
    """What a request is about to use, for its admission."""

    images: int
    cost_micro_usd: int  # the estimate held against the budget until the request is settled


def quota_error(key: KeyInfo, quota: str, message: str, retry_after: float | None) -> ServiceError:
    error = ServiceError(ErrorKind.EXHAUSTED, message, retry_after=retry_after)
    error.quota = (f"api_key:{key.name}", quota)
    return error


def total(session: Session, column: Any, *where: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where)) or 0)


class Ledger:
    def __init__(self, db: Database, reservation_ttl: float) -> None:
        self.db = db
        # A reservation left by a process that died is counted no longer than a request may run.
        self.ttl = timedelta(seconds=reservation_ttl)

    def _hold(self, session: Session, key_id: int) -> None:
        """Serialize the admissions of one key: a row lock on PostgreSQL; SQLite's transactions
        begin IMMEDIATE, one writer at a time."""
        if self.db.engine.dialect.name != "sqlite":
            session.execute(select(ApiKey.id).where(ApiKey.id == key_id).with_for_update())

    def admit(self, key: KeyInfo, charge: Charge) -> int:
        """A reservation id, or a quota error (429) naming the limit reached."""
        now = datetime.now(UTC)
        limits = key.limits
        with self.db.session() as session, session.begin():
            self._hold(session, key.id)
            session.execute(delete(Reservation).where(Reservation.key_id == key.id, Reservation.expires_at < now))
            if limits.rpm is not None:
                since = now - timedelta(minutes=1)
                times = [
                    *session.scalars(
                        select(LedgerRow.created_at).where(LedgerRow.key_id == key.id, LedgerRow.created_at >= since)
                    ),
                    *session.scalars(
                        select(Reservation.created_at).where(
                            Reservation.key_id == key.id, Reservation.created_at >= since
                        )
                    ),
                ]
                if len(times) >= limits.rpm:
                    oldest = min(t if t.tzinfo else t.replace(tzinfo=UTC) for t in times)
                    wait = max(1.0, (oldest + timedelta(minutes=1) - now).total_seconds())
                    raise quota_error(
                        key, "requests_per_minute", f"Quota exceeded: {limits.rpm} requests per minute.", wait
                    )
            if limits.images_per_day is not None and charge.images:
                day = now.replace(hour=0, minute=0, second=0, microsecond=0)
                made = total(session, LedgerRow.images, LedgerRow.key_id == key.id, LedgerRow.created_at >= day)
                held = total(session, Reservation.images, Reservation.key_id == key.id)
                if made + held + charge.images > limits.images_per_day:
                    wait = (day + timedelta(days=1) - now).total_seconds()
                    raise quota_error(
                        key,
                        "images_per_day",
                        f"Quota exceeded: {limits.images_per_day} images per day ({made + held} made or being "
                        f"made today, {charge.images} asked for).",
                        wait,
                    )
            if limits.budget_micro_usd is not None:
                spent = total(session, LedgerRow.cost_micro_usd, LedgerRow.key_id == key.id)
                held_cost = total(session, Reservation.cost_micro_usd, Reservation.key_id == key.id)
                if spent + held_cost + charge.cost_micro_usd > limits.budget_micro_usd:
                    raise quota_error(
                        key,
                        "budget",
                        f"Quota exceeded: the key's budget of ${limits.budget_micro_usd / 1e6:.2f} is spent.",
                        None,
                    )
            reservation = Reservation(
                key_id=key.id, created_at=now, expires_at=now + self.ttl, images=charge.images,
                cost_micro_usd=charge.cost_micro_usd,
            )  # fmt: skip
            session.add(reservation)
            session.flush()
            return reservation.id

    def settle(self, reservation: int | None, row: LedgerRow) -> None:
        """Write the request's row and drop its reservation, in one transaction."""
        with self.db.session() as session, session.begin():
            if reservation is not None:
                session.execute(delete(Reservation).where(Reservation.id == reservation))
            session.add(row)
