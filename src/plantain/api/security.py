"""What every response says about itself to browsers, and the brake on guessing keys.

Headers: no MIME sniffing, never framed, no referrer, and for everything but the playground's own
pages (which set their own policy) a Content-Security-Policy that lets a response load nothing.

Failed authentications are counted per client address; past PLANTAIN_AUTH_FAILURES_PER_MINUTE in a
minute, that address gets 429s (with Retry-After) until the minute has passed, before any key is looked up.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantain.core.errors import ErrorKind, ServiceError

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in HEADERS if h[0] not in names]
                if API_POLICY[0] not in names:
                    headers.append(API_POLICY)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class AuthFailures:
    """Failed authentications per client address in the last minute (thread-safe: keys are checked
    in worker threads)."""

    WINDOW = 60.0

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.lock = threading.Lock()
        self.failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self.failures[client]
        while times and times[0] <= now - self.WINDOW:
            times.popleft()
        return times

    def check(self, client: str) -> None:
        """A 429 for an address that failed too often in the last minute."""
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self.lock:
            times = self._recent(client, now)
            if len(times) >= self.per_minute:
                raise ServiceError(
                    ErrorKind.EXHAUSTED,
                    "Too many failed authentications from this address; try again later.",
                    retry_after=times[0] + self.WINDOW - now,
                )
            if not times:
                del self.failures[client]  # an address forgiven leaves nothing behind

    def failed(self, client: str) -> None:
        if self.per_minute <= 0:
            return
        with self.lock:
            self._recent(client, time.monotonic()).append(time.monotonic())
