"""Admin routes over the store: keys (admin keys only) and usage (admin keys: everyone's; other
stored keys: their own). Handlers are plain functions: FastAPI runs them in worker threads, where
the database calls belong."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import anyio
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from plantain.api.deps import require_key, service
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument, not_found
from plantain.core.prices import usd
from plantain.store.keys import KeyInfo, KeyProblem, KeyStore, Limits
from plantain.store.reports import usage_report

router = APIRouter(dependencies=[Depends(require_key)])


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    rpm: int | None = Field(default=None, ge=1)
    images_per_day: int | None = Field(default=None, ge=1)
    budget_usd: float | None = Field(default=None, ge=0)
    models: list[str] | None = None
    admin: bool = False


def keystore(request: Request) -> KeyStore:
    store: KeyStore = request.app.state.keys
    return store


def caller(request: Request) -> KeyInfo:
    info: KeyInfo | None = getattr(request.state, "key", None)
    if info is None:
        raise ServiceError(
            ErrorKind.PERMISSION_DENIED, "The admin routes need a key from the store (plantain keys create)."
        )
    return info


def admin_only(request: Request) -> KeyInfo:
    info = caller(request)
    if not info.admin:
        raise ServiceError(ErrorKind.PERMISSION_DENIED, f"The key {info.name!r} is not an admin key.")
    return info


@router.get("/admin/keys")
def list_keys(request: Request) -> dict[str, Any]:
    admin_only(request)
    keys = [
        {
            "name": row.name,
            "prefix": f"pk-{row.prefix}",
            "admin": row.admin,
            "live": live,
            "created": row.created_at.isoformat(),
            "rpm": row.rpm,
            "imagesPerDay": row.images_per_day,
            "budgetUsd": usd(row.budget_micro_usd) if row.budget_micro_usd is not None else None,
            "models": row.models.split(",") if row.models else None,
        }
        for row, live in keystore(request).list()
    ]
    return {"keys": keys}


@router.post("/admin/keys")
def create_key(request: Request, body: NewKey) -> dict[str, Any]:
    admin_only(request)
    budget = round(body.budget_usd * 1_000_000) if body.budget_usd is not None else None
    limits = Limits(body.rpm, body.images_per_day, budget, tuple(body.models) if body.models else None)
    try:
        info, secret = keystore(request).create(body.name, limits, body.admin)
    except KeyProblem as exc:
        raise invalid_argument(str(exc), "name") from exc
    return {"name": info.name, "key": secret}


@router.delete("/admin/keys/{name}")
def revoke_key(request: Request, name: str) -> dict[str, Any]:
    admin_only(request)
    try:
        keystore(request).revoke(name)
    except KeyProblem as exc:
        raise not_found(str(exc)) from exc
    return {"name": name, "revoked": True}


@router.get("/admin/usage")
def usage(
    request: Request, by: Literal["model", "day", "key"] = "model", key: str | None = None, since: str | None = None
) -> dict[str, Any]:
    info = caller(request)
    key_id: int | None = info.id
    if info.admin:
        key_id = None
        if key is not None:
            found = [row.id for row, _ in keystore(request).list() if row.name == key]
            if not found:
                raise not_found(f"no key is named {key!r}")
            key_id = found[0]
    elif key is not None and key != info.name:
        raise not_found(f"no key is named {key!r}")  # not "forbidden": that would say it exists
    start = None
    if since is not None:
        try:
            start = datetime.strptime(since, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            raise invalid_argument(f"since must be a date like 2026-12-01 (got {since!r})", "since") from exc
    lines = usage_report(keystore(request).db, by, key_id, start)
    return {
        "by": by,
        "usage": [
            {
                "group": x.group,
                "requests": x.requests,
                "images": x.images,
                "inputTokens": x.input_tokens,
                "outputTokens": x.output_tokens,
                "costUsd": usd(x.cost_micro_usd),
            }
            for x in lines
        ],
        "totalCostUsd": usd(sum(x.cost_micro_usd for x in lines)),
    }


def models_body(request: Request) -> dict[str, Any]:
    svc = service(request)
    resident = {entry_id: pipe for pipe in svc.resident() for entry_id in pipe.entries}
    rows = []
    for entry in svc.catalog.models.values():
        pipe = resident.get(entry.id)
        row: dict[str, Any] = {"id": entry.id, "loaded": pipe is not None}
        if pipe is not None:
            row["memoryBytes"] = pipe.bytes
            row["sharesWeightsWith"] = [e for e in pipe.entries if e != entry.id]
            row["batchLimit"] = svc.batch_sizes.get(entry.id)
        rows.append(row)
    used = sum(p.bytes for p in svc.resident())
    return {"models": rows, "memoryBytes": used, "budgetBytes": int(svc.settings.device_memory) or None}


@router.get("/admin/models")
def list_models(request: Request) -> dict[str, Any]:
    """What is loaded and the memory its weights take, against PLANTAIN_DEVICE_MEMORY."""
    admin_only(request)
    return models_body(request)


@router.post("/admin/models/{name}")
async def model_action(request: Request, name: str) -> dict[str, Any]:
    """`{id}:load` loads a model now (fitting it to the budget); `{id}:unload` unloads it, unless it
    is at work (503 with a retry time: its queue is not empty yet)."""
    await anyio.to_thread.run_sync(admin_only, request)
    model, _, action = name.partition(":")
    svc = service(request)
    entry = svc.entry(model)
    if action == "load":
        await svc.warm(entry)
    elif action == "unload":
        if not await anyio.to_thread.run_sync(svc.unload, entry):
            raise ServiceError(
                ErrorKind.UNAVAILABLE, f"Model {entry.id} is at work (queued or on the device); retry.", retry_after=2
            )
    else:
        raise not_found(f"Method not found: {name}; use {model}:load or {model}:unload")
    return await anyio.to_thread.run_sync(models_body, request)
