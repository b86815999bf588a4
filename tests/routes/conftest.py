"""The app in-process (FastAPI's TestClient) over the tiny catalog (tests/conftest.py): route
behaviour without a server process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from plantain.api.app import create_app
from plantain.core.catalog import Catalog
from plantain.core.settings import Settings

KEY = "route-key"
MAX_REQUEST_BYTES = 64 * 1024


@pytest.fixture(scope="session")
def client(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        api_keys=KEY,
        max_request_bytes=MAX_REQUEST_BYTES,
        threads=2,
        offline=True,
        data_dir=tmp_path_factory.mktemp("data"),
    )
    with TestClient(create_app(settings, catalog), headers={"x-goog-api-key": KEY}) as c:
        yield c
