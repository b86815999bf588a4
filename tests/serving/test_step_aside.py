"""Batch work steps aside for interactive work between denoising steps, on the real mini model:
the interactive request finishes while the batch is still running, and every image, the batch's
and the interactive one, is exactly what it would be without the interruption."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np

from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.core.jobs import ImageJob
from plantain.engine.scheduler import PipelineQueue
from plantain.engine.tickets import Priority


def jobs(prompt: str, seed: int) -> list[ImageJob]:
    return [ImageJob(prompt, seed, 64, 64, steps=8)]


def test_interactive_work_runs_inside_a_batch_priority_batch(backend: DiffusersBackend) -> None:
    alone_batch = backend.generate([jobs(f"a red circle {i}", i)[0] for i in range(4)])
    alone_interactive = backend.generate(jobs("two blue squares", 99))

    q = PipelineQueue("aside", backend, 8, 0.05, 64, threading.RLock())
    finished: dict[str, float] = {}

    async def run() -> tuple[list[object], list[object]]:
        loop = asyncio.get_running_loop()
        first_step = asyncio.Event()

        def progress(step: int, total: int) -> None:
            if step == 1:
                loop.call_soon_threadsafe(first_step.set)

        bulk = [q.submit(jobs(f"a red circle {i}", i), Priority.BATCH, None, loop, progress) for i in range(4)]
        await first_step.wait()  # the batch is on the device, two steps in
        urgent = q.submit(jobs("two blue squares", 99), Priority.INTERACTIVE, None, loop)

        for name, ticket in [("interactive", urgent), *((f"bulk{i}", t) for i, t in enumerate(bulk))]:
            ticket.future.add_done_callback(lambda _, name=name: finished.setdefault(name, time.monotonic()))
        got_urgent = await urgent.future
        got_bulk = [await t.future for t in bulk]
        return got_bulk, [got_urgent]

    try:
        got_bulk, got_urgent = asyncio.run(run())
    finally:
        q.close()
    assert finished["interactive"] < min(v for k, v in finished.items() if k.startswith("bulk"))
    assert q.twin() is not None
    for (image,), expected in zip(got_bulk, alone_batch, strict=True):  # type: ignore[misc]
        assert np.array_equal(np.asarray(image), np.asarray(expected))
    ((image,),) = got_urgent  # type: ignore[misc]
    assert np.array_equal(np.asarray(image), np.asarray(alone_interactive[0]))
