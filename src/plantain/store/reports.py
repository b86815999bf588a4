"""Usage reports from the ledger: requests, images, tokens and cost, grouped by model, day or key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select, func, select

from plantain.store.db import Database
from plantain.store.models import ApiKey, LedgerRow

By = Literal["model", "day", "key"]


@dataclass(frozen=True)
class UsageLine:
    group: str
    requests: int
    images: int
    input_tokens: int
    output_tokens: int
    cost_micro_usd: int


def usage_report(
    db: Database, by: By = "model", key_id: int | None = None, since: datetime | None = None
) -> list[UsageLine]:
    """One line per group, in order; only finished requests' rows count (the ledger holds no other)."""
    group = {
        "model": LedgerRow.model,
        "day": func.date(LedgerRow.created_at),
        "key": func.coalesce(ApiKey.name, "(environment keys)"),
    }[by]
    query: Select[Any, int, int, int, int, int] = (
        select(
            group.label("group"),
            func.count(LedgerRow.id),
            func.coalesce(func.sum(LedgerRow.images), 0),
            func.coalesce(func.sum(LedgerRow.prompt_text_tokens + LedgerRow.prompt_image_tokens), 0),
            func.coalesce(
                func.sum(LedgerRow.output_text_tokens + LedgerRow.output_image_tokens + LedgerRow.thought_tokens), 0
            ),
            func.coalesce(func.sum(LedgerRow.cost_micro_usd), 0),
        )
        .select_from(LedgerRow)
        .outerjoin(ApiKey, ApiKey.id == LedgerRow.key_id)
        .group_by(group)
        .order_by(group)
    )
    if key_id is not None:
        query = query.where(LedgerRow.key_id == key_id)
    if since is not None:
        query = query.where(LedgerRow.created_at >= since)
    with db.session() as session:
        return [
            UsageLine(str(g), int(n), int(i), int(t_in), int(t_out), int(c))
            for g, n, i, t_in, t_out, c in session.execute(query)
        ]
