from __future__ import annotations

import pytest
import torch

from plantain.backends.mini import MiniBackend
from plantain.settings import Settings


@pytest.fixture(scope="session")
def backend() -> MiniBackend:
    """The shipped mini model, loaded from its folder through diffusers' from_pretrained."""
    torch.set_num_threads(2)
    return MiniBackend.load(Settings())
