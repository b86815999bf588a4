"""Reservations: requests admitted under a key's quotas and not yet settled in the ledger.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("images", sa.Integer, nullable=False),
        sa.Column("cost_micro_usd", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_reservations_key_id", "reservations", ["key_id"])
    op.create_index("ix_ledger_key_id_created_at", "ledger", ["key_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ledger_key_id_created_at", "ledger")
    op.drop_table("reservations")
