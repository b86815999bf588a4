"""Batch jobs past one machine: a job's pending items as a Ray Data dataset, mapped a device batch
at a time by actors that each hold the same serving layer (and so the same backend class) as a
server, the results committed by the driver exactly as the server's runner commits them.

The workers never touch the store: they return each item's outcome; the driver records it with its
charge in one transaction (serving.batch_runner.record), so a job interrupted here can be resumed,
by `plantain batch run --job` or by any server, without running or charging an item twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from plantain.core.catalog import load_catalog
from plantain.core.results import Usage
from plantain.core.settings import Settings
from plantain.serving.batch_runner import BatchDialect, Outcome, complete, record, serve_item
from plantain.serving.ray_serve import init_ray
from plantain.serving.service import Service
from plantain.store.batches import BatchStore
from plantain.store.files import FileStore
from plantain.store.models import Batch


class ItemWorker:
    """A Ray Data actor: one serving layer, fed a device batch of items per call."""

    def __init__(self, settings: dict[str, Any], model: str, dialect: BatchDialect) -> None:
        resolved = Settings(**settings)
        self.service = Service(resolved, load_catalog(resolved.catalog))
        self.entry = self.service.entry(model)
        self.dialect = dialect
        # The engine answers on an event loop: one, running for the actor's life.
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="plantain-ray-loop", daemon=True).start()

    def __call__(self, rows: dict[str, Any]) -> dict[str, list[Any]]:
        async def all_items() -> list[Outcome]:
            requests = [str(r) for r in rows["request"]]
            served = (serve_item(self.service, self.dialect, self.entry, r) for r in requests)
            return list(await asyncio.gather(*served))

        outcomes = asyncio.run_coroutine_threadsafe(all_items(), self.loop).result()
        return {
            "idx": [int(i) for i in rows["idx"]],
            "state": [o.state for o in outcomes],
            "body": [json.dumps(o.body, separators=(",", ":")) for o in outcomes],
            "usage": [json.dumps(dataclasses.asdict(o.usage)) if o.usage else "" for o in outcomes],
            "seconds": [o.seconds for o in outcomes],
        }


def run_on_ray(
    settings: Settings,
    batches: BatchStore,
    files: FileStore,
    dialect: BatchDialect,
    batch: Batch,
    address: str | None,
    workers: int,
    done: Callable[[bool], None],
    keep: Callable[[], bool],
) -> bool:
    """Run the job's pending items on Ray and complete it; `done(ok)` after each item is recorded;
    `keep()` (the job's lease renewed) is asked every device batch, and False stops the run. False
    when the job did not complete here (cancelled, or taken over); its finished items keep their results."""
    import ray
    import ray.data

    service_settings = settings.model_dump(exclude={"signature_secret"})
    entry = load_catalog(settings.catalog).get(batch.model)
    if entry is None:
        raise ValueError(f"the catalog has no model {batch.model!r}")
    init_ray(address)
    # The command shows its own progress bar; Ray Data's bars and execution logs would interleave with it.
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    pending = batches.items(batch.id, "pending")
    if pending:
        rows = ray.data.from_items([{"idx": item.idx, "request": item.request} for item in pending])
        outcomes = rows.map_batches(
            ItemWorker,
            fn_constructor_kwargs={"settings": service_settings, "model": entry.id, "dialect": dialect},
            batch_size=entry.max_batch,
            compute=ray.data.ActorPoolStrategy(size=workers),
        )
        for n, row in enumerate(outcomes.iter_rows(), 1):
            usage = Usage(**json.loads(row["usage"])) if row["usage"] else None
            outcome = Outcome(str(row["state"]), json.loads(row["body"]), usage, float(row["seconds"]))
            record(batches, batch, entry, int(row["idx"]), outcome)
            done(outcome.state == "ok")
            if n % entry.max_batch == 0 and not keep():
                return False
    if batches.items(batch.id, "pending") or not keep():
        return False
    return complete(batches, files, dialect, batch)
