"""API keys: made once and shown once, stored as a public prefix and a salted hash, checked in
constant time, revoked for every process that shares the database."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plantain.store.db import Database
from plantain.store.models import ApiKey

# "pk-" + the public prefix (12 characters, the row's index) + "." + the secret (43 characters).
KEY_PREFIX = "pk-"
PREFIX_CHARS = 12


class KeyProblem(ValueError):
    """A key operation that cannot be done (a name taken, no such key); the message says why."""


@dataclass(frozen=True)
class Limits:
    rpm: int | None = None
    images_per_day: int | None = None
    budget_micro_usd: int | None = None
    models: tuple[str, ...] | None = None


@dataclass(frozen=True)
class KeyInfo:
    """What the service knows of a key once it is checked: who, and what limits apply."""

    id: int
    name: str
    admin: bool
    limits: Limits


def _hash(secret: str, salt: bytes) -> bytes:
    # The keys are 256 random bits: a salted SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(salt + secret.encode()).digest()


def _new_secret() -> tuple[str, str]:
    prefix = secrets.token_hex(PREFIX_CHARS // 2)
    return prefix, f"{KEY_PREFIX}{prefix}.{secrets.token_urlsafe(32)}"


def info_of(row: ApiKey) -> KeyInfo:
    models = tuple(m for m in (row.models or "").split(",") if m) or None
    return KeyInfo(row.id, row.name, row.admin, Limits(row.rpm, row.images_per_day, row.budget_micro_usd, models))


class KeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, limits: Limits = Limits(), admin: bool = False) -> tuple[KeyInfo, str]:
        """A new key: its info and the key itself, which is never stored and cannot be shown again."""
        prefix, secret = _new_secret()
        salt = secrets.token_bytes(16)
        row = ApiKey(
            name=name, prefix=prefix, salt=salt, hash=_hash(secret, salt), admin=admin, created_at=datetime.now(UTC),
            rpm=limits.rpm, images_per_day=limits.images_per_day, budget_micro_usd=limits.budget_micro_usd,
            models=",".join(limits.models) if limits.models else None,
        )  # fmt: skip
        try:
            with self.db.session() as session, session.begin():
                session.add(row)
        except IntegrityError as exc:
            raise KeyProblem(f"a key named {name!r} exists already") from exc
        return info_of(row), secret

    def verify(self, secret: str) -> KeyInfo | None:
        """The key's info when `secret` is a live key, else None (unknown, wrong or revoked)."""
        if not secret.startswith(KEY_PREFIX) or "." not in secret:
            return None
        prefix = secret[len(KEY_PREFIX) :].split(".", 1)[0]
        with self.db.session() as session:
            row = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
            if row is None or row.revoked_at is not None:
                return None
            if not hmac.compare_digest(_hash(secret, row.salt), row.hash):
                return None
            return info_of(row)

    def list(self) -> list[tuple[ApiKey, bool]]:
        """Every key, oldest first, with whether it is live."""
        with self.db.session() as session:
            rows = session.scalars(select(ApiKey).order_by(ApiKey.id)).all()
            return [(row, row.revoked_at is None) for row in rows]

    def _find(self, session: Session, name: str) -> ApiKey:
        row = session.scalars(select(ApiKey).where(ApiKey.name == name)).first()
        if row is None:
            raise KeyProblem(f"no key is named {name!r}")
        return row

    def revoke(self, name: str) -> None:
        with self.db.session() as session, session.begin():
            row = self._find(session, name)
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)

    def rotate(self, name: str) -> str:
        """A new secret for the key (same name, limits and usage); the old one stops working at once."""
        prefix, secret = _new_secret()
        salt = secrets.token_bytes(16)
        with self.db.session() as session, session.begin():
            row = self._find(session, name)
            if row.revoked_at is not None:
                raise KeyProblem(f"the key {name!r} is revoked; create a new one")
            row.prefix, row.salt, row.hash = prefix, salt, _hash(secret, salt)
        return secret

    def any_live(self) -> bool:
        with self.db.session() as session:
            return session.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)).first() is not None
