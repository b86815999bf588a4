"""`CancelToken`: how a caller says "stop" to work it started, and by when the work must end.

One token per request, never a process-wide flag: setting it from any thread (a disconnect watcher,
a Ctrl-C handler, a deadline) reaches exactly the work that holds it. Whoever runs the work
registers a callback, so a queued job is dropped at once and a running batch stops between
denoising steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CancelToken:
    def __init__(self, timeout: float | None = None) -> None:
        # time.monotonic() seconds by which the work must be done; None: no deadline.
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def remaining(self) -> float | None:
        """Seconds left before the deadline (0 when past it), or None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the token is cancelled (at once if it already is)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()
