from __future__ import annotations

import pytest
import torch

from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.backends.registry import load_backend
from plantain.core.catalog import Catalog, ModelEntry, load_catalog
from plantain.core.settings import Settings
from tests.tiny_pipelines import tiny_catalog


@pytest.fixture(scope="session")
def mini_entry() -> ModelEntry:
    """The packaged catalog's entry for the built-in mini model."""
    entry = load_catalog().get("plantain-mini")
    assert entry is not None
    return entry


@pytest.fixture(scope="session")
def backend(mini_entry: ModelEntry) -> DiffusersBackend:
    """The shipped mini model, loaded from its folder through diffusers' from_pretrained."""
    torch.set_num_threads(2)
    backend = load_backend(mini_entry, Settings())
    assert isinstance(backend, DiffusersBackend)
    return backend


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """Tiny random-weight SANA and FLUX.2 klein folders behind a catalog, loaded as real checkpoints are."""
    return tiny_catalog(tmp_path_factory.mktemp("tiny-catalog"))
