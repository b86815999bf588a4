"""The batch size fitted to the device: the fastest measured, the smallest when sizes tie, never
past the catalog's bound; and the real mini model gets one at load."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from PIL import Image

from plantain.core.catalog import load_catalog
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.engine.fit import candidate_sizes, fit_batch_size
from plantain.serving.service import Service


@dataclass
class Device:
    """A batch of n costs `cost(n)` seconds."""

    per_batch: dict[int, float]

    def generate(self, jobs: list[ImageJob], on_step: object = None) -> list[Image.Image]:
        time.sleep(self.per_batch.get(len(jobs), 0.001))
        return [Image.new("RGB", (8, 8)) for _ in jobs]


PROBE = ImageJob("a red circle", 0, 64, 64)


def test_sizes_are_powers_of_two_and_the_bound() -> None:
    assert candidate_sizes(1) == [1]
    assert candidate_sizes(16) == [1, 2, 4, 8, 16]
    assert candidate_sizes(12) == [1, 2, 4, 8, 12]


def test_the_fastest_size_wins_even_below_the_bound() -> None:
    # 8 a batch: 8 / 0.08 = 100 images/s; 16: 16 / 0.32 = 50 (a device past its best).
    device = Device({1: 0.02, 2: 0.03, 4: 0.045, 8: 0.08, 16: 0.32})
    size, rates = fit_batch_size(device, PROBE, 16)  # type: ignore[arg-type]
    assert size == 8 and set(rates) == {1, 2, 4, 8, 16}


def test_a_tie_goes_to_the_smaller_batch() -> None:
    # 8 and 16 within 3% of each other: 8 answers each request sooner.
    device = Device({1: 0.05, 2: 0.06, 4: 0.07, 8: 0.08, 16: 0.158})
    size, _ = fit_batch_size(device, PROBE, 16)  # type: ignore[arg-type]
    assert size == 8


def test_the_mini_model_is_fitted_when_it_loads() -> None:
    service = Service(Settings(threads=2, fit_batch=True), load_catalog())
    entry = service.entry("plantain-mini")
    asyncio.run(service.backend(entry))
    assert 1 <= service.batch_sizes[entry.id] <= entry.max_batch
    service.close()
