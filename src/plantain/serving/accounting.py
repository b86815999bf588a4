"""Accounting for a request: who asks (the key and its limits), the models a key may use, the
admission under its quotas before any work, and one ledger row after it, at the catalog's prices."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal

from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.prices import cost_micro_usd, image_price_micro
from plantain.core.results import Usage
from plantain.store.keys import KeyInfo
from plantain.store.ledger import Charge, Ledger
from plantain.store.models import LedgerRow


@dataclass
class Account:
    """A request's accounting identity, made by the router."""

    key: KeyInfo | None  # None: a key from PLANTAIN_API_KEYS, or no auth (no limits, rows without a key)
    dialect: str  # "gemini", "openai", "imagen"
    request_id: str
    started: float = field(default_factory=time.perf_counter)


def check_model_allowed(account: Account | None, asked: str, entry: ModelEntry) -> None:
    if account is None or account.key is None or account.key.limits.models is None:
        return
    allowed = account.key.limits.models
    if asked.removeprefix("models/") not in allowed and entry.id not in allowed:
        raise ServiceError(
            ErrorKind.PERMISSION_DENIED,
            f"The API key {account.key.name!r} may not use models/{asked.removeprefix('models/')}; "
            f"it may use {', '.join(allowed)}.",
            "model",
        )


def estimate(entry: ModelEntry, tier: str, images: int, prompt_tokens: int, batch: bool) -> Charge:
    """What to hold against the budget while the request runs: its images and prompt, at their prices."""
    held = image_price_micro(entry, tier, batch) * images
    held += Decimal(str(entry.prices.input_per_million_tokens)) * prompt_tokens
    return Charge(images, int(held.to_integral_value(rounding=ROUND_CEILING)))


def admit(ledger: Ledger, account: Account, charge: Charge) -> int | None:
    """A reservation under the key's quotas (None for keys without a row: nothing to hold)."""
    return ledger.admit(account.key, charge) if account.key is not None else None


def settle(
    ledger: Ledger,
    account: Account,
    reservation: int | None,
    entry: ModelEntry,
    usage: Usage | None,
    batch: bool,
    outcome: str,
) -> int:
    """Write the request's ledger row (a failed or cancelled one costs nothing); its cost."""
    cost = cost_micro_usd(entry, usage, batch) if usage is not None and outcome == "ok" else 0
    u = usage if usage is not None and outcome == "ok" else Usage(0, 0)
    row = LedgerRow(
        key_id=account.key.id if account.key is not None else None, request_id=account.request_id,
        created_at=datetime.now(UTC), model=entry.id, dialect=account.dialect, images=u.images,
        size_tier=u.size_tier, prompt_text_tokens=u.prompt_text_tokens, prompt_image_tokens=u.prompt_image_tokens,
        output_text_tokens=u.output_text_tokens, output_image_tokens=u.output_image_tokens,
        thought_tokens=u.thought_tokens, cost_micro_usd=cost, batch=batch,
        latency_ms=round((time.perf_counter() - account.started) * 1000), outcome=outcome,
    )  # fmt: skip
    ledger.settle(reservation, row)
    return cost
