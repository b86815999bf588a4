"""What every router takes from a request: the service, the caller's key, the priority asked for."""

from __future__ import annotations

from fastapi import Request

from plantain.api.auth import check_key
from plantain.core.errors import invalid_argument
from plantain.core.jobs import Priority
from plantain.core.prices import usd
from plantain.core.results import Result
from plantain.serving.accounting import Account
from plantain.serving.service import Service
from plantain.store.batches import BatchStore
from plantain.store.files import FileStore
from plantain.store.keys import KeyInfo


def service(request: Request) -> Service:
    svc: Service = request.app.state.service
    return svc


def files_of(request: Request) -> FileStore:
    store: FileStore = request.app.state.files
    return store


def batches_of(request: Request) -> BatchStore:
    store: BatchStore = request.app.state.batches
    return store


def owner_of(request: Request) -> str:
    """Who owns the files and batch jobs a request makes: its stored key, or "env" for the others."""
    key = getattr(request.state, "key", None)
    return f"key:{key.id}" if key is not None else "env"


def require_key(request: Request) -> KeyInfo | None:
    """A router dependency (run in a worker thread: it may read the store)."""
    info = check_key(request, service(request).settings, getattr(request.app.state, "keys", None))
    request.state.key = info
    return info


def priority_of(request: Request) -> Priority:
    value = request.headers.get("x-plantain-priority", "interactive").lower()
    if value not in ("interactive", "batch"):
        raise invalid_argument("x-plantain-priority must be 'interactive' or 'batch'", "x-plantain-priority")
    return Priority.BATCH if value == "batch" else Priority.INTERACTIVE


def account_of(request: Request, dialect: str) -> Account:
    """The request's accounting identity: its key (checked by `require_key`), dialect and id."""
    return Account(getattr(request.state, "key", None), dialect, getattr(request.state, "request_id", ""))


def cost_headers(result: Result) -> dict[str, str]:
    headers = {"x-plantain-model": result.model}
    if result.batch_size:
        headers["x-plantain-batch-size"] = str(result.batch_size)
    if result.cost_micro_usd is not None:
        headers["x-plantain-cost-usd"] = usd(result.cost_micro_usd)
    return headers
