"""The serving layer split across Ray Serve: the ingress keeps everything but the drawing (keys,
quotas, planning, encoding, the store), and each catalog pipeline is a deployment whose replicas
hold its weights and its engine, so device batches still form inside every replica.

`RayService` is the ingress's `Service`: it sends `draw` and `upscale_image` to the pipeline's
deployment handle; `PipelineReplica` is that deployment, one local `Service` per replica. A request's
progress and previews come back over a streaming call, and cancelling the call (the client gone,
the deadline passed) cancels the ticket in the replica between denoising steps.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from plantain.backends.registry import BackendRegistry, Loaded
from plantain.core.cancel import CancelToken
from plantain.core.catalog import Catalog, ModelEntry
from plantain.core.errors import ErrorKind, ServiceError, cancelled_error, deadline_error, unavailable
from plantain.core.jobs import ImageJob, Priority
from plantain.core.settings import Settings
from plantain.serving.service import Drawn, PreviewHook, Progress, Service
from plantain.store.ledger import Ledger

log = logging.getLogger("plantain.serving")

# What a replica's `draw` streams back, in order: ("progress", step, total) and
# ("preview", job index, step, total, image) as they come, then ("done", images, batch size) or
# ("error", ServiceError).
DrawEvent = tuple[Any, ...]


def void(_: object) -> None:
    """A callback's value dropped (CancelToken callbacks return nothing)."""


def pipelines(catalog: Catalog) -> dict[str, list[ModelEntry]]:
    """The catalog's entries grouped by the pipeline that serves them, each group named by a
    deployment name made from its first entry's ID (Ray names allow no dots or slashes)."""
    registry = BackendRegistry(catalog, Settings())
    groups: dict[Any, list[ModelEntry]] = {}
    for entry in catalog.models.values():
        groups.setdefault(registry.key_of(entry), []).append(entry)
    return {"pipeline-" + "".join(c if c.isalnum() else "-" for c in g[0].id): g for g in groups.values()}


def ongoing_limit(entry: ModelEntry) -> int:
    """Requests a replica takes at once: a device batch on the device and the next one forming.
    Ray's default (5) would cap every device batch at 5 images."""
    return max(2 * entry.max_batch, 2)


def init_ray(address: str | None) -> None:
    """Join the Ray cluster at `address`, or start one on this machine (None)."""
    import ray

    if ray.is_initialized():
        return
    options: dict[str, Any] = {}
    host = urlsplit(f"//{(address or '').split('://')[-1]}").hostname
    if (address is None and not os.environ.get("RAY_ADDRESS")) or host in ("127.0.0.1", "localhost"):
        # A cluster on this machine: its node is on loopback. Ray would otherwise guess the node's
        # address from the outside network, which a machine (or network namespace) with only
        # loopback does not have.
        options["_node_ip_address"] = "127.0.0.1"
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING, **options)


class PipelineReplica:
    """One replica of a catalog pipeline: its weights loaded at start (a replica is ready only once
    it can draw), and an engine that batches the requests sent to it."""

    def __init__(self, settings: Settings, catalog: Catalog, entries: list[str]) -> None:
        self.service = Service(settings, catalog)
        self.entries = entries
        self.service.warm_now(self.service.entry(entries[0]))

    async def draw(
        self,
        model: str,
        jobs: list[ImageJob],
        priority: Priority,
        timeout: float | None,
        progress: bool,
        previews: bool,
    ) -> AsyncIterator[DrawEvent]:
        entry = self.service.entry(model)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[DrawEvent] = asyncio.Queue()

        def on_progress(step: int, total: int) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ("progress", step, total))

        def on_preview(index: int, step: int, total: int, image: Image.Image) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ("preview", index, step, total, image))

        cancel = CancelToken(timeout)
        work = asyncio.ensure_future(
            self.service.draw(
                entry, jobs, priority, cancel, on_progress if progress else None, on_preview if previews else None
            )
        )
        try:
            while not work.done():
                waiting = asyncio.ensure_future(events.get())
                await asyncio.wait({work, waiting}, return_when=asyncio.FIRST_COMPLETED)
                if waiting.done():
                    yield waiting.result()
                else:
                    waiting.cancel()
            # The worker's events were handed to the loop before the ticket's result was.
            while not events.empty():
                yield events.get_nowait()
            try:
                drawn = work.result()
            except ServiceError as exc:
                yield ("error", exc)
                return
            yield ("done", drawn.images, drawn.batch_size)
        finally:
            # The call was cancelled (client gone, deadline): the ticket goes with it.
            if not work.done():
                cancel.cancel()
                work.cancel()

    async def upscale(self, model: str, image: Image.Image, factor: int) -> Image.Image:
        return await self.service.upscale_image(self.service.entry(model), image, factor)

    def resident(self) -> list[Loaded]:
        return self.service.resident()

    def batch_sizes(self) -> dict[str, int]:
        return self.service.batch_sizes


