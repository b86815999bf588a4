"""Files: uploaded in resumable sessions, kept on disk under the data folder with their metadata in
the database, owned by the key that uploaded them, and gone when they expire.

A file's bytes are appended to `uploads/<session>.part` and renamed into `files/<id>` only when the
last chunk has arrived and the length checks out, so no half-written file is ever visible.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from plantain.core.errors import ErrorKind, ServiceError, invalid_argument
from plantain.store.db import Database
from plantain.store.models import StoredFile, UploadSession
from plantain.store.pages import newest_after

# MIME types a file may have: images the models read, and batch inputs (Google's own batch sample
# uploads with "jsonl", which is not a MIME type; it is accepted).
ACCEPTED = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "jsonl", "application/jsonl",
     "application/json", "text/plain"}
)  # fmt: skip
SESSION_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Progress:
    """An upload still under way: how many bytes have arrived."""

    received: int


def refused_for_space(exc: OSError) -> Exception:
    """A full disk (or quota, or file size limit) is the server's trouble, said plainly and retryable;
    any other write error stays what it is."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ServiceError(
            ErrorKind.UNAVAILABLE, "The server has no room to store this file now; nothing was kept. Retry later.",
            retry_after=60,
        )  # fmt: skip
    return exc


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class FileStore:
    def __init__(self, db: Database, folder: Path, ttl: timedelta, max_bytes: int) -> None:
        self.db = db
        self.files = folder / "files"
        self.uploads = folder / "uploads"
        self.ttl = ttl
        self.max_bytes = max_bytes

    def start(self, owner: str, size: int, mime_type: str, display_name: str) -> str:
        """A new upload session's id (the credential of its chunk requests: 256 random bits)."""
        if size < 0:
            raise invalid_argument("X-Goog-Upload-Header-Content-Length must be a size in bytes")
        if size > self.max_bytes:
            raise ServiceError(
                ErrorKind.TOO_LARGE, f"The file is {size:,} bytes; the limit is {self.max_bytes:,} bytes."
            )
        if mime_type.lower() not in ACCEPTED:
            raise invalid_argument(
                f"Unsupported MIME type {mime_type!r} for a file; accepted: {', '.join(sorted(ACCEPTED))}", "mime_type"
            )
        upload_id = secrets.token_urlsafe(32)
        self.uploads.mkdir(parents=True, exist_ok=True)
        (self.uploads / f"{upload_id}.part").write_bytes(b"")
        with self.db.session() as session, session.begin():
            session.add(
                UploadSession(
                    id=upload_id,
                    owner=owner,
                    display_name=display_name,
                    mime_type=mime_type.lower(),
                    size_bytes=size,
                    expires_at=datetime.now(UTC) + SESSION_TTL,
                )
            )
        return upload_id

    def _session(self, upload_id: str) -> UploadSession:
        with self.db.session() as session:
            found = session.get(UploadSession, upload_id)
        if found is None or _aware(found.expires_at) < datetime.now(UTC):
            raise ServiceError(ErrorKind.NOT_FOUND, "No upload session by that id, or it has expired.")
        return found

    def received(self, upload_id: str) -> int:
        self._session(upload_id)
        return (self.uploads / f"{upload_id}.part").stat().st_size

    def cancel(self, upload_id: str) -> None:
        with self.db.session() as session, session.begin():
            session.execute(delete(UploadSession).where(UploadSession.id == upload_id))
        (self.uploads / f"{upload_id}.part").unlink(missing_ok=True)

    def chunk(self, upload_id: str, offset: int, data: bytes, finalize: bool) -> StoredFile | Progress:
        """Append a chunk at `offset` (the bytes received so far); the file once the last is in."""
        upload = self._session(upload_id)
        part = self.uploads / f"{upload_id}.part"
        have = part.stat().st_size
        if offset != have:
            raise invalid_argument(f"X-Goog-Upload-Offset is {offset} but {have} bytes have been received")
        if have + len(data) > upload.size_bytes:
            raise invalid_argument(f"more bytes than the {upload.size_bytes} declared at the start of the upload")
        try:
            with part.open("ab") as f:
                f.write(data)
        except OSError as exc:
            # Nothing of this chunk is kept: the client may ask for the offset and send it again.
            os.truncate(part, have)
            raise refused_for_space(exc) from exc
        if not finalize:
            return Progress(have + len(data))
        if have + len(data) != upload.size_bytes:
            raise invalid_argument(
                f"the upload ended at {have + len(data)} bytes but {upload.size_bytes} were declared at its start"
            )
        digest = hashlib.sha256()
        with part.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return self._keep(part, upload, digest.hexdigest())

    def _keep(
        self, part: Path, upload: UploadSession, sha256: str, source: str = "UPLOADED", purpose: str | None = None
    ) -> StoredFile:
        now = datetime.now(UTC)
        file_id = secrets.token_hex(6)  # [a-z0-9]: the SDK reads file ids with that pattern
        self.files.mkdir(parents=True, exist_ok=True)
        with part.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(part, self.files / file_id)
        try:
            return self._record(file_id, upload, sha256, source, purpose, now)
        except BaseException:
            (self.files / file_id).unlink(missing_ok=True)  # never a file without its row
            raise

    def _record(
        self, file_id: str, upload: UploadSession, sha256: str, source: str, purpose: str | None, now: datetime
    ) -> StoredFile:
        row = StoredFile(id=file_id, owner=upload.owner, display_name=upload.display_name, mime_type=upload.mime_type,
                         size_bytes=upload.size_bytes, sha256=sha256, source=source, purpose=purpose,
                         created_at=now, expires_at=now + self.ttl)  # fmt: skip
        with self.db.session() as session, session.begin():
            session.add(row)
            session.execute(delete(UploadSession).where(UploadSession.id == upload.id))
        return row

    def put_generated(
        self, owner: str, display_name: str, data: bytes, mime_type: str, purpose: str | None = None
    ) -> StoredFile:
        """A file the server made (a batch's results), written whole before it is listed."""
        return self._put(owner, display_name, data, mime_type, "GENERATED", purpose)

    def put_uploaded(self, owner: str, display_name: str, data: bytes, mime_type: str, purpose: str) -> StoredFile:
        """A file uploaded in one request (OpenAI's Files API), with the checks of a resumable one."""
        if len(data) > self.max_bytes:
            raise ServiceError(
                ErrorKind.TOO_LARGE, f"The file is {len(data):,} bytes; the limit is {self.max_bytes:,} bytes."
            )
        return self._put(owner, display_name, data, mime_type, "UPLOADED", purpose)

    def _put(
        self, owner: str, display_name: str, data: bytes, mime_type: str, source: str, purpose: str | None
    ) -> StoredFile:
        self.uploads.mkdir(parents=True, exist_ok=True)
        part = self.uploads / f"{secrets.token_urlsafe(16)}.part"
        try:
            part.write_bytes(data)
        except OSError as exc:
            part.unlink(missing_ok=True)
            raise refused_for_space(exc) from exc
        now = datetime.now(UTC)
        upload = UploadSession(id="", owner=owner, display_name=display_name, mime_type=mime_type,
                               size_bytes=len(data), expires_at=now)  # fmt: skip
        return self._keep(part, upload, hashlib.sha256(data).hexdigest(), source, purpose)

    def get(self, owner: str, file_id: str) -> StoredFile | None:
        """The file, or None when there is none by that id for this owner (or it has expired)."""
        with self.db.session() as session:
            row = session.get(StoredFile, file_id)
        if row is None or row.owner != owner:
            return None
        if _aware(row.expires_at) < datetime.now(UTC):
            self.delete(owner, file_id)
            return None
        return row

    def read(self, owner: str, file_id: str) -> tuple[StoredFile, bytes] | None:
        row = self.get(owner, file_id)
        if row is None:
            return None
        try:
            return row, (self.files / row.id).read_bytes()
        except FileNotFoundError:
            return None

    def list_after(
        self, owner: str, after: str | None, count: int, purpose: str | None = None
    ) -> tuple[list[StoredFile], bool]:
        """Like `list`, by cursor: the files after the one named `after` (OpenAI's paging), of one
        `purpose` when given (files uploaded Google's way count as "user_data")."""
        now = datetime.now(UTC)
        with self.db.session() as session:
            query = select(StoredFile).where(StoredFile.owner == owner, StoredFile.expires_at >= now)
            if purpose is not None:
                query = query.where(func.coalesce(StoredFile.purpose, "user_data") == purpose)
            return newest_after(session, query, StoredFile, owner, after, count)

    def list(self, owner: str, start: int, count: int) -> tuple[list[StoredFile], bool]:
        """A page of the owner's live files, newest first, and whether more follow."""
        now = datetime.now(UTC)
        with self.db.session() as session:
            rows = session.scalars(
                select(StoredFile)
                .where(StoredFile.owner == owner, StoredFile.expires_at >= now)
                .order_by(StoredFile.created_at.desc(), StoredFile.id)
                .offset(start)
                .limit(count + 1)
            ).all()
        return list(rows[:count]), len(rows) > count

    def delete(self, owner: str, file_id: str) -> bool:
        with self.db.session() as session, session.begin():
            row = session.get(StoredFile, file_id)
            gone = row is not None and row.owner == owner
            if gone:
                session.delete(row)
        if gone:
            (self.files / file_id).unlink(missing_ok=True)
        return gone

    def sweep(self) -> int:
        """Delete every expired file and upload session; how many files went."""
        now = datetime.now(UTC)
        with self.db.session() as session, session.begin():
            expired = session.scalars(select(StoredFile.id).where(StoredFile.expires_at < now)).all()
            session.execute(delete(StoredFile).where(StoredFile.expires_at < now))
            stale = session.scalars(select(UploadSession.id).where(UploadSession.expires_at < now)).all()
            session.execute(delete(UploadSession).where(UploadSession.expires_at < now))
        for file_id in expired:
            (self.files / file_id).unlink(missing_ok=True)
        for upload_id in stale:
            (self.uploads / f"{upload_id}.part").unlink(missing_ok=True)
        return len(expired)
