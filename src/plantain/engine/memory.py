"""Handing freed memory back to the operating system once a model's queue goes quiet.

A device batch at 1024x1024 allocates hundreds of MB of activations and images and frees them; the
C allocator (glibc) keeps most of it for reuse, so a server's resident memory stays at its busiest
batch's. Trimming after every batch would make the next one fault its pages in again, so a queue
trims once it has been idle for a while (and not again until it has run another batch), and under
steady load, between batches, once every BUSY_SECONDS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

# A queue trims after this long without work, and, busy, at most this often.
IDLE_SECONDS = 2.0
BUSY_SECONDS = 5.0


@functools.cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


def release_free_memory() -> None:
    """Return the C heap's free pages to the OS (glibc's malloc_trim); nothing where there is none."""
    trim = _malloc_trim()
    if callable(trim):
        trim(0)
