"""The batch size fitted to the device: the fastest measured, the smallest when sizes tie, never
past the catalog's bound; and the real mini model gets one at load."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from functools import partial

from PIL import Image

from plantain.core.catalog import load_catalog
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.engine.fit import candidate_sizes, fit_batch_size
from plantain.engine.scheduler import Engine
from plantain.engine.tickets import Priority
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


def test_the_mini_model_is_fitted_on_its_worker_when_warmed() -> None:
    service = Service(Settings(threads=2, fit_batch=True), load_catalog())
    entry = service.entry("plantain-mini")
    asyncio.run(service.warm(entry))
    assert 1 <= service.batch_sizes[entry.id] <= entry.max_batch
    service.close()


def test_the_fit_runs_on_the_thread_that_will_run_the_batches() -> None:
    # The CPU math libraries keep a thread pool per calling thread: a model warmed on one thread and
    # served on another runs its batches much slower.
    threads: list[int] = []

    class Recording(Device):
        def generate(self, jobs: list[ImageJob], on_step: object = None) -> list[Image.Image]:
            threads.append(threading.get_ident())
            return super().generate(jobs, on_step)

        def batch_key(self, job: ImageJob) -> tuple[int, int]:
            return (job.width, job.height)

        def weights_id(self) -> int:
            return id(self)

    device = Recording({1: 0.02, 2: 0.03, 4: 0.045, 8: 0.08, 16: 0.32})
    engine = Engine(0.002, 64)
    queue = engine.queue_for("m", device, 16, partial(fit_batch_size, probe=PROBE, limit=16))  # type: ignore[arg-type]

    async def one() -> None:
        await queue.submit([ImageJob("x", 0, 64, 64)], Priority.INTERACTIVE, None, asyncio.get_running_loop()).future

    asyncio.run(one())
    engine.close(1.0)
    assert queue.fitted.is_set() and engine.limits() == {"m": 8}
    assert len(set(threads)) == 1 and len(threads) > 10  # the fit's calls and the request's, one thread
