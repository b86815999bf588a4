"""Backends by catalog entry: the class the entry (or its family) names, loaded on first use, one
pipeline shared by the entries that name the same weights."""

from __future__ import annotations

import threading
from typing import Any

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


class BackendRegistry:
    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        self._backends: dict[str, Backend] = {}
        self._pipes: dict[tuple[str, str, str, str | None], Any] = {}
        self._lock = threading.Lock()

    def get(self, entry: ModelEntry) -> Backend:
        with self._lock:
            if entry.id not in self._backends:
                cls = backend_class(entry)
                key = (cls.__name__, entry.family, entry.checkpoint, entry.pipeline_class)
                if key not in self._pipes:
                    self._pipes[key] = cls.load_pipe(entry, self.settings)
                self._backends[entry.id] = cls.on_pipe(self._pipes[key], entry, self.settings)
            return self._backends[entry.id]

    def loaded(self) -> list[str]:
        """The IDs of the entries whose backends are loaded. Read without the lock, which a load
        holds for its whole length (a dict's keys are copied atomically)."""
        return list(self._backends)

    def read_prompt(self, entry: ModelEntry, prompt: str) -> PromptReading:
        """What the entry's family makes of a prompt, without loading its weights."""
        return backend_class(entry).read_prompt(prompt)

    def pixel_step(self, entry: ModelEntry) -> int:
        """Output sides the entry draws exactly at multiples of, without loading its weights."""
        return backend_class(entry).pixel_step(entry)
