"""The batch runner with a real store and service: a job whose model has left the catalog fails
at once instead of being retried forever."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from plantain.api.batches import GeminiBatches
from plantain.core.catalog import load_catalog
from plantain.core.settings import Settings
from plantain.serving.batch_runner import BatchRunner
from plantain.serving.service import Service
from plantain.store.batches import BatchStore, NewItem
from plantain.store.db import open_database
from plantain.store.files import FileStore


def test_a_job_whose_model_is_gone_fails(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, fit_batch=False)
    db = open_database("", tmp_path)
    batches = BatchStore(db)
    files = FileStore(db, tmp_path, timedelta(hours=1), 1 << 20)
    job = batches.create("env", None, "retired-model", "", "{}", None, [NewItem("a", "{}", None)])
    service = Service(settings, load_catalog())
    runner = BatchRunner(service, batches, files, [GeminiBatches()], 4)
    claimed = batches.claim(runner.name, timedelta(seconds=30))
    assert claimed is not None and claimed.id == job.id
    assert asyncio.run(runner.run_batch(claimed)) is False
    found = batches.find(job.id)
    assert found is not None and found.state == "BATCH_STATE_FAILED"
    service.close()
    db.close()
