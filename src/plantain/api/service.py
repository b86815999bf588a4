"""What the routers share: settings, catalog, backends and the engine, and running a plan through
the engine without blocking the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import anyio
from fastapi import Request

from plantain.backends.base import BackendUnavailable
from plantain.backends.registry import BackendRegistry
from plantain.core.catalog import Catalog
from plantain.core.plan import Plan
from plantain.engine.scheduler import Engine, deadline_error
from plantain.engine.tickets import Priority, Ticket
from plantain.errors import ApiError
from plantain.imaging.encode import encode_png
from plantain.protocol.gemini import image_part
from plantain.settings import Settings
from plantain.text.base import TextBackend
from plantain.text.factory import make_text_backend


class ClientGone(Exception):
    """The client disconnected; its work was dropped."""


@dataclass
class Service:
    settings: Settings
    catalog: Catalog
    backends: BackendRegistry
    engine: Engine = field(init=False)
    pool: ThreadPoolExecutor = field(init=False)
    text: TextBackend = field(init=False)

    def __post_init__(self) -> None:
        self.text = make_text_backend(self.settings)
        self.engine = Engine(self.settings.max_wait_ms / 1000, self.settings.max_queue)
        self.pool = ThreadPoolExecutor(self.settings.encode_workers, thread_name_prefix="plantain-encode")

    def close(self) -> None:
        self.engine.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def deadline(self, request: Request) -> float:
        timeout = self.settings.request_timeout
        header = request.headers.get("x-server-timeout")
        if header:
            try:
                timeout = min(timeout, float(header))
            except ValueError as exc:
                raise ApiError(400, "INVALID_ARGUMENT", "X-Server-Timeout must be a number of seconds") from exc
        return time.monotonic() + timeout

    async def submit(self, plan: Plan, priority: Priority, deadline: float) -> Ticket:
        # Loading a model the first time is slow work too: off the loop.
        try:
            backend = await anyio.to_thread.run_sync(self.backends.get, plan.entry)
        except BackendUnavailable as exc:
            raise ApiError(503, "UNAVAILABLE", f"Model {plan.entry.id} is unavailable: {exc}") from exc
        queue = self.engine.queue_for(plan.entry.id, backend, plan.entry.max_batch)
        return queue.submit(plan.jobs, priority, deadline, asyncio.get_running_loop())

    async def wait(self, ticket: Ticket, request: Request | None) -> list[object]:
        """The ticket's images; cancels it when the client goes away or its deadline passes."""
        waiters: set[asyncio.Future[object]] = {ticket.future}  # type: ignore[arg-type]
        gone = asyncio.ensure_future(_disconnected(request)) if request is not None else None
        if gone is not None:
            waiters.add(gone)
        try:
            timeout = None if ticket.deadline is None else max(0.0, ticket.deadline - time.monotonic())
            done, _ = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            ticket.cancel()
            raise
        finally:
            if gone is not None:
                gone.cancel()
        if ticket.future in done:
            return ticket.future.result()  # type: ignore[return-value]
        ticket.cancel()
        if gone is not None and gone in done:
            raise ClientGone()
        raise deadline_error()

    async def encode(self, images: list[object], model_id: str) -> list[dict[str, object]]:
        loop = asyncio.get_running_loop()

        def one(image: object) -> dict[str, object]:
            png = encode_png(image, self.settings.png_compress_level)  # type: ignore[arg-type]
            return image_part(png, "image/png", self.signature(png, model_id))

        return list(await asyncio.gather(*(loop.run_in_executor(self.pool, one, im) for im in images)))

    def signature(self, png: bytes, model_id: str) -> bytes:
        """A thoughtSignature: HMAC of the image and the model, so a returning image can be told ours."""
        digest = hashlib.sha256(png).digest() + model_id.encode()
        return hmac.new(self.settings.signature_secret.encode(), digest, hashlib.sha256).digest()


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body is already read, so only a disconnect can come)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
