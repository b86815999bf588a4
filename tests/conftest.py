from __future__ import annotations

import pytest
import torch

from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.core.catalog import load_catalog
from plantain.settings import Settings


@pytest.fixture(scope="session")
def backend() -> DiffusersBackend:
    """The shipped mini model, loaded from its folder through diffusers' from_pretrained."""
    torch.set_num_threads(2)
    entry = load_catalog().get("plantain-mini")
    assert entry is not None
    return DiffusersBackend.load(entry, Settings())
