"""The device batch size that gives the most images a second on this device, measured when a
model loads: the catalog's `max_batch` is an upper bound, not a promise that the device gains up to
it (a small CPU may peak at 8, a large GPU at 64).

Each batch size (powers of two up to the bound, and the bound) is timed on one denoising step of
real jobs at the model's default size, twice, keeping the faster; the denoising steps are where a
batch's cost lies, so one step ranks the sizes as whole requests would, in a fraction of the time.
The chosen size is the smallest within 3% of the best: as fast, and each request waits less.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager

from plantain.backends.base import Backend
from plantain.core.jobs import ImageJob

CLOSE_ENOUGH = 0.97


def candidate_sizes(limit: int) -> list[int]:
    sizes = [1]
    while sizes[-1] * 2 <= limit:
        sizes.append(sizes[-1] * 2)
    if sizes[-1] != limit:
        sizes.append(limit)
    return sizes


def fit_batch_size(
    backend: Backend, probe: ImageJob, limit: int, lock: AbstractContextManager[bool] | None = None
) -> tuple[int, dict[int, float]]:
    """The best batch size up to `limit`, and the images a second measured at each size."""
    lock = lock if lock is not None else threading.Lock()
    rates: dict[int, float] = {}
    with lock:
        backend.generate([probe])  # warm-up: first calls allocate and compile
        for n in candidate_sizes(limit):
            jobs = [ImageJob(probe.prompt, probe.seed + i, probe.width, probe.height, steps=1) for i in range(n)]
            best = float("inf")
            for _ in range(2):
                t0 = time.perf_counter()
                backend.generate(jobs)
                best = min(best, time.perf_counter() - t0)
            rates[n] = n / best
    top = max(rates.values())
    return min(n for n, r in rates.items() if r >= CLOSE_ENOUGH * top), rates
