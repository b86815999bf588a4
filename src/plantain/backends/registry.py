"""Backends by catalog entry, loaded on first use and shared by entries that name the same weights."""

from __future__ import annotations

import threading

from plantain.backends.diffusers_backend import DiffusersBackend, load_pipeline
from plantain.backends.families import family_of
from plantain.core.catalog import Catalog, ModelEntry
from plantain.settings import Settings


class BackendRegistry:
    def __init__(self, catalog: Catalog, settings: Settings) -> None:
        self.catalog = catalog
        self.settings = settings
        self._backends: dict[str, DiffusersBackend] = {}
        self._pipes: dict[tuple[str, str, str | None], object] = {}
        self._lock = threading.Lock()

    def get(self, entry: ModelEntry) -> DiffusersBackend:
        with self._lock:
            if entry.id not in self._backends:
                family = family_of(entry.id, entry.family)
                key = (entry.family, entry.checkpoint, entry.pipeline_class)
                if key not in self._pipes:
                    self._pipes[key] = load_pipeline(family, entry.checkpoint, entry.pipeline_class, self.settings)
                self._backends[entry.id] = DiffusersBackend(self._pipes[key], family, entry)
            return self._backends[entry.id]
