"""Streaming a request's events (thoughts, previews) and then its result, with every error that can
come before the first byte answered as an ordinary error reply.

The service runs as a task and hands events to a feed. The router waits for whichever comes first:
an event (the stream starts) or the task's end (a failure is then a plain error reply in the
route's format, a success one final chunk). Once the stream has started, a failure can only be told
inside it, in the dialect's own error event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from plantain.core.cancel import CancelToken
from plantain.core.results import Event, Result


class EventFeed:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    def push(self, event: Event) -> None:
        self.queue.put_nowait(event)


class Run:
    """A service call running as a task, with its events."""

    def __init__(self, call: Callable[[EventFeed], Awaitable[Result]], token: CancelToken) -> None:
        self.feed = EventFeed()
        self.token = token
        self.task: asyncio.Task[Result] = asyncio.ensure_future(call(self.feed))

    async def _next(self) -> Event | None:
        """The next event, or None once the task is over and every event has been taken."""
        if not self.feed.queue.empty():
            return self.feed.queue.get_nowait()
        if self.task.done():
            return None
        getter = asyncio.ensure_future(self.feed.queue.get())
        try:
            await asyncio.wait({self.task, getter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter.done() and not getter.cancelled():
            return getter.result()
        return self.feed.queue.get_nowait() if not self.feed.queue.empty() else None

    async def first(self) -> Event | None:
        """The first event; None when the call ended without one (its error, if any, is raised)."""
        event = await self._next()
        if event is None:
            self.task.result()
        return event

    async def rest(self, first: Event | None) -> AsyncIterator[Event | Result]:
        """`first`, every later event, then the result (or the call's error, raised)."""
        try:
            if first is not None:
                yield first
            while (event := await self._next()) is not None:
                yield event
            yield self.task.result()
        finally:
            # The client went away mid-stream, or the stream ended: nothing may keep running for it.
            if not self.task.done():
                self.token.cancel()
                self.task.cancel()

    def abandon(self) -> None:
        if not self.task.done():
            self.token.cancel()
            self.task.cancel()


async def started(call: Callable[[EventFeed], Awaitable[Result]], token: CancelToken) -> tuple[Run, Event | None]:
    """A run and its first event; a run that fails before one is abandoned and its error raised,
    to be answered as an ordinary error reply."""
    run = Run(call, token)
    try:
        return run, await run.first()
    except BaseException:
        run.abandon()
        raise
