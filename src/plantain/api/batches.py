"""Gemini's Batch API: jobs created from inlined requests or an uploaded JSONL file, run in the
background at batch priority by whichever server holds the job's lease, each item's result and
ledger row committed together (store.batches), results inline or as a generated JSONL file.

The runner lives here, beside the routes, because a batch item is a Gemini request: it is parsed,
served and rendered by the same dialect code as an interactive one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from plantain.api.deps import require_key
from plantain.api.files import files_of, owner_of
from plantain.api.pages import next_token, page_start
from plantain.core.cancel import CancelToken
from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument, not_found
from plantain.core.jobs import Priority
from plantain.core.prices import cost_micro_usd
from plantain.protocol import gemini as wire
from plantain.serving.service import Service
from plantain.store.batches import TERMINAL, BatchStore, NewItem
from plantain.store.files import FileStore
from plantain.store.models import Batch, BatchItem, LedgerRow

log = logging.getLogger("plantain.batches")
router = APIRouter(dependencies=[Depends(require_key)])


def batches_of(request: Request) -> BatchStore:
    store: BatchStore = request.app.state.batches
    return store


async def create(request: Request, entry: ModelEntry, body: Any) -> JSONResponse:
    """`models/{model}:batchGenerateContent`: every request checked now; the job runs later."""
    spec = wire.parse_batch_create(body).batch
    if spec.model and spec.model.removeprefix("models/") not in (entry.id, *entry.aliases):
        raise invalid_argument(f"batch.model {spec.model!r} is not the model in the URL", "batch.model")
    owner = owner_of(request)
    cfg = spec.input_config
    items: list[NewItem] = []
    input_file = None
    if cfg.requests is not None:
        for i, item in enumerate(cfg.requests.requests):
            key = (item.metadata or {}).get("key", str(i))
            request_json = item.request.model_dump_json(by_alias=True, exclude_none=True)
            items.append(NewItem(key, request_json, json.dumps(item.metadata) if item.metadata else None))
    else:
        assert cfg.file_name is not None
        input_file = cfg.file_name.removeprefix("files/")
        found = await anyio.to_thread.run_sync(files_of(request).read, owner, input_file)
        if found is None:
            raise not_found(f"File {cfg.file_name} does not exist.")
        seen: set[str] = set()
        for number, line in enumerate(found[1].decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            key, parsed = wire.parse_batch_line(line, number)
            if key in seen:
                raise invalid_argument(f"line {number} of the input file repeats the key {key!r}")
            seen.add(key)
            items.append(NewItem(key, parsed.model_dump_json(by_alias=True, exclude_none=True), None))
        if not items:
            raise invalid_argument(f"the input file {cfg.file_name} holds no requests")
    for new in items:  # every request must be one this model can take: refuse the job now, not later
        wire.to_core(entry.id, wire.parse_generate(json.loads(new.request)), Priority.BATCH, files={})
    caller = getattr(request.state, "key", None)
    key_id = caller.id if caller is not None else None
    echo = cfg.model_dump(by_alias=True, exclude_none=True)
    batch = await anyio.to_thread.run_sync(
        lambda: batches_of(request).create(
            owner, key_id, entry.id, spec.display_name or "", json.dumps(echo), input_file, items
        )
    )
    request.app.state.batch_runner.wake()
    return JSONResponse(await operation(request, batch))


async def operation(request: Request, batch: Batch) -> dict[str, Any]:
    store = batches_of(request)
    counts = await anyio.to_thread.run_sync(store.counts, batch.id)
    output: dict[str, Any] | None = None
    if batch.state in TERMINAL and batch.state != "BATCH_STATE_FAILED":
        if batch.input_file is None:
            items = await anyio.to_thread.run_sync(store.items, batch.id)
            output = {"inlinedResponses": {"inlinedResponses": [inlined(item) for item in items if item.result]}}
        elif batch.output_file is not None:
            output = {"responsesFile": f"files/{batch.output_file}"}
    return wire.batch_operation(
        batch.id, batch.model, batch.display_name, batch.state, json.loads(batch.input_config), batch.created_at,
        batch.updated_at, batch.end_at, counts.total, counts.ok, counts.failed, output,
    )  # fmt: skip


def inlined(item: BatchItem) -> dict[str, Any]:
    result = json.loads(item.result or "{}")
    out: dict[str, Any] = {"response": result} if item.state == "ok" else {"error": result}
    if item.item_metadata:
        out["metadata"] = json.loads(item.item_metadata)
    return out


def result_line(item: BatchItem) -> str:
    kind = "response" if item.state == "ok" else "error"
    return json.dumps({"key": item.item_key, kind: json.loads(item.result or "{}")}, separators=(",", ":"))


def batch_id_of(name: str) -> tuple[str, str]:
    batch_id, _, method = name.partition(":")
    return batch_id, method


@router.get("/batches/{name}")
async def get_batch(request: Request, name: str) -> JSONResponse:
    batch_id, _ = batch_id_of(name)
    batch = await anyio.to_thread.run_sync(batches_of(request).get, owner_of(request), batch_id)
    if batch is None:
        raise not_found(f"Batch batches/{batch_id} does not exist.")
    return JSONResponse(await operation(request, batch))


@router.get("/batches")
async def list_batches(request: Request, pageSize: int = 50, pageToken: str = "") -> JSONResponse:
    size = min(max(pageSize, 1), 1000)
    start = page_start(pageToken)
    rows, more = await anyio.to_thread.run_sync(batches_of(request).page, owner_of(request), start, size)
    body: dict[str, Any] = {"operations": [await operation(request, b) for b in rows]} if rows else {}
    if more:
        body["nextPageToken"] = next_token(start + size)
    return JSONResponse(body)


@router.post("/batches/{name}")
async def batch_method(request: Request, name: str) -> JSONResponse:
    batch_id, method = batch_id_of(name)
    if method != "cancel":
        raise ServiceError(ErrorKind.NOT_FOUND, f"Method not found: batches/{name}")
    store = batches_of(request)
    batch = await anyio.to_thread.run_sync(store.get, owner_of(request), batch_id)
    if batch is None:
        raise not_found(f"Batch batches/{batch_id} does not exist.")
    if not await anyio.to_thread.run_sync(store.set_state, batch_id, "BATCH_STATE_CANCELLED"):
        raise invalid_argument(f"batches/{batch_id} has finished ({batch.state}) and cannot be cancelled")
    return JSONResponse({})


@router.delete("/batches/{name}")
async def delete_batch(request: Request, name: str) -> JSONResponse:
    batch_id, _ = batch_id_of(name)
    store = batches_of(request)
    await anyio.to_thread.run_sync(store.set_state, batch_id, "BATCH_STATE_CANCELLED")
    if not await anyio.to_thread.run_sync(store.delete, owner_of(request), batch_id):
        raise not_found(f"Batch batches/{batch_id} does not exist.")
    return JSONResponse({})


class BatchRunner:
    """Runs jobs in the background: takes one by its lease, runs its pending items a device batch
    at a time at batch priority, and finishes it (the result file first, then the state)."""

    def __init__(self, service: Service, batches: BatchStore, files: FileStore, concurrency: int) -> None:
        self.service = service
        self.batches = batches
        self.files = files
        self.concurrency = concurrency
        self.name = f"runner-{secrets.token_hex(6)}"
        # A job whose server stops renewing this lease (it died) is taken over by another.
        self.lease = timedelta(seconds=service.settings.batch_lease_seconds)
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
            except Exception:  # a database hiccup must not end the runner; the job stays leased
                log.exception("batch runner")
            self.event.clear()
            with contextlib.suppress(TimeoutError):  # a lapsed lease elsewhere is noticed within 2 s
                await asyncio.wait_for(self.event.wait(), timeout=2.0)

    async def run_batch(self, batch: Batch) -> None:
        entry = self.service.entry(batch.model)
        # Two device batches' worth in flight: the next batch is queued while one runs, so the
        # device never waits for the runner.
        window = 2 * self.concurrency
        renewed = time.monotonic()
        while pending := await anyio.to_thread.run_sync(self.batches.items, batch.id, "pending"):
            running: set[asyncio.Task[None]] = set()
            for item in pending:
                if time.monotonic() - renewed > self.lease.total_seconds() / 3:
                    if not await anyio.to_thread.run_sync(self.batches.renew, batch.id, self.name, self.lease):
                        await asyncio.gather(*running, return_exceptions=True)
                        return  # cancelled, deleted or taken over: finished items keep their results
                    renewed = time.monotonic()
                running.add(asyncio.ensure_future(self.run_item(batch, entry, item)))
                if len(running) >= window:
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()  # the database went away: the runner retries the job later
            # An item whose result could not be stored is still pending: it runs again.
            await asyncio.gather(*running)
        if await anyio.to_thread.run_sync(self.batches.renew, batch.id, self.name, self.lease):
            await self.finish(batch)

    async def finish(self, batch: Batch) -> None:
        output = None
        if batch.input_file is not None:
            items = await anyio.to_thread.run_sync(self.batches.items, batch.id)
            lines = [result_line(i) for i in items]
            data = ("\n".join(lines) + "\n").encode()
            made = await anyio.to_thread.run_sync(
                self.files.put_generated, batch.owner, f"batch-{batch.id}-results", data, "application/jsonl"
            )
            output = made.id
        await anyio.to_thread.run_sync(self.batches.set_state, batch.id, "BATCH_STATE_SUCCEEDED", output)

    async def run_item(self, batch: Batch, entry: ModelEntry, item: BatchItem) -> None:
        started = datetime.now(UTC)
        charge: LedgerRow | None = None
        try:
            core = wire.to_core(entry.id, wire.parse_generate(json.loads(item.request)), Priority.BATCH, files={})
            result = await self.service.generate(core, CancelToken(self.service.settings.request_timeout))
            state, body = "ok", wire.from_core(result, secrets.token_urlsafe(18))
            u = result.usage
            charge = LedgerRow(
                key_id=batch.key_id, request_id=f"batches/{batch.id}/{item.idx}", created_at=datetime.now(UTC),
                model=entry.id, dialect="gemini-batch", images=u.images, size_tier=u.size_tier,
                prompt_text_tokens=u.prompt_text_tokens, prompt_image_tokens=u.prompt_image_tokens,
                output_text_tokens=u.output_text_tokens, output_image_tokens=u.output_image_tokens,
                thought_tokens=u.thought_tokens, cost_micro_usd=cost_micro_usd(entry, u, batch=True), batch=True,
                latency_ms=round((datetime.now(UTC) - started).total_seconds() * 1000), outcome="ok",
            )  # fmt: skip
        except ServiceError as exc:
            state, body = "error", wire.item_error(exc)
        except Exception:  # a bug or a backend failure fails this item, not the job
            log.exception("batch %s item %d", batch.id, item.idx)
            state, body = "error", wire.item_error(ServiceError(ErrorKind.INTERNAL, "An internal error has occurred."))
        await anyio.to_thread.run_sync(
            self.batches.finish, batch.id, item.idx, state, json.dumps(body, separators=(",", ":")), charge
        )
