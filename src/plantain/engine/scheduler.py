"""One worker thread per served model, fed by a bounded two-class priority queue.

The worker takes the oldest interactive ticket (else the oldest batch ticket) and runs it together
with every compatible queued ticket (same size, steps, guidance and mode), up to `max_batch` jobs,
in one `generate` call. How long it waits for company first adapts to the load: a lone client's
request waits at most `max_wait` (milliseconds); after a batch of n, the worker waits for n jobs
again, up to `max_busy_wait` or a quarter of that batch's time, because the clients just served are
about to come back. Under steady load batches re-form at full size instead of alternating between
one straggler and the rest; when load falls, the target falls with it. A ticket's jobs (its
candidates) always share one batch. Between denoising steps the batch stops when every ticket in it
has been cancelled or has run out of time. Tickets that are cancelled or expired while queued never
reach the device. A device batch of batch-priority work steps aside between denoising steps: waiting
interactive tickets run first, on the backend's twin (the same weights, its own call state), so a
request arriving during a long batch job waits one step, not the whole batch. Model IDs that share
one pipeline (the same weights) have a queue each and take turns on the device through one lock,
since a pipeline's scheduler is stateful.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable

from PIL import Image
from prometheus_client import Counter, Histogram

from plantain.backends.base import Backend, Interrupted, Step
from plantain.core.errors import ErrorKind, ServiceError, deadline_error, invalid_argument
from plantain.core.jobs import ImageJob, preview_steps
from plantain.engine import memory
from plantain.engine.tickets import Priority, State, Ticket

log = logging.getLogger("plantain.engine")
BATCH_SIZE = Histogram(
    "plantain_batch_size", "Jobs per device batch", ["pipeline"], buckets=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)
)
JOBS = Counter("plantain_jobs_total", "Jobs by final state", ["pipeline", "state"])
INTERRUPTED = Counter("plantain_batches_interrupted_total", "Device batches stopped between steps", ["pipeline"])
QUEUE_WAIT = Histogram("plantain_queue_seconds", "Time from submit to start of the device batch", ["pipeline"])


class PipelineQueue:
    def __init__(
        self,
        name: str,
        backend: Backend,
        max_batch: int,
        max_wait: float,
        max_queue: int,
        device_lock: threading.RLock,
        max_busy_wait: float = 0.05,
        fit: Callable[[Backend], tuple[int, dict[int, float]]] | None = None,
    ) -> None:
        self.name = name
        # Measured on the worker thread itself (engine.fit): the thread that runs a model's batches
        # must be the one that warmed it, or the CPU math libraries' thread pools fight each other.
        self._fit = fit
        # A batch ran since the queue last handed its freed memory back (engine.memory).
        self._ran = False
        self.fitted = threading.Event()
        self.device_lock = device_lock
        self.max_busy_wait = max_busy_wait
        self._last_batch_size = 1
        self._last_batch_seconds = 1.0
        self._free_since = time.monotonic()
        self._trimmed_at = time.monotonic()
        self.backend = backend
        self.limit = max_batch  # the catalog's bound: a ticket's candidates may always reach it
        # Made on first need: interactive work run inside a batch-priority batch's step hook.
        self._twin: Backend | None = None
        self._twin_tried = False
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._queues: tuple[deque[Ticket], deque[Ticket]] = (deque(), deque())
        self._cv = threading.Condition()
        self._queued_jobs = 0
        self._closed = False
        self._busy = False  # a device batch is running
        self._thread = threading.Thread(target=self._run, name=f"plantain-worker-{name}", daemon=True)
        self._thread.start()

    # -- submitting (event loop side) ------------------------------------------------------------

    def submit(
        self,
        jobs: list[ImageJob],
        priority: Priority,
        deadline: float | None,
        loop: asyncio.AbstractEventLoop,
        progress: Callable[[int, int], None] | None = None,
        preview: Callable[[int, int, int, Image.Image], None] | None = None,
    ) -> Ticket:
        if len(jobs) > self.limit:
            raise invalid_argument(f"{len(jobs)} candidates do not fit one device batch of {self.limit}")
        ticket = Ticket(jobs, priority, deadline, loop, loop.create_future(), self.backend.batch_key(jobs[0]))
        ticket.on_cancel = self._cancelled
        ticket.progress = progress  # set before the worker can see the ticket
        ticket.preview = preview
        with self._cv:
            if self._closed:
                raise ServiceError(
                    ErrorKind.UNAVAILABLE, f"Model {self.name} was unloaded as this request came in; retry.",
                    retry_after=1,
                )  # fmt: skip
            if self._queued_jobs + len(jobs) > self.max_queue:
                retry = max(1, round(self.estimated_wait()))
                raise ServiceError(
                    ErrorKind.EXHAUSTED,
                    f"The model's queue is full ({self.max_queue} images); retry in about {retry} s.",
                    retry_after=retry,
                )
            self._queues[priority].append(ticket)
            self._queued_jobs += len(jobs)
            self._cv.notify()
        return ticket

    def _cancelled(self, ticket: Ticket) -> None:
        with self._cv:
            if ticket.state is State.QUEUED:
                self._drop_dead()
            self._cv.notify()

    def estimated_wait(self) -> float:
        batches = self._queued_jobs / self.max_batch + 1
        return batches * self._last_batch_seconds

    @property
    def queued_jobs(self) -> int:
        return self._queued_jobs

    @property
    def busy(self) -> bool:
        return self._busy

    def depth(self) -> tuple[int, int]:
        """Queued images (interactive, batch): a scrape's reading, without the lock."""
        interactive, batch = (sum(len(t.jobs) for t in list(q)) for q in self._queues)
        return interactive, batch

    def retire(self) -> bool:
        """Close the queue if it is idle (nothing queued, no batch running); False when it is not."""
        with self._cv:
            if self._queued_jobs or self._busy:
                return False
            self._closed = True
            self._cv.notify_all()
            return True

    def close(self, wait: float = 0.0) -> None:
        """Stop the worker once its running batch (if any) ends; wait up to `wait` seconds for it."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if wait:
            self._thread.join(wait)

    # -- the worker ------------------------------------------------------------------------------

    def _drop_dead(self) -> None:
        """Resolve and remove queued tickets that were cancelled or ran out of time."""
        for q in self._queues:
            for t in [t for t in q if not t.live]:
                q.remove(t)
                self._queued_jobs -= len(t.jobs)
                if t.cancelled:
                    t.state = State.CANCELLED
                    t.resolve(None, asyncio.CancelledError())
                else:
                    t.state = State.EXPIRED
                    t.resolve(None, deadline_error())
                JOBS.labels(self.name, t.state.value).inc(len(t.jobs))

    def _head(self) -> Ticket | None:
        for q in self._queues:
            if q:
                return q[0]
        return None

    def _take_batch(self, head: Ticket, queues: tuple[deque[Ticket], ...] | None = None) -> list[Ticket]:
        """Compatible tickets in priority order, whole, up to max_batch jobs."""
        batch, size = [], 0
        for q in queues if queues is not None else self._queues:
            for t in list(q):
                # The head always goes, whole, even when its candidates outnumber a fitted batch.
                if t.key == head.key and (t is head or size + len(t.jobs) <= self.max_batch):
                    batch.append(t)
                    size += len(t.jobs)
                    q.remove(t)
        self._queued_jobs -= size
        return batch

    def _compatible_jobs(self, head: Ticket) -> int:
        return sum(len(t.jobs) for q in self._queues for t in q if t.key == head.key)

    def _fit_now(self) -> None:
        if self._fit is not None:
            try:
                with self.device_lock:
                    size, rates = self._fit(self.backend)
                self.max_batch = max(1, min(self.limit, size))
                log.info("model %s: images/s by batch size %s; batching up to %d",
                         self.name, {n: round(r, 2) for n, r in rates.items()}, self.max_batch)  # fmt: skip
            except Exception:  # a failed measurement leaves the catalog's bound
                log.exception("model %s: could not fit the batch size", self.name)
        self.fitted.set()

    def _run(self) -> None:
        self._fit_now()
        while True:
            trim = False
            with self._cv:
                while True:
                    if self._closed:
                        return
                    self._drop_dead()
                    head = self._head()
                    if head is None:
                        if self._ran and time.monotonic() - self._free_since >= memory.IDLE_SECONDS:
                            self._ran, trim = False, True
                            break
                        self._cv.wait(timeout=memory.IDLE_SECONDS if self._ran else None)
                        continue
                    target = min(self.max_batch, self._last_batch_size)
                    window = self.max_wait
                    if target > 1:
                        window = max(window, min(self.max_busy_wait, self._last_batch_seconds / 4))
                    since = max(head.enqueued_at, self._free_since)
                    remaining = since + window - time.monotonic()
                    if remaining > 0 and self._compatible_jobs(head) < max(target, 2 if window else 1):
                        self._cv.wait(timeout=remaining)
                        continue
                    batch = self._take_batch(head)
                    self._busy = True
                    break
            if trim:  # outside the lock: a submit never waits for it
                memory.release_free_memory()
                self._trimmed_at = time.monotonic()
                continue
            try:
                self._execute(batch)
            finally:
                with self._cv:
                    self._busy = False
                    self._ran = True
            if time.monotonic() - self._trimmed_at >= memory.BUSY_SECONDS:
                # Never idle under steady load: trim now and then between batches all the same, or
                # the allocator's arenas keep growing with the threads that encode and answer.
                memory.release_free_memory()
                self._trimmed_at = time.monotonic()

    def _execute(self, batch: list[Ticket]) -> None:
        try:
            self._run_batch(batch)
        finally:
            self._free_since = time.monotonic()

    def _previews(self, step: Step, jobs: list[ImageJob], owners: list[tuple[Ticket, int]]) -> None:
        """Decode the step's state only when one of its jobs wants a preview now."""
        wanted = [
            n
            for n, pos in enumerate(step.jobs)
            if jobs[pos].previews and step.index in preview_steps(step.total, jobs[pos].previews)
        ]
        if not wanted or step.decode is None:
            return
        try:
            images = step.decode()
        except Exception:  # a preview is a courtesy: its failure must not fail the batch
            log.exception("model %s could not decode a preview", self.name)
            return
        for n in wanted:
            ticket, k = owners[step.jobs[n]]
            if ticket.preview is not None and ticket.live:
                ticket.preview(k, step.index, step.total, images[n])

    def twin(self) -> Backend | None:
        if not self._twin_tried:
            self._twin_tried = True
            try:
                self._twin = self.backend.twin()
            except Exception:  # stepping aside is an optimisation: without it batches run whole
                log.exception("model %s cannot make a twin backend", self.name)
        return self._twin

    def _let_interactive_through(self, twin: Backend) -> None:
        """Between two steps of a batch-priority batch: run every waiting interactive ticket first."""
        while True:
            with self._cv:
                self._drop_dead()
                waiting = self._queues[Priority.INTERACTIVE]
                if not waiting or self._closed:
                    return
                batch = self._take_batch(waiting[0], (waiting,))
            self._run_batch(batch, twin)

    def _run_batch(self, batch: list[Ticket], twin: Backend | None = None) -> None:
        """Run `batch` on the device; `twin` set: it is interactive work run inside a batch's step."""
        backend = twin or self.backend
        jobs = [job for t in batch for job in t.jobs]
        start = time.monotonic()
        for t in batch:
            t.state = State.RUNNING
            t.batch_size = len(jobs)
            QUEUE_WAIT.labels(self.name).observe(start - t.enqueued_at)
        BATCH_SIZE.labels(self.name).observe(len(jobs))

        # Where each job of the batch came from: (ticket, index within the ticket).
        owners = [(t, k) for t in batch for k in range(len(t.jobs))]
        steps_aside = twin is None and all(t.priority is Priority.BATCH for t in batch)

        def on_step(step: Step) -> bool:
            for t in batch:
                if t.progress is not None:
                    t.progress(step.index, step.total)
            self._previews(step, jobs, owners)
            if steps_aside and self._queues[Priority.INTERACTIVE] and (other := self.twin()) is not None:
                self._let_interactive_through(other)
            return any(t.live for t in batch)  # False stops the batch between steps

        try:
            with self.device_lock:  # re-entrant: interactive work may run inside this batch's steps
                images: list[Image.Image] = backend.generate(jobs, on_step)
        except Interrupted:
            INTERRUPTED.labels(self.name).inc()
            images = []
        except Exception as exc:  # a backend failure fails its own tickets, never the worker
            out_of_memory = is_out_of_memory(exc)
            if out_of_memory:
                free_device_memory()
                if len(jobs) > 1 and twin is None:
                    # Smaller batches from now on: the device said this size does not fit.
                    self.max_batch = max(1, min(self.max_batch, len(jobs)) // 2)
                    log.warning("model %s: out of device memory at a batch of %d; batching up to %d now",
                                self.name, len(jobs), self.max_batch)  # fmt: skip
            if len(batch) > 1:
                # Which request it was cannot be told from the exception: each one again, alone, so
                # only the one that fails alone fails (and, out of memory, smaller batches may fit).
                log.warning("model %s failed on a batch of %d requests (%s); running each alone",
                            self.name, len(batch), exc.__class__.__name__)  # fmt: skip
                for t in batch:
                    if t.live:
                        self._run_batch([t], twin)
                    else:
                        self._finish([t], [])
                return
            log.exception("model %s failed on a batch of %d", self.name, len(jobs))
            for t in batch:
                t.state = State.FAILED
                JOBS.labels(self.name, "failed").inc(len(t.jobs))
                if out_of_memory:
                    failure = ServiceError(
                        ErrorKind.UNAVAILABLE, "The device ran out of memory for this request; retry.", retry_after=2
                    )
                else:
                    failure = ServiceError(
                        ErrorKind.INTERNAL, f"The model failed to generate: {exc.__class__.__name__}"
                    )
                t.resolve(None, failure)
            return
        if twin is None:  # the batch-forming targets follow the queue's own batches
            self._last_batch_seconds = time.monotonic() - start
            self._last_batch_size = len(jobs)
        self._finish(batch, images)

    def _finish(self, batch: list[Ticket], images: list[Image.Image]) -> None:
        """Hand each ticket its images (in batch order), or say why it has none."""
        offset = 0
        for t in batch:
            mine = images[offset : offset + len(t.jobs)]
            offset += len(t.jobs)
            if t.cancelled:
                t.state = State.CANCELLED
                t.resolve(None, asyncio.CancelledError())
            elif t.expired() or not mine:
                t.state = State.EXPIRED
                t.resolve(None, deadline_error())
            else:
                t.state = State.DONE
                t.resolve(mine)
            JOBS.labels(self.name, t.state.value).inc(len(t.jobs))


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError (CUDA, and the other devices' which share the name), or the host's."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def free_device_memory() -> None:
    """Give the allocator's cached blocks back after an out-of-memory error, so the next try can use them."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class Engine:
    """A queue per model ID, created on first use; a device lock per pipeline."""

    def __init__(self, max_wait: float, max_queue: int) -> None:
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._queues: dict[str, PipelineQueue] = {}
        self._device_locks: dict[Hashable, threading.RLock] = {}
        self._lock = threading.Lock()

    def device_lock(self, backend: Backend) -> threading.RLock:
        """The lock of the device the backend's weights are on (shared by the backends on them)."""
        with self._lock:
            return self._device_locks.setdefault(backend.weights_id(), threading.RLock())

    def queue_for(
        self,
        model_id: str,
        backend: Backend,
        max_batch: int,
        fit: Callable[[Backend], tuple[int, dict[int, float]]] | None = None,
    ) -> PipelineQueue:
        with self._lock:
            if model_id not in self._queues:
                device_lock = self._device_locks.setdefault(backend.weights_id(), threading.RLock())
                self._queues[model_id] = PipelineQueue(
                    model_id, backend, max_batch, self.max_wait, self.max_queue, device_lock, fit=fit
                )
            return self._queues[model_id]

    def retire(self, model_ids: tuple[str, ...]) -> bool:
        """Close and forget the queues of these models if every one is idle; False (and nothing
        closed) when one is queued or running: its model must not be unloaded now."""
        with self._lock:
            queues = [self._queues[m] for m in model_ids if m in self._queues]
            if any(q.queued_jobs or q.busy for q in queues):
                return False
            retired = [q for q in queues if q.retire()]
            if len(retired) != len(queues):  # one got work meanwhile: reopen nothing, keep all
                for q in retired:
                    self._queues.pop(q.name, None)
                return False
            for m in model_ids:
                self._queues.pop(m, None)
            return True

    def limits(self) -> dict[str, int]:
        """The device batch size of each model with a queue (fitted, or the catalog's bound)."""
        return {name: q.max_batch for name, q in list(self._queues.items())}

    def depths(self) -> dict[str, tuple[int, int]]:
        """Queued images (interactive, batch) by model ID."""
        return {name: q.depth() for name, q in list(self._queues.items())}

    def close(self, wait: float = 0.0) -> None:
        for q in self._queues.values():
            q.close(wait)
