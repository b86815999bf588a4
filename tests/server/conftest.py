"""The end-to-end tests' server: a real `plantain serve` process, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server_process import running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The default catalog, served by the built-in model."""
    folder = tmp_path_factory.mktemp("server")
    env = {"PLANTAIN_DATA_DIR": str(folder / "data")}
    with running_server(env, log=folder / "server.log") as base:
        yield base
