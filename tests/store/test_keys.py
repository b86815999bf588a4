"""API keys in the store: shown once, kept only as a salted hash, revoked and rotated for every
process sharing the database."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from plantain.store.db import Database, upgrade
from plantain.store.keys import KeyProblem, KeyStore, Limits


@pytest.fixture
def two_processes(db_url: str) -> tuple[KeyStore, KeyStore]:
    """Two stores on one database, as two server processes have."""
    upgrade(db_url)
    return KeyStore(Database(db_url)), KeyStore(Database(db_url))


def test_a_key_is_stored_only_as_a_salted_hash(two_processes: tuple[KeyStore, KeyStore]) -> None:
    one, two = two_processes
    info, secret = one.create("alice", Limits(rpm=5, images_per_day=100, budget_micro_usd=1_500_000, models=("m",)))
    assert secret.startswith("pk-") and len(secret) > 50
    with one.db.engine.connect() as conn:
        stored = conn.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert secret.encode() not in b"".join(v if isinstance(v, bytes) else str(v).encode() for v in stored.values())
    assert secret.split(".", 1)[1] not in str(dict(stored))
    checked = two.verify(secret)
    assert checked == info and checked.limits.models == ("m",) and checked.limits.rpm == 5


@pytest.mark.parametrize("wrong", ["", "pk-", "pk-nothing.here", "sk-123", "pk-{prefix}.not-the-secret"])
def test_wrong_keys_are_refused(two_processes: tuple[KeyStore, KeyStore], wrong: str) -> None:
    one, _ = two_processes
    _, secret = one.create("bob")
    prefix = secret[3:].split(".", 1)[0]
    assert one.verify(wrong.format(prefix=prefix)) is None


def test_revoked_and_rotated_keys_stop_working_everywhere_at_once(two_processes: tuple[KeyStore, KeyStore]) -> None:
    one, two = two_processes
    _, first = one.create("carol")
    _, other = one.create("dave")
    assert two.verify(first) is not None
    new = one.rotate("carol")
    assert two.verify(first) is None and two.verify(new) is not None
    one.revoke("carol")
    assert two.verify(new) is None and two.verify(other) is not None
    with pytest.raises(KeyProblem, match="revoked"):
        one.rotate("carol")
    with pytest.raises(KeyProblem, match="exists already"):
        one.create("dave")
    with pytest.raises(KeyProblem, match="no key"):
        one.revoke("erin")
    assert [(row.name, live) for row, live in two.list()] == [("carol", False), ("dave", True)]
