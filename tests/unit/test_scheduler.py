"""The scheduler's policy, with a stand-in device whose batches take a + b*n seconds."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import pytest
from PIL import Image

from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.jobs import ImageJob
from plantain.engine.scheduler import PipelineQueue
from plantain.engine.tickets import Priority


@dataclass(frozen=True)
class _Caps:
    resample: str = "nearest"


class SlowDevice:
    """Batches cost a fixed part plus a part per image, like a real device."""

    def __init__(self, fixed: float = 0.04, per_image: float = 0.01) -> None:
        self.pipe = object()
        self.capabilities = _Caps()
        self.fixed, self.per_image = fixed, per_image
        self.batches: list[list[str]] = []

    def batch_key(self, job: ImageJob) -> tuple[object, ...]:
        return ((8, 8), job.steps, job.guidance, bool(job.images))

    def weights_id(self) -> int:
        return id(self.pipe)

    def generate(self, jobs: list[ImageJob], on_step: object = None) -> list[Image.Image]:
        self.batches.append([j.prompt for j in jobs])
        time.sleep(self.fixed + self.per_image * len(jobs))
        return [Image.new("RGB", (8, 8)) for _ in jobs]


def queue(device: SlowDevice, max_batch: int = 8, max_queue: int = 64, max_wait: float = 0.002) -> PipelineQueue:
    return PipelineQueue("test", device, max_batch, max_wait, max_queue, threading.Lock())


def job(name: str) -> list[ImageJob]:
    return [ImageJob(name, 0, 8, 8)]


async def closed_loop(q: PipelineQueue, clients: int, rounds: int) -> None:
    loop = asyncio.get_running_loop()

    async def client(i: int) -> None:
        for r in range(rounds):
            await q.submit(job(f"{i}-{r}"), Priority.INTERACTIVE, None, loop).future
            await asyncio.sleep(0.003)  # the client reads its reply and asks again

    await asyncio.gather(*(client(i) for i in range(clients)))


def test_batches_reform_at_full_size_under_steady_load() -> None:
    device = SlowDevice()
    q = queue(device)
    asyncio.run(closed_loop(q, clients=8, rounds=12))
    q.close()
    sizes = [len(b) for b in device.batches]
    steady = sizes[3:]
    assert sum(steady) / len(steady) >= 7, sizes


def test_a_lone_request_does_not_wait_for_company() -> None:
    device = SlowDevice(fixed=0.02, per_image=0.0)
    q = queue(device)

    async def one() -> float:
        t0 = time.monotonic()
        await q.submit(job("alone"), Priority.INTERACTIVE, None, asyncio.get_running_loop()).future
        return time.monotonic() - t0

    latencies = [asyncio.run(one()) for _ in range(5)]
    q.close()
    assert min(latencies) < 0.02 + 0.015, latencies


def test_interactive_goes_before_batch_work_and_full_queues_refuse() -> None:
    device = SlowDevice(fixed=0.05, per_image=0.0)
    q = queue(device, max_batch=1, max_queue=4)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        first = q.submit(job("first"), Priority.INTERACTIVE, None, loop)
        await asyncio.sleep(0.01)
        bulk = [q.submit(job(f"batch-{i}"), Priority.BATCH, None, loop) for i in range(3)]
        urgent = q.submit(job("urgent"), Priority.INTERACTIVE, None, loop)
        with pytest.raises(ServiceError) as info:
            q.submit(job("one too many"), Priority.BATCH, None, loop)
        assert info.value.kind is ErrorKind.EXHAUSTED and info.value.retry_after is not None
        await asyncio.gather(first.future, urgent.future, *(t.future for t in bulk))

    asyncio.run(scenario())
    q.close()
    order = [b[0] for b in device.batches]
    assert order.index("urgent") == 1, order


def test_cancelling_a_queued_ticket_frees_its_place_at_once() -> None:
    device = SlowDevice(fixed=0.1, per_image=0.0)
    q = queue(device, max_batch=1, max_queue=1)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        running = q.submit(job("running"), Priority.INTERACTIVE, None, loop)
        await asyncio.sleep(0.02)
        waiting = q.submit(job("waiting"), Priority.INTERACTIVE, None, loop)
        with pytest.raises(ServiceError):
            q.submit(job("refused"), Priority.INTERACTIVE, None, loop)
        waiting.cancel()
        replacement = q.submit(job("replacement"), Priority.INTERACTIVE, None, loop)
        await asyncio.gather(running.future, replacement.future)
        with pytest.raises(asyncio.CancelledError):
            await waiting.future

    asyncio.run(scenario())
    q.close()
    assert [b[0] for b in device.batches] == ["running", "replacement"]
