"""A request body must keep arriving: a client that stalls or trickles (a slow-loris) is answered
408 in the route's own format instead of holding a connection and a worker for ever.

The allowance is a 10 s grace plus one second for each PLANTAIN_MIN_BODY_RATE bytes received, so a
2 GB upload at a few MB/s goes through while a body sent a byte a second is cut off after about 10 s.
Once the body is complete the app reads `receive` unhindered (it waits there to hear a client leave).
"""

from __future__ import annotations

import time

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantain.core.errors import ErrorKind, ServiceError

GRACE = 10.0


class SlowBody:
    def __init__(self, app: ASGIApp, min_rate: int) -> None:
        self.app = app
        self.min_rate = min_rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        allowance = GRACE
        complete = False

        async def timed() -> Message:
            nonlocal allowance, complete
            if complete:
                return await receive()
            remaining = started + allowance - time.monotonic()
            message = None
            if remaining > 0:
                with anyio.move_on_after(remaining):
                    message = await receive()
            if message is None:
                raise ServiceError(
                    ErrorKind.SLOW_BODY,
                    f"The request body did not arrive in time (at least {self.min_rate:,} bytes a second).",
                )
            if message["type"] == "http.request":
                allowance += len(message.get("body", b"")) / self.min_rate
                complete = not message.get("more_body", False)
            else:
                complete = True  # the client has gone: nothing more to time
            return message

        await self.app(scope, timed, send)
