"""The usage ledger: one row per finished request.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("key_id", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("dialect", sa.String(32), nullable=False),
        sa.Column("images", sa.Integer, nullable=False),
        sa.Column("size_tier", sa.String(8), nullable=False),
        sa.Column("prompt_text_tokens", sa.Integer, nullable=False),
        sa.Column("prompt_image_tokens", sa.Integer, nullable=False),
        sa.Column("output_text_tokens", sa.Integer, nullable=False),
        sa.Column("output_image_tokens", sa.Integer, nullable=False),
        sa.Column("thought_tokens", sa.Integer, nullable=False),
        sa.Column("cost_micro_usd", sa.BigInteger, nullable=False),
        sa.Column("batch", sa.Boolean, nullable=False),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
    )
    op.create_index("ix_ledger_key_id", "ledger", ["key_id"])
    op.create_index("ix_ledger_request_id", "ledger", ["request_id"])
    op.create_index("ix_ledger_created_at", "ledger", ["created_at"])


def downgrade() -> None:
    op.drop_table("ledger")
