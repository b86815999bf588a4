"""Batches of either dialect, with webhook notices and error files; files keep their purpose.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("batches", sa.Column("dialect", sa.String(16), nullable=False, server_default="gemini"))
    op.add_column("batches", sa.Column("webhook", sa.Text, nullable=True))
    op.add_column("batches", sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("batches", sa.Column("error_file", sa.String(32), nullable=True))
    op.add_column("files", sa.Column("purpose", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as files:
        files.drop_column("purpose")
    with op.batch_alter_table("batches") as batches:
        for column in ("error_file", "notified_at", "webhook", "dialect"):
            batches.drop_column(column)
