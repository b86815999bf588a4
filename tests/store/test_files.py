"""The file store on SQLite and PostgreSQL: chunked uploads that appear whole or not at all, owners,
limits, expiry."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest

from plantain.core.errors import ErrorKind, ServiceError
from plantain.store.db import Database, upgrade
from plantain.store.files import FileStore, Progress


@pytest.fixture
def store(db_url: str, tmp_path: Path) -> FileStore:
    upgrade(db_url)
    return FileStore(Database(db_url), tmp_path, timedelta(hours=48), max_bytes=1000)


def test_a_chunked_upload_appears_whole_only_when_finished(store: FileStore) -> None:
    upload = store.start("key:1", 10, "text/plain", "notes")
    assert store.chunk(upload, 0, b"hello", finalize=False) == Progress(5)
    assert store.list("key:1", 0, 10) == ([], False)  # nothing visible half-written
    assert not store.files.exists() or not any(store.files.iterdir())
    with pytest.raises(ServiceError, match="Offset is 3 but 5"):
        store.chunk(upload, 3, b"world", finalize=True)
    row = store.chunk(upload, 5, b"world", finalize=True)
    assert not isinstance(row, Progress)
    assert row.size_bytes == 10 and row.sha256 == hashlib.sha256(b"helloworld").hexdigest()
    found = store.read("key:1", row.id)
    assert found is not None and found[0].id == row.id and found[1] == b"helloworld"
    assert store.get("key:2", row.id) is None and store.read("key:2", row.id) is None  # another owner
    assert not store.delete("key:2", row.id) and store.delete("key:1", row.id)
    assert store.get("key:1", row.id) is None and not (store.files / row.id).exists()


def test_limits_and_wrong_lengths(store: FileStore) -> None:
    with pytest.raises(ServiceError) as big:
        store.start("env", 1001, "image/png", "")
    assert big.value.kind is ErrorKind.TOO_LARGE
    with pytest.raises(ServiceError, match="MIME"):
        store.start("env", 10, "video/mp4", "")
    upload = store.start("env", 10, "jsonl", "")
    with pytest.raises(ServiceError, match="10 were declared"):
        store.chunk(upload, 0, b"short", finalize=True)
    with pytest.raises(ServiceError, match="more bytes"):
        store.chunk(upload, 5, b"far too long", finalize=False)
    store.cancel(upload)
    with pytest.raises(ServiceError) as gone:
        store.received(upload)
    assert gone.value.kind is ErrorKind.NOT_FOUND


def test_expired_files_are_deleted_by_the_sweep(store: FileStore) -> None:
    store.ttl = timedelta(seconds=-1)  # born expired
    upload = store.start("env", 3, "text/plain", "")
    row = store.chunk(upload, 0, b"abc", finalize=True)
    assert not isinstance(row, Progress)
    assert (store.files / row.id).exists()
    assert store.sweep() == 1
    assert not (store.files / row.id).exists() and store.get("env", row.id) is None
