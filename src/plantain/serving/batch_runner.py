"""Running batch jobs: each item through the serving layer at batch priority, its result and its
ledger row committed together (store.batches), then the job's result files, then its state.

A dialect (Gemini's Batch API, OpenAI's) says how an item's stored request becomes a core request
and how a result or an error is written back; everything else is shared, here, by the server's
background runner and by `plantain batch run --ray`'s workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import anyio

from plantain.core.cancel import CancelToken
from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.prices import cost_micro_usd
from plantain.core.requests import GenerationRequest
from plantain.core.results import Result, Usage
from plantain.serving.service import Service
from plantain.serving.webhooks import Notifier
from plantain.store.batches import BatchStore
from plantain.store.files import FileStore
from plantain.store.models import Batch, BatchItem, LedgerRow

log = logging.getLogger("plantain.batches")


class BatchDialect(Protocol):
    name: str  # the batches.dialect column: "gemini" or "openai"

    def to_core(self, entry: ModelEntry, request: str) -> GenerationRequest:
        """An item's stored request (JSON) as a core request at batch priority."""
        ...

    def render(self, request: str, result: Result) -> dict[str, Any]:
        """A served item's response body (`request`: the item's stored request)."""
        ...

    def error(self, error: ServiceError) -> dict[str, Any]:
        """A failed item's error body."""
        ...

    def result_files(self, batch: Batch, items: list[BatchItem]) -> tuple[bytes | None, bytes | None]:
        """The job's result file and error file (JSONL), None for each the dialect does not write."""
        ...


@dataclass(frozen=True)
class Outcome:
    state: str  # "ok" or "error"
    body: dict[str, Any]
    usage: Usage | None
    seconds: float


async def serve_item(service: Service, dialect: BatchDialect, entry: ModelEntry, request: str) -> Outcome:
    """One item through the serving layer; an error fails the item, never the job."""
    started = time.perf_counter()
    try:
        core = dialect.to_core(entry, request)
        result = await service.generate(core, CancelToken(service.settings.request_timeout))
        # A prompt blocked or every image withheld by the safety stage is answered, and not charged.
        usage = None if result.nothing_delivered else result.usage
        return Outcome("ok", dialect.render(request, result), usage, time.perf_counter() - started)
    except ServiceError as exc:
        return Outcome("error", dialect.error(exc), None, time.perf_counter() - started)
    except Exception:  # a bug or a backend failure fails this item alone
        log.exception("batch item on %s", entry.id)
        failure = ServiceError(ErrorKind.INTERNAL, "An internal error has occurred.")
        return Outcome("error", dialect.error(failure), None, time.perf_counter() - started)


def charge_of(batch: Batch, entry: ModelEntry, idx: int, outcome: Outcome) -> LedgerRow | None:
    """The item's ledger row at the catalog's batch price; None for a failed item (it costs nothing)."""
    u = outcome.usage
    if outcome.state != "ok" or u is None:
        return None
    return LedgerRow(
        key_id=batch.key_id, request_id=f"batches/{batch.id}/{idx}", created_at=datetime.now(UTC), model=entry.id,
        dialect=f"{batch.dialect}-batch", images=u.images, size_tier=u.size_tier,
        prompt_text_tokens=u.prompt_text_tokens, prompt_image_tokens=u.prompt_image_tokens,
        output_text_tokens=u.output_text_tokens, output_image_tokens=u.output_image_tokens,
        thought_tokens=u.thought_tokens, cost_micro_usd=cost_micro_usd(entry, u, batch=True), batch=True,
        latency_ms=round(outcome.seconds * 1000), outcome="ok",
    )  # fmt: skip


def record(batches: BatchStore, batch: Batch, entry: ModelEntry, idx: int, outcome: Outcome) -> bool:
    """Commit an item's result with its charge (once: False when it was finished already)."""
    body = json.dumps(outcome.body, separators=(",", ":"))
    return batches.finish(batch.id, idx, outcome.state, body, charge_of(batch, entry, idx, outcome))


