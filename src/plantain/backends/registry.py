"""Backends by catalog entry: the class the entry (or its family) names, loaded on first use, one
pipeline shared by the entries that name the same weights."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from itertools import chain
from typing import Any

import torch
from PIL import Image

from plantain.backends.base import Backend, PromptReading
from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.backends.families import check_entry, family_of
from plantain.backends.mini import MiniBackend
from plantain.core.catalog import Catalog, ModelEntry
from plantain.core.settings import Settings

BACKENDS: dict[str, type[DiffusersBackend]] = {"diffusers": DiffusersBackend, "mini": MiniBackend}


def backend_class(entry: ModelEntry) -> type[DiffusersBackend]:
    """The class that serves an entry: its own `backend`, else its family's; ValueError when unknown."""
    name = entry.backend or family_of(entry.id, entry.family).backend
    if name not in BACKENDS:
        raise ValueError(f"model {entry.id}: unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return BACKENDS[name]


def check_catalog(catalog: Catalog) -> None:
    """Every entry names a known family and backend, and claims only what its family can do."""
    for entry in catalog.models.values():
        check_entry(entry.id, entry.family, entry.can_edit, bool(entry.upscale_factors))
        backend_class(entry)


def load_backend(entry: ModelEntry, settings: Settings) -> Backend:
    """One entry's backend, on its own pipeline (the CLI's way: one model, one process)."""
    return backend_class(entry).load(entry, settings)


PipeKey = tuple[str, str, str, str | None]


def pipe_bytes(pipe: Any) -> int:
    """The memory a pipeline's weights take: every parameter and buffer of its torch modules."""
    modules = [m for m in getattr(pipe, "components", {}).values() if isinstance(m, torch.nn.Module)]
    tensors = chain.from_iterable(chain(m.parameters(), m.buffers()) for m in modules)
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass(frozen=True)
class Loaded:
    """A pipeline in memory and the entries served on it."""

    key: PipeKey
    entries: tuple[str, ...]
    bytes: int
    last_used: float  # time.monotonic()


class BackendRegistry:
    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        self._backends: dict[str, Backend] = {}
        self._pipes: dict[PipeKey, Any] = {}
        self._bytes: dict[PipeKey, int] = {}
        self._used: dict[PipeKey, float] = {}
        self._lock = threading.Lock()

    def key_of(self, entry: ModelEntry) -> PipeKey:
        return (backend_class(entry).__name__, entry.family, entry.checkpoint, entry.pipeline_class)

    def has(self, entry_id: str) -> bool:
        return entry_id in self._backends

    def get(self, entry: ModelEntry) -> Backend:
        loaded = self._backends.get(entry.id)
        if loaded is not None:  # without the lock, which a load of another model holds for seconds
            self._used[self.key_of(entry)] = time.monotonic()
            return loaded
        with self._lock:
            key = self.key_of(entry)
            if entry.id not in self._backends:
                cls = backend_class(entry)
                if key not in self._pipes:
                    self._pipes[key] = cls.load_pipe(entry, self.settings)
                    self._bytes[key] = pipe_bytes(self._pipes[key])
                self._backends[entry.id] = cls.on_pipe(self._pipes[key], entry, self.settings)
            self._used[key] = time.monotonic()
            return self._backends[entry.id]

    def resident(self) -> list[Loaded]:
        """The pipelines in memory, least recently used first."""
        with self._lock:
            rows = [
                Loaded(key, tuple(e for e in self._backends if self.key_of(self.catalog.models[e]) == key),
                       self._bytes[key], self._used.get(key, 0.0))
                for key in self._pipes
            ]  # fmt: skip
        return sorted(rows, key=lambda r: r.last_used)

    def unload(self, key: PipeKey) -> None:
        """Drop a pipeline and every backend on it; its memory goes once nothing else holds it."""
        with self._lock:
            for entry_id in [e for e in self._backends if self.key_of(self.catalog.models[e]) == key]:
                del self._backends[entry_id]
            self._pipes.pop(key, None)
            self._bytes.pop(key, None)
            self._used.pop(key, None)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def loaded(self) -> list[str]:
        """The IDs of the entries whose backends are loaded. Read without the lock, which a load
        holds for its whole length (a dict's keys are copied atomically)."""
        return list(self._backends)

    def read_prompt(self, entry: ModelEntry, prompt: str) -> PromptReading:
        """What the entry's family makes of a prompt, without loading its weights."""
        return backend_class(entry).read_prompt(prompt)

    def describe(self, entry: ModelEntry, image: Image.Image) -> str | None:
        """What the entry's family reads back from one of its images, without loading its weights."""
        return backend_class(entry).describe(image)

    def pixel_step(self, entry: ModelEntry) -> int:
        """Output sides the entry draws exactly at multiples of, without loading its weights."""
        return backend_class(entry).pixel_step(entry)
