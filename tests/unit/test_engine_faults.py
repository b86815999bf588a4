"""The engine when the device fails: a request that makes the backend raise fails alone, and an
out-of-memory error splits the batch, lowers the batch bound and, for a request that cannot fit even
alone, is a retryable 503 after which the queue goes on serving."""

from __future__ import annotations

import asyncio
import threading

import pytest
import torch
from PIL import Image

from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.jobs import ImageJob
from plantain.engine.scheduler import PipelineQueue
from plantain.engine.tickets import Priority
from tests.unit.test_scheduler import SlowDevice


class FailingDevice(SlowDevice):
    """Raises when a batch holds a "poison" prompt; runs out of memory past `fits` jobs, or at
    once for a "huge" prompt."""

    def __init__(self, fits: int = 64) -> None:
        super().__init__(fixed=0.05, per_image=0.0)
        self.fits = fits
        self.gate = threading.Event()

    def generate(self, jobs: list[ImageJob], on_step: object = None) -> list[Image.Image]:
        self.gate.wait(5)  # the first batch waits until every request is queued
        prompts = [j.prompt for j in jobs]
        self.batches.append(prompts)
        if "poison" in prompts:
            raise RuntimeError("a kernel failed")
        if "huge" in prompts or len(jobs) > self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return [Image.new("RGB", (8, 8)) for _ in jobs]


async def submit_all(q: PipelineQueue, device: FailingDevice, prompts: list[str]) -> list[object]:
    loop = asyncio.get_running_loop()
    futures = [q.submit([ImageJob(p, 0, 8, 8)], Priority.INTERACTIVE, None, loop).future for p in prompts]
    await asyncio.sleep(0.05)
    device.gate.set()
    return list(await asyncio.gather(*futures, return_exceptions=True))


def test_a_request_that_makes_the_backend_raise_fails_alone() -> None:
    device = FailingDevice()
    q = PipelineQueue("faults", device, 8, 0.01, 64, threading.RLock())
    results = asyncio.run(submit_all(q, device, ["a", "b", "poison", "c"]))
    failed = [r for r in results if isinstance(r, BaseException)]
    assert len(failed) == 1 and isinstance(results[2], ServiceError) and results[2].kind is ErrorKind.INTERNAL
    assert all(isinstance(r, list) and len(r) == 1 for i, r in enumerate(results) if i != 2)
    # The first batch held all four; then each ran alone.
    assert sorted(device.batches[0]) == ["a", "b", "c", "poison"] and all(len(b) == 1 for b in device.batches[1:])
    q.close(1)


def test_out_of_memory_splits_lowers_the_bound_and_recovers() -> None:
    device = FailingDevice(fits=2)
    q = PipelineQueue("oom", device, 8, 0.01, 64, threading.RLock())
    results = asyncio.run(submit_all(q, device, ["a", "b", "c", "d", "huge"]))
    assert all(isinstance(r, list) for r in results[:4])
    huge = results[4]
    assert isinstance(huge, ServiceError) and huge.kind is ErrorKind.UNAVAILABLE and huge.retry_after
    assert q.max_batch == 2  # 5 did not fit: half of it, rounded down
    # The queue goes on: later batches are formed within the new bound and succeed.
    device.batches.clear()
    again = asyncio.run(submit_all(q, device, ["e", "f", "g", "h"]))
    assert all(isinstance(r, list) for r in again)
    assert max(len(b) for b in device.batches) <= 2
    q.close(1)


@pytest.mark.parametrize("error", [MemoryError(), torch.OutOfMemoryError("out of memory")])
def test_what_counts_as_out_of_memory(error: BaseException) -> None:
    from plantain.engine.scheduler import is_out_of_memory

    assert is_out_of_memory(error) and not is_out_of_memory(RuntimeError("no"))
