"""Paging by cursor over an owner's rows, newest first (OpenAI's `after`): one query shape for the
files and the batch jobs."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from plantain.store.models import Batch, StoredFile

Row = TypeVar("Row", Batch, StoredFile)


def newest_after(
    session: Session, query: Select[Row], model: type[Row], owner: str, after: str | None, count: int
) -> tuple[list[Row], bool]:
    """Up to `count` rows of `query` after the owner's row `after` (None: from the newest), and
    whether more follow. Rows created in the same instant are ordered by id."""
    if after is not None:
        anchor = session.get(model, after)
        if anchor is None or anchor.owner != owner:
            return [], False
        query = query.where(
            or_(model.created_at < anchor.created_at, and_(model.created_at == anchor.created_at, model.id > anchor.id))
        )
    rows = session.scalars(query.order_by(model.created_at.desc(), model.id).limit(count + 1)).all()
    return list(rows[:count]), len(rows) > count
