"""A ticket: one request's jobs on their way through the engine, and one vocabulary of job states.

`Priority` lives in core (a request carries it); it is re-exported here for the engine's callers.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from enum import StrEnum

from PIL import Image

from plantain.core.jobs import ImageJob, Priority

__all__ = ["Priority", "State", "Ticket"]


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(eq=False)
class Ticket:
    jobs: list[ImageJob]
    priority: Priority
    deadline: float | None  # time.monotonic() seconds
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Image.Image]]
    key: Hashable
    enqueued_at: float = field(default_factory=time.monotonic)
    state: State = State.QUEUED
    batch_size: int = 0
    # Set from any thread; read by the worker between denoising steps. Per ticket, never global.
    cancel_event: threading.Event = field(default_factory=threading.Event)
    # Set by the queue: frees the ticket's place at once when it is cancelled while queued.
    on_cancel: Callable[[Ticket], None] | None = None
    # Told (step, total steps) after each denoising step of the batch that runs it (worker thread).
    progress: Callable[[int, int], None] | None = None
    # Told (job index within the ticket, step, total steps, image) for each preview its jobs ask
    # for (ImageJob.previews), from the worker thread.
    preview: Callable[[int, int, int, Image.Image], None] | None = None

    def cancel(self) -> None:
        if self.cancel_event.is_set():
            return
        self.cancel_event.set()
        if self.on_cancel is not None:
            self.on_cancel(self)

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def expired(self, now: float | None = None) -> bool:
        return self.deadline is not None and (now or time.monotonic()) >= self.deadline

    @property
    def live(self) -> bool:
        return not self.cancelled and not self.expired()

    def resolve(self, images: list[Image.Image] | None, error: BaseException | None = None) -> None:
        """Hand the result to the request's event loop (called from the worker thread)."""

        def settle() -> None:
            if self.future.done():
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(images or [])

        self.loop.call_soon_threadsafe(settle)