class RayService(Service):
    """The ingress's serving layer: the same use case, the drawing done by the pipelines' replicas."""

    def __init__(self, settings: Settings, catalog: Catalog, ledger: Ledger | None, handles: dict[str, Any]) -> None:
        super().__init__(settings, catalog, ledger)
        # Each entry's deployment handle (entries on one pipeline share one).
        self.handles = {e.id: handles[name] for name, group in pipelines(catalog).items() for e in group}

    async def draw(
        self,
        entry: ModelEntry,
        jobs: list[ImageJob],
        priority: Priority,
        cancel: CancelToken,
        progress: Progress | None = None,
        preview: PreviewHook | None = None,
    ) -> Drawn:
        from ray.exceptions import RayError
        from ray.serve.exceptions import RequestCancelledError

        stream = (
            self.handles[entry.id]
            .options(stream=True)
            .draw.remote(entry.id, jobs, priority, cancel.remaining(), progress is not None, preview is not None)
        )
        loop = asyncio.get_running_loop()
        cancel.on_cancel(lambda: void(loop.call_soon_threadsafe(stream.cancel)))
        drawn: Drawn | None = None
        try:
            async with asyncio.timeout(cancel.remaining()):
                async for event in stream:
                    if event[0] == "progress" and progress is not None:
                        progress(event[1], event[2])
                    elif event[0] == "preview" and preview is not None:
                        preview(event[1], event[2], event[3], event[4])
                    elif event[0] == "error":
                        raise event[1]
                    elif event[0] == "done":
                        drawn = Drawn(event[1], event[2])
        except TimeoutError:
            stream.cancel()
            raise deadline_error() from None
        except asyncio.CancelledError:
            stream.cancel()
            raise
        except RequestCancelledError:
            raise cancelled_error() from None
        except RayError as exc:
            log.warning("a replica of %s failed: %s", entry.id, exc)
            raise ServiceError(
                ErrorKind.UNAVAILABLE, f"Model {entry.id} is unavailable: its replica failed; retry.", retry_after=2
            ) from exc
        if cancel.cancelled:
            raise cancelled_error()
        if drawn is None:
            raise unavailable(f"Model {entry.id} is unavailable: its replica gave no images; retry.")
        return drawn

    async def upscale_image(self, entry: ModelEntry, image: Image.Image, factor: int) -> Image.Image:
        result: Image.Image = await self.handles[entry.id].upscale.remote(entry.id, image, factor)
        return result

    async def warm(self, entry: ModelEntry) -> None:
        """Replicas load their weights before they take requests: nothing to do but wait for one."""
        await self.handles[entry.id].batch_sizes.remote()

    def loaded(self) -> list[str]:
        return list(self.handles)

    def resident(self) -> list[Loaded]:
        """What the replicas hold; empty here, where no weights are (GET /admin/models says so)."""
        return []

    def unload(self, entry: ModelEntry) -> bool:
        raise ServiceError(
            ErrorKind.UNIMPLEMENTED,
            f"Under Ray Serve each replica of {entry.id} holds its weights for its life; "
            "scale the deployment instead (plantain serve --ray --replicas, or the catalog's replicas).",
        )