def complete(batches: BatchStore, files: FileStore, dialect: BatchDialect, batch: Batch) -> bool:
    """Write the job's result files (whole, before they are listed), then mark it succeeded."""
    results, errors = dialect.result_files(batch, batches.items(batch.id))

    def keep(data: bytes | None, what: str) -> str | None:
        if data is None:
            return None
        return files.put_generated(
            batch.owner, f"batch-{batch.id}-{what}", data, "application/jsonl", "batch_output"
        ).id

    return batches.set_state(batch.id, "BATCH_STATE_SUCCEEDED", keep(results, "results"), keep(errors, "errors"))


class BatchRunner:
    """Runs jobs in the background: takes one by its lease, keeps two device batches of its items
    in flight at batch priority, and completes it; then sends the webhook notices that are due."""

    def __init__(
        self, service: Service, batches: BatchStore, files: FileStore, dialects: list[BatchDialect], concurrency: int
    ) -> None:
        self.service = service
        self.batches = batches
        self.files = files
        self.dialects = {d.name: d for d in dialects}
        self.concurrency = concurrency
        self.name = f"runner-{secrets.token_hex(6)}"
        # A job whose server stops renewing this lease (it died) is taken over by another.
        self.lease = timedelta(seconds=service.settings.batch_lease_seconds)
        self.notifier = Notifier(batches, service.settings)
        self.event = asyncio.Event()

    def wake(self) -> None:
        self.event.set()

    async def run(self) -> None:
        while True:
            try:
                batch = await anyio.to_thread.run_sync(self.batches.claim, self.name, self.lease)
                if batch is not None:
                    await self.run_batch(batch)
                    continue
                await self.notifier.send_due()
            except Exception:  # a database hiccup must not end the runner; the job stays leased
                log.exception("batch runner")
            self.event.clear()
            with contextlib.suppress(TimeoutError):  # a lapsed lease elsewhere is noticed within 2 s
                await asyncio.wait_for(self.event.wait(), timeout=2.0)

    async def run_batch(self, batch: Batch, on_item: Callable[[bool], None] | None = None) -> bool:
        """Run the job's pending items and complete it; `on_item(ok)` after each item is recorded.
        False when it did not complete here (cancelled, deleted or taken over)."""
        dialect = self.dialects.get(batch.dialect)
        entry = self.service.catalog.get(batch.model)
        if entry is None or dialect is None:  # the catalog no longer has its model: it can never run
            log.error("batches/%s: model %s is not in the catalog; the job fails", batch.id, batch.model)
            await anyio.to_thread.run_sync(self.batches.set_state, batch.id, "BATCH_STATE_FAILED")
            return False
        # Two device batches' worth in flight: the next batch is queued while one runs, so the
        # device never waits for the runner.
        window = 2 * self.concurrency
        renewed = time.monotonic()

        async def one(item: BatchItem) -> None:
            outcome = await serve_item(self.service, dialect, entry, item.request)
            await anyio.to_thread.run_sync(record, self.batches, batch, entry, item.idx, outcome)
            if on_item is not None:
                on_item(outcome.state == "ok")

        while pending := await anyio.to_thread.run_sync(self.batches.items, batch.id, "pending"):
            running: set[asyncio.Task[None]] = set()
            for item in pending:
                if time.monotonic() - renewed > self.lease.total_seconds() / 3:
                    if not await anyio.to_thread.run_sync(self.batches.renew, batch.id, self.name, self.lease):
                        await asyncio.gather(*running, return_exceptions=True)
                        return False  # cancelled, deleted or taken over: finished items keep their results
                    renewed = time.monotonic()
                running.add(asyncio.ensure_future(one(item)))
                if len(running) >= window:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # the database went away: the runner retries the job later
            # An item whose result could not be stored is still pending: it runs again.
            await asyncio.gather(*running)
        completed = False
        if await anyio.to_thread.run_sync(self.batches.renew, batch.id, self.name, self.lease):
            completed = await anyio.to_thread.run_sync(complete, self.batches, self.files, dialect, batch)
        await self.notifier.send_due()
        return completed
