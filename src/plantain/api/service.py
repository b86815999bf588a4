"""What the routers share: settings, catalog and backends, and running a plan off the event loop."""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, field

import anyio
from PIL import Image

from plantain.backends.registry import BackendRegistry
from plantain.core.catalog import Catalog
from plantain.core.generation import run_jobs
from plantain.core.plan import Plan
from plantain.imaging.encode import encode_png
from plantain.settings import Settings


@dataclass
class Service:
    settings: Settings
    catalog: Catalog
    backends: BackendRegistry
    # One device batch at a time per loaded pipeline: model IDs that share weights share a pipeline,
    # and a pipeline's scheduler is stateful.
    _locks: dict[int, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    def _lock(self, pipe: object) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(id(pipe), threading.Lock())

    def _generate(self, plan: Plan) -> list[bytes]:
        backend = self.backends.get(plan.entry)
        with self._lock(backend.pipe):
            images: list[Image.Image] = run_jobs(backend, plan.jobs)
        return [encode_png(im, self.settings.png_compress_level) for im in images]

    async def generate(self, plan: Plan) -> list[bytes]:
        """PNG bytes of every job, made in a worker thread so the event loop keeps serving."""
        return await anyio.to_thread.run_sync(self._generate, plan)

    def signature(self, png: bytes, model_id: str) -> bytes:
        """A thoughtSignature: HMAC of the image and the model, so a returning image can be told ours."""
        digest = hashlib.sha256(png).digest() + model_id.encode()
        return hmac.new(self.settings.signature_secret.encode(), digest, hashlib.sha256).digest()
