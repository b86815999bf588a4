"""A request's life on the HTTP side: its cancellation token, its deadline, and noticing that the
client has gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from fastapi import Request

from plantain.core.cancel import CancelToken
from plantain.core.errors import ErrorKind, ServiceError, invalid_argument
from plantain.core.settings import Settings

T = TypeVar("T")


def cancel_token(request: Request, settings: Settings) -> CancelToken:
    """A token whose deadline is `X-Server-Timeout` (what the SDK sends for its timeout), at most
    the server's own request timeout."""
    timeout = settings.request_timeout
    header = request.headers.get("x-server-timeout")
    if header:
        try:
            timeout = min(timeout, float(header))
        except ValueError as exc:
            raise invalid_argument("X-Server-Timeout must be a number of seconds", "x-server-timeout") from exc
    return CancelToken(timeout)


@asynccontextmanager
async def cancelled_on_disconnect(request: Request, token: CancelToken) -> AsyncIterator[CancelToken]:
    """Cancel `token` if the client disconnects while the block runs (the body is already read, so
    only a disconnect can arrive)."""

    async def watch() -> None:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                token.cancel()
                return

    watcher = asyncio.ensure_future(watch())
    try:
        yield token
    finally:
        watcher.cancel()


async def answered(request: Request, token: CancelToken, work: Callable[[], Awaitable[T]]) -> T | None:
    """The work's answer, or None when the client went away before it (nobody is there to read a
    reply: the router answers 499)."""
    async with cancelled_on_disconnect(request, token):
        try:
            return await work()
        except ServiceError as exc:
            if exc.kind is ErrorKind.CANCELLED:
                return None
            raise
