"""Backends by catalog entry, loaded on first use and shared by entries that name the same weights."""

from __future__ import annotations

import threading

from plantain.backends.diffusers_backend import DiffusersBackend
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
                from plantain.backends.diffusers_backend import FAMILIES, load_pipeline

                if entry.family not in FAMILIES:
                    raise ValueError(f"model {entry.id}: unknown family {entry.family!r}")
                key = (entry.family, entry.checkpoint, entry.pipeline_class)
                if key not in self._pipes:
                    family = FAMILIES[entry.family]
                    self._pipes[key] = load_pipeline(family, entry.checkpoint, entry.pipeline_class, self.settings)
                self._backends[entry.id] = DiffusersBackend(self._pipes[key], FAMILIES[entry.family], entry)
            return self._backends[entry.id]
