"""A real `plantain serve` process on 127.0.0.1: the test helper that the end-to-end tests and the
serving benchmark start servers with."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import select

from plantain.store.db import Database
from plantain.store.models import LedgerRow

API_KEY = "test-key-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    base: str  # http://127.0.0.1:PORT
    pid: int


@contextmanager
def server_process(
    env: dict[str, str] | None = None,
    log: Path | None = None,
    args: list[str] | None = None,
    wrap: list[str] | None = None,
) -> Iterator[Server]:
    """Start `plantain serve [args]` with the test key, wait until it answers, stop it on exit.
    `wrap` goes before the command (a program that sets up, then execs its arguments)."""
    port = free_port()
    full_env = {
        **os.environ,
        # Its own data folder (the store's database, image URLs) unless the test shares one.
        "PLANTAIN_DATA_DIR": tempfile.mkdtemp(prefix="plantain-data-"),
        "PLANTAIN_API_KEYS": API_KEY,
        "PLANTAIN_THREADS": os.environ.get("PLANTAIN_TEST_THREADS", "2"),
        # Fitting the batch size costs each start a few seconds; its own tests turn it on.
        "PLANTAIN_FIT_BATCH": "0",
        **(env or {}),
    }
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    # PLANTAIN_TEST_RAY=N: the same tests against `serve --ray` with N replicas of each pipeline.
    if args is None and os.environ.get("PLANTAIN_TEST_RAY"):
        args = ["--ray", "--replicas", os.environ["PLANTAIN_TEST_RAY"]]
    args = args or []
    ray = "--ray" in args
    proc = subprocess.Popen(
        [
            *(wrap or []),
            sys.executable,
            "-m",
            "plantain.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ],
        env=full_env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/v1beta/models", headers={"x-goog-api-key": API_KEY}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server did not start in 120 s")
            time.sleep(0.2)
        yield Server(base, proc.pid)
    finally:
        proc.terminate()
        try:
            # Ray Serve drains its replicas before the process ends.
            proc.wait(timeout=60 if ray else 10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]


@contextmanager
def running_server(env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """The server's base URL, for tests that need nothing else of it."""
    with server_process(env, log) as server:
        yield server.base


def ledger_rows(data_dir: Path) -> list[LedgerRow]:
    """Every usage ledger row in the SQLite store of a server whose data folder is `data_dir`."""
    db = Database(f"sqlite:///{data_dir / 'plantain.db'}")
    try:
        with db.session() as session:
            return list(session.scalars(select(LedgerRow)))
    finally:
        db.close()
