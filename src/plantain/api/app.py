"""The FastAPI application: one app for `plantain serve`, tests and future entry points."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from plantain import __version__
from plantain.api import (
    admin,
    batches,
    errors,
    files,
    gemini,
    health,
    observe,
    openai,
    openai_batches,
    openapi,
    playground,
    tracing,
)
from plantain.api.dialect_paths import OPENAI_ROOT, DialectPaths
from plantain.api.request_id import RequestId
from plantain.api.security import AuthFailures, SecurityHeaders
from plantain.api.slow_body import SlowBody
from plantain.core.catalog import Catalog, load_catalog
from plantain.core.settings import Settings
from plantain.serving.batch_runner import BatchRunner
from plantain.serving.service import Service
from plantain.store.batches import BatchStore
from plantain.store.db import open_database
from plantain.store.files import FileStore
from plantain.store.keys import KeyStore
from plantain.store.ledger import Ledger

log = logging.getLogger("plantain.api")


# Builds the serving layer from the settings, the catalog and the ledger: `Service` draws in this
# process; serving.ray_serve.RayService sends the drawing to Ray Serve replicas.
ServiceFactory = Callable[[Settings, Catalog, Ledger | None], Service]


def create_app(
    settings: Settings | None = None, catalog: Catalog | None = None, make_service: ServiceFactory = Service
) -> FastAPI:
    settings = settings or Settings()
    database = open_database(settings.database_url, settings.data_dir)
    # A reservation outlives no request: past the longest deadline it stops counting against quotas.
    ledger = Ledger(database, settings.request_timeout + 60) if settings.ledger else None
    service = make_service(settings, catalog or load_catalog(settings.catalog), ledger)

    file_store = FileStore(
        database, settings.data_dir, timedelta(hours=settings.file_ttl_hours), settings.max_file_bytes
    )

    async def sweep_files() -> None:
        # Expired files are deleted by the server, not only hidden: every ten minutes.
        while True:
            await anyio.to_thread.run_sync(file_store.sweep)
            await asyncio.sleep(600)

    batch_store = BatchStore(database)
    # Items of a job run a device batch at a time: as many at once as the largest batch the catalog forms.
    runner = BatchRunner(
        service, batch_store, file_store, [batches.GeminiBatches(), openai_batches.OpenAIBatches()],
        max(e.max_batch for e in service.catalog.models.values()),
    )  # fmt: skip

    async def preload() -> None:
        # In the background: the server answers /healthz at once, and /readyz once these are in.
        for name in settings.preload_models:
            entry = service.catalog.get(name)
            if entry is None:
                log.error("PLANTAIN_PRELOAD names %r, which is not in the catalog", name)
                continue
            try:
                await service.warm(entry)
            except Exception:
                log.exception("could not preload %s", name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.ensure_future(sweep_files())
        running = asyncio.ensure_future(runner.run())
        loading = asyncio.ensure_future(preload())
        yield
        # Requests in flight have finished (uvicorn drains them first). Batch items still running
        # are dropped unrecorded and their jobs released, so a server that starts next takes them
        # at once instead of after the lease.
        for task in (running, sweeper, loading):
            task.cancel()
        await asyncio.gather(running, sweeper, loading, return_exceptions=True)
        await anyio.to_thread.run_sync(batch_store.release, runner.name)
        await anyio.to_thread.run_sync(tracing.flush, app)
        service.close()
        database.close()

    app = FastAPI(title="Plantain", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.service = service
    app.state.database = database
    app.state.keys = KeyStore(database)
    app.state.auth_failures = AuthFailures(settings.auth_failures_per_minute)
    app.state.files = file_store
    app.state.batches = batch_store
    app.state.batch_runner = runner
    observe.watch(service)
    tracing.instrument(app)
    app.add_middleware(SlowBody, min_rate=settings.min_body_rate)
    app.add_middleware(DialectPaths)
    app.add_middleware(observe.RequestMetrics, service=service)
    app.add_middleware(RequestId)
    app.add_middleware(SecurityHeaders)
    # OpenAI's paths first: they lie under /v1/, which is otherwise Google's.
    errors.install(app, [errors.OPENAI, errors.GEMINI])

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    openapi.install(app)
    app.include_router(health.router)
    app.include_router(playground.router)
    app.mount("/playground", playground.assets(), name="playground")
    app.include_router(admin.router)
    app.include_router(openai.router, prefix="/v1")
    app.include_router(openai.content_router, prefix="/v1")
    # OpenAI's whole dialect also answers under its own root; its Files and Batch APIs only there
    # (DialectPaths sends OpenAI clients' /v1/files and /v1/batches requests to them).
    app.include_router(openai.router, prefix=OPENAI_ROOT)
    app.include_router(openai_batches.router, prefix=OPENAI_ROOT)
    # The SDK calls /v1/ when only base_url is set; curl and Google's docs use /v1beta/; Vertex
    # express mode calls /v1beta1/publishers/google/models/...
    for version in ("/v1beta", "/v1"):
        app.include_router(files.router, prefix=version)
        app.include_router(batches.router, prefix=version)
        app.include_router(files.upload_router, prefix=f"/upload{version}")
        app.include_router(files.download_router, prefix=f"/download{version}")
    for prefix in ("/v1beta", "/v1", "/v1beta1"):
        app.include_router(gemini.router, prefix=prefix)
        app.include_router(gemini.vertex_router, prefix=f"{prefix}/publishers/google")
    return app
