"""Gemini's Batch API: jobs created from inlined requests or an uploaded JSONL file, run in the
background at batch priority by whichever server holds the job's lease (serving.batch_runner), each
item's result and ledger row committed together, results inline or as a generated JSONL file.

`GeminiBatches` is the runner's view of this dialect: an item is a Gemini request, parsed and
rendered by the same code as an interactive one.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from plantain.api.deps import account_of, batches_of, files_of, owner_of, require_key, service
from plantain.api.pages import next_token, page_start
from plantain.core.catalog import ModelEntry
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument, not_found
from plantain.core.jobs import Priority
from plantain.core.requests import GenerationRequest
from plantain.core.results import Result
from plantain.protocol import gemini as wire
from plantain.serving.accounting import check_model_allowed
from plantain.serving.webhooks import allowed
from plantain.store.batches import TERMINAL, NewItem
from plantain.store.models import Batch, BatchItem

log = logging.getLogger("plantain.batches")
router = APIRouter(dependencies=[Depends(require_key)])


class GeminiBatches:
    name = "gemini"

    def to_core(self, entry: ModelEntry, request: str) -> GenerationRequest:
        return wire.to_core(entry.id, wire.parse_generate(json.loads(request)), Priority.BATCH, files={})

    def render(self, request: str, result: Result) -> dict[str, Any]:
        return wire.from_core(result, secrets.token_urlsafe(18))

    def error(self, error: ServiceError) -> dict[str, Any]:
        return wire.item_error(error)

    def result_files(self, batch: Batch, items: list[BatchItem]) -> tuple[bytes | None, bytes | None]:
        if batch.input_file is None:
            return None, None  # inlined requests: the results are inlined in the job
        return ("\n".join(result_line(i) for i in items) + "\n").encode(), None


def items_of_file(data: bytes, name: str) -> list[NewItem]:
    """The requests of a JSONL input file (`{"key": ..., "request": ...}` a line), keys unique."""
    items: list[NewItem] = []
    seen: set[str] = set()
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        key, parsed = wire.parse_batch_line(line, number)
        if key in seen:
            raise invalid_argument(f"line {number} of the input file repeats the key {key!r}")
        seen.add(key)
        items.append(NewItem(key, parsed.model_dump_json(by_alias=True, exclude_none=True), None))
    if not items:
        raise invalid_argument(f"the input file {name} holds no requests")
    return items


def check_items(entry: ModelEntry, items: list[NewItem]) -> None:
    """Every request must be one this model can take: a job is refused whole, now, not item by item later."""
    for new in items:
        wire.to_core(entry.id, wire.parse_generate(json.loads(new.request)), Priority.BATCH, files={})


async def create(request: Request, asked: str, entry: ModelEntry, body: Any) -> JSONResponse:
    """`models/{model}:batchGenerateContent`: every request checked now; the job runs later. Batch
    items are charged at the batch price but not held to the key's quotas (they wait their turn)."""
    check_model_allowed(account_of(request, "gemini"), asked, entry)
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
        items = items_of_file(found[1], cfg.file_name)
    check_items(entry, items)
    caller = getattr(request.state, "key", None)
    key_id = caller.id if caller is not None else None
    echo = cfg.model_dump(by_alias=True, exclude_none=True)
    webhook = None
    if spec.webhook_config is not None and spec.webhook_config.uris:
        webhook = spec.webhook_config.model_dump_json()
        hosts = service(request).settings.webhook_allowed
        if refused := [u for u in spec.webhook_config.uris if not allowed(u, hosts)]:
            log.warning("batch webhook URLs outside PLANTAIN_WEBHOOK_HOSTS will not be notified: %s", refused)
    batch = await anyio.to_thread.run_sync(
        lambda: batches_of(request).create(
            owner, key_id, entry.id, spec.display_name or "", json.dumps(echo), input_file, items, "gemini", webhook
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
    if batch is None or batch.dialect != "gemini":
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
    if batch is None or batch.dialect != "gemini":
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
