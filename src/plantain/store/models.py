"""The store's tables, as SQLAlchemy 2 declarative models. Changes go through a migration
(store/migrations/versions); the models and the newest migration always describe the same schema."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    """A key as stored: never the key itself, only its public prefix (to find the row) and a salted
    hash of the whole (to check it), with the limits that apply to it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(16))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Limits; None: no limit.
    rpm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    images_per_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    budget_micro_usd: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    models: Mapped[str | None] = mapped_column(Text, nullable=True)  # comma separated model IDs


class LedgerRow(Base):
    """One finished request: what it used and what it cost, in integer micro-dollars."""

    __tablename__ = "ledger"
    __table_args__ = (Index("ix_ledger_key_id_created_at", "key_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True, index=True)
    request_id: Mapped[str] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    model: Mapped[str] = mapped_column(String(200))
    dialect: Mapped[str] = mapped_column(String(32))
    images: Mapped[int] = mapped_column(Integer, default=0)
    size_tier: Mapped[str] = mapped_column(String(8), default="")
    prompt_text_tokens: Mapped[int] = mapped_column(Integer, default=0)
    prompt_image_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_text_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_image_tokens: Mapped[int] = mapped_column(Integer, default=0)
    thought_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger, default=0)
    batch: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str] = mapped_column(String(32))


class Reservation(Base):
    """A request admitted under its key's quotas and still running: counted against them until it
    is settled (its ledger row written in the same transaction that deletes it) or expires."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    images: Mapped[int] = mapped_column(Integer)
    cost_micro_usd: Mapped[int] = mapped_column(BigInteger)


class StoredFile(Base):
    """An uploaded (or generated) file: its bytes on disk under the data folder, named by its id."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_owner_created_at", "owner", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))  # "key:<id>" for a stored key, "env" for the others
    display_name: Mapped[str] = mapped_column(String(512))
    mime_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # lowercase hex
    source: Mapped[str] = mapped_column(String(16))  # UPLOADED or GENERATED
    # OpenAI's `purpose` ("batch", "batch_output", "vision"...); None for files uploaded Google's way.
    purpose: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UploadSession(Base):
    """A resumable upload under way: the bytes so far are in uploads/<id>.part."""

    __tablename__ = "upload_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(512))
    mime_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Batch(Base):
    """A batch job. `state` is Google's BATCH_STATE_* name; a runner holds it by a lease."""

    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_owner_created_at", "owner", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    model: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(512))
    state: Mapped[str] = mapped_column(String(32), index=True)
    input_config: Mapped[str] = mapped_column(Text)  # the request's inputConfig, echoed back
    input_file: Mapped[str | None] = mapped_column(String(32), nullable=True)
    request_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    output_file: Mapped[str | None] = mapped_column(String(32), nullable=True)
    runner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dialect: Mapped[str] = mapped_column(String(16), server_default="gemini")  # "gemini" or "openai"
    # The webhookConfig asked for (JSON); a notice is due when the job ends and notified_at is unset.
    webhook: Mapped[str | None] = mapped_column(Text, nullable=True)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error_file: Mapped[str | None] = mapped_column(String(32), nullable=True)  # OpenAI's failed lines


class BatchItem(Base):
    """One request of a batch: pending, then ok or error with its result, written once."""

    __tablename__ = "batch_items"

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_key: Mapped[str] = mapped_column(String(512))
    request: Mapped[str] = mapped_column(Text)  # the GenerateContentRequest, as JSON
    item_metadata: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # the response or the error, as JSON
