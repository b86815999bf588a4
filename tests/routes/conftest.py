"""The app in-process (FastAPI's TestClient) over tiny random-weight pipelines saved to folders and
loaded through the catalog, as real checkpoints are: route behaviour without a server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plantain.api.app import create_app
from plantain.core.catalog import Catalog
from plantain.core.settings import Settings
from tests.tiny_pipelines import build_klein, build_sana

KEY = "route-key"
MAX_REQUEST_BYTES = 64 * 1024


def tiny_catalog(root: Path) -> Catalog:
    sana, klein = build_sana(root / "sana"), build_klein(root / "klein")
    prices = {"input_per_million_tokens": 0.0, "output_per_million_tokens": 0.0}
    common = {"licence": "test weights", "steps": 2, "max_render_side": 64, "prices": prices}
    return Catalog.model_validate(
        {
            "models": {
                "tiny-sana": {
                    **common,
                    "display_name": "tiny SANA",
                    "family": "sana",
                    "checkpoint": str(sana),
                    "sizes": ["512", "1K"],
                    "can_edit": False,
                    "call_options": {"complex_human_instruction": []},
                },
                "tiny-klein": {
                    **common,
                    "display_name": "tiny FLUX.2 klein",
                    "family": "flux2-klein",
                    "checkpoint": str(klein),
                    "call_options": {"text_encoder_out_layers": [1]},
                },
                "tiny-klein-2": {
                    **common,
                    "display_name": "the same weights under a second ID",
                    "family": "flux2-klein",
                    "checkpoint": str(klein),
                    "call_options": {"text_encoder_out_layers": [1]},
                },
            }
        }
    )


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return tiny_catalog(tmp_path_factory.mktemp("tiny-routes"))


@pytest.fixture(scope="session")
def client(catalog: Catalog) -> Iterator[TestClient]:
    settings = Settings(api_keys=KEY, max_request_bytes=MAX_REQUEST_BYTES, threads=2, offline=True)
    with TestClient(create_app(settings, catalog), headers={"x-goog-api-key": KEY}) as c:
        yield c
