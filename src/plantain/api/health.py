"""Liveness and readiness, for load balancers and orchestrators: /healthz answers while the process
runs; /readyz only when the database answers and the models named in PLANTAIN_PRELOAD are loaded."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from plantain.api.deps import service
from plantain.store.db import Database

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "alive"}


def database_answers(db: Database) -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure to answer means not ready; the reason is in the server's log
        return False


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    svc = service(request)
    loaded = set(svc.loaded())
    waiting = [m for m in svc.settings.preload_models if (e := svc.catalog.get(m)) is None or e.id not in loaded]
    database = await anyio.to_thread.run_sync(database_answers, request.app.state.database)
    body: dict[str, Any] = {
        "status": "ready" if database and not waiting else "not ready",
        "database": "ok" if database else "unreachable",
        "loaded": sorted(loaded),
    }
    if waiting:
        body["loading"] = waiting
    return JSONResponse(body, status_code=200 if body["status"] == "ready" else 503)
