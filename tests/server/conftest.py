"""A real `plantain serve` process on 127.0.0.1, started once per catalog."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

API_KEY = "test-key-123"
_LAST_PID: list[int] = []


def last_server_pid() -> int:
    """The process id of the most recently started server (benchmarks read its peak RSS)."""
    return _LAST_PID[-1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    port = free_port()
    full_env = {
        **os.environ,
        "PLANTAIN_API_KEYS": API_KEY,
        "PLANTAIN_THREADS": os.environ.get("PLANTAIN_TEST_THREADS", "2"),
        **(env or {}),
    }
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "plantain.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    _LAST_PID.append(proc.pid)
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
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log:
            out.close()  # type: ignore[union-attr]


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default catalog, served by the built-in model."""
    with running_server(log=tmp_path_factory.mktemp("server") / "server.log") as base:
        yield base
