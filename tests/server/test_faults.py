"""Failing parts under a real `plantain serve`: the database going away (PostgreSQL stopped, then
started again) is a 503 with nothing lost or doubled once it is back; a full disk (a 4 MB tmpfs as
the data folder) refuses uploads cleanly, keeps nothing half-written, and takes them again once
there is room."""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image
from sqlalchemy import func, select

from plantain.store.db import Database
from plantain.store.models import LedgerRow
from tests.server_process import API_KEY, free_port, server_process

pytestmark = pytest.mark.slow

MODEL = "plantain-mini"
BODY = {"contents": [{"parts": [{"text": "a red circle"}]}], "generationConfig": {"imageConfig": {"imageSize": "512"}}}


class Postgres:
    """A PostgreSQL cluster of this test's own, which it can stop and start."""

    def __init__(self, folder: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("PostgreSQL is not installed (bash .ci/postgres installs it)")
        self.bin = Path(found[-1]).parent
        self.data, self.port = folder / "pg", free_port()
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        self.run(f"'{self.bin}/initdb' -D '{self.data}' -U postgres --auth=trust -E UTF8")
        self.start()
        self.run(f"'{self.bin}/createdb' -h 127.0.0.1 -p {self.port} -U postgres plantain")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/plantain"

    def run(self, command: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", command] if os.geteuid() == 0 else ["sh", "-c", command]
        subprocess.run(argv, check=True, capture_output=True)

    def start(self) -> None:
        opts = f"-h 127.0.0.1 -p {self.port} -k '{self.data}'"
        self.run(f"'{self.bin}/pg_ctl' -D '{self.data}' -l '{self.data}/log' -w -o \"{opts}\" start")

    def stop(self) -> None:
        self.run(f"'{self.bin}/pg_ctl' -D '{self.data}' -w -m immediate stop")  # as a crash would


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    # Under /tmp itself: pytest's own folders are closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="plantain-pg-faults."))
    folder.chmod(0o755)
    try:
        pg = Postgres(folder)
        yield pg
        pg.run(f"'{pg.bin}/pg_ctl' -D '{pg.data}' -m immediate stop || true")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def noise_png() -> bytes:
    """A PNG of noise, about 2.7 MB: it does not compress."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (960, 960, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def plantain(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "plantain.cli", *args], env={**os.environ, **env},
                            capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout.strip()


def test_the_database_going_away_is_a_503_and_nothing_is_lost(postgres: Postgres, tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_DATABASE_URL": postgres.url}
    plantain(env, "db", "upgrade")
    secret = plantain(env, "keys", "create", "--name", "team")
    headers = {"x-goog-api-key": secret}
    answered = 0
    with server_process(env, log=tmp_path / "server.log") as server:
        url = f"{server.base}/v1beta/models/{MODEL}:generateContent"

        def ask() -> httpx.Response:
            return httpx.post(url, json=BODY, headers=headers, timeout=120)

        assert ask().status_code == 200
        answered += 1
        postgres.stop()
        for _ in range(3):
            down = ask()
            assert down.status_code == 503, down.text
            assert down.json()["error"]["status"] == "UNAVAILABLE" and int(down.headers["retry-after"]) > 0
        files = httpx.get(f"{server.base}/v1beta/files", headers=headers, timeout=30)
        assert files.status_code == 503 and files.json()["error"]["status"] == "UNAVAILABLE"
        assert httpx.get(f"{server.base}/healthz").status_code == 200  # the process itself is well
        postgres.start()
        for _ in range(3):
            back = ask()
            assert back.status_code == 200, back.text
            answered += 1
    # One row per answered request: none lost while the database was away, none written twice.
    db = Database(postgres.url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with db.session() as session:
            rows = session.scalar(select(func.count()).select_from(LedgerRow))
            paid = session.scalar(select(func.count()).select_from(LedgerRow).where(LedgerRow.outcome == "ok"))
    finally:
        db.close()
    assert rows == paid == answered


def test_a_full_disk_refuses_uploads_cleanly(tmp_path: Path) -> None:
    if (
        shutil.which("unshare") is None
        or subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs '{tmp_path}'"], capture_output=True
        ).returncode
    ):
        pytest.skip("cannot mount a tmpfs in a mount namespace here (needs root)")
    data = tmp_path / "data"
    data.mkdir()
    # The server sees a 4 MB disk as its data folder (in a mount namespace of its own).
    wrap = ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=4m tmpfs '{data}' && exec \"$@\"", "sh"]
    with server_process({"PLANTAIN_DATA_DIR": str(data)}, wrap=wrap) as server:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.base))
        first = client.files.upload(file=io.BytesIO(os.urandom(2_500_000)), config={"mime_type": "text/plain"})
        with pytest.raises(errors.APIError) as full:
            client.files.upload(file=io.BytesIO(os.urandom(2_500_000)), config={"mime_type": "text/plain"})
        assert full.value.code == 503 and "no room" in (full.value.message or "")
        # Nothing half-written is listed or kept: only the first file.
        assert [f.name for f in client.files.list()] == [first.name]
        # The OpenAI Files API says the same in its own words.
        oai = httpx.post(f"{server.base}/v1/files", headers={"authorization": f"Bearer {API_KEY}"},
                         data={"purpose": "vision"}, files={"file": ("noise.png", noise_png(), "image/png")},
                         timeout=60)  # fmt: skip
        assert oai.status_code == 503 and oai.json()["error"]["type"] == "server_error", oai.text
        # Room again, uploads again; and image requests never needed the disk.
        client.files.delete(name=first.name)
        again = client.files.upload(file=io.BytesIO(os.urandom(2_500_000)), config={"mime_type": "text/plain"})
        assert [f.name for f in client.files.list()] == [again.name]
        r = httpx.post(f"{server.base}/v1beta/models/{MODEL}:generateContent", json=BODY,
                       headers={"x-goog-api-key": API_KEY}, timeout=120)  # fmt: skip
        assert r.status_code == 200
