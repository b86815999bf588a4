"""What the benchmarks share: the machine they ran on, and the built-in model as the service loads it."""

from __future__ import annotations

from plantain.machine import describe, machine
from plantain.mini.evaluate import mini_backend

__all__ = ["describe", "machine", "mini_backend"]
