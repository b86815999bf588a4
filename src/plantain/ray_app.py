"""The same app under Ray Serve (`plantain serve --ray`): the FastAPI app as the ingress deployment,
one deployment per catalog pipeline behind it.

Replicas, GPUs and CPUs per replica, and autoscaling come from each entry's `replicas` table in the
catalog; `--replicas` and `--gpus-per-replica` override them for every pipeline. Each pipeline
deployment takes as many requests at once as two device batches (Ray's default of 5 would cap its
batches). The ingress holds no weights, so it asks for no CPU of its own.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from plantain.core.catalog import Catalog, ModelEntry
from plantain.core.settings import Settings
from plantain.serving.ray_serve import PipelineReplica, RayService, init_ray, ongoing_limit, pipelines
from plantain.store.ledger import Ledger

APP_NAME = "plantain"


def deployment_options(entry: ModelEntry, replicas: int | None, gpus: float | None) -> dict[str, Any]:
    """Ray Serve's options for the deployment of `entry`'s pipeline; flags over the catalog."""
    spec = entry.replicas
    options: dict[str, Any] = {
        "max_ongoing_requests": ongoing_limit(entry),
        "ray_actor_options": {"num_gpus": spec.gpus if gpus is None else gpus, "num_cpus": spec.cpus},
    }
    if replicas is None and spec.max_count is not None:
        options["autoscaling_config"] = {
            "min_replicas": spec.count,
            "max_replicas": spec.max_count,
            "target_ongoing_requests": spec.target_ongoing_requests or entry.max_batch,
        }
    else:
        options["num_replicas"] = replicas or spec.count
    return options


def build(settings: Settings, catalog: Catalog, replicas: int | None = None, gpus: float | None = None) -> Any:
    """The Serve application: the ingress bound to a handle of each pipeline's deployment."""
    from ray import serve

    from plantain.api.app import create_app

    @serve.ingress()
    class Ingress:
        def __init__(self, settings: Settings, catalog: Catalog, handles: dict[str, Any]) -> None:
            self.settings, self.catalog, self.handles = settings, catalog, handles

        def __serve_build_asgi_app__(self) -> Any:
            def make_service(settings: Settings, catalog: Catalog, ledger: Ledger | None) -> RayService:
                return RayService(settings, catalog, ledger, self.handles)

            return create_app(self.settings, self.catalog, make_service)

    handles = {
        name: serve.deployment(PipelineReplica, name=name, **deployment_options(group[0], replicas, gpus)).bind(  # type: ignore[attr-defined]
            settings, catalog, [e.id for e in group]
        )
        for name, group in pipelines(catalog).items()
    }
    # One ingress: it owns the store's background work (batch jobs, file expiry) for this server.
    ingress = serve.deployment(Ingress, name="ingress", num_replicas=1, ray_actor_options={"num_cpus": 0})
    return ingress.bind(settings, catalog, handles)  # type: ignore[attr-defined]


def serve_forever(
    settings: Settings,
    catalog: Catalog,
    host: str,
    port: int,
    address: str | None = None,
    replicas: int | None = None,
    gpus: float | None = None,
) -> None:
    """Start (or join) Ray, run the application on host:port, and keep it until SIGINT or SIGTERM."""
    from ray import serve

    init_ray(address)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    serve.start(http_options={"host": host, "port": port}, logging_config={"enable_access_log": False})
    serve.run(build(settings, catalog, replicas, gpus), name=APP_NAME, route_prefix="/")
    try:
        # In short waits: the signal may reach one of Ray's threads, and the handler runs only when
        # this (main) thread next wakes.
        while not stop.wait(0.5):
            pass
    finally:
        # Requests in flight finish first: Serve drains each replica before it stops.
        serve.delete(APP_NAME)
        serve.shutdown()  # type: ignore[no-untyped-call]
