"""What /metrics shows beyond the engine's own counters: every request's latency by dialect,
route, model and outcome (an ASGI middleware), and at each scrape the queues' depth, the models
loaded and the memory of each device (a collector reading the service)."""

from __future__ import annotations

import os
import time
import weakref
from collections.abc import Iterator

from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantain.serving.service import Service

REQUEST_SECONDS = Histogram(
    "plantain_request_seconds",
    "Time from a request's arrival to the end of its reply",
    ["dialect", "route", "model", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 300, 600),
)


def dialect_of(path: str) -> str:
    if path.startswith(("/v1/images/", "/openai/")):
        return "openai"
    if ":predict" in path:
        return "imagen"
    if "/publishers/google/" in path:
        return "vertex"
    if path.startswith(("/v1beta/", "/v1/", "/v1beta1/", "/upload/", "/download/")):
        return "gemini"
    if path.startswith("/admin/"):
        return "admin"
    return "other"


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status == 499:
        return "cancelled"
    if status in (408, 429, 503, 504):
        return "refused"  # backpressure and deadlines: retryable
    return "client_error" if status < 500 else "server_error"


class RequestMetrics:
    """Labels stay bounded: the route is the matched path template (not the URL), and the model is
    a catalog ID (from the reply's x-plantain-model, else the URL), anything else "other"."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    def model_of(self, scope: Scope, served: str | None) -> str:
        if served and served in self.service.catalog.models:
            return served
        name = scope.get("path_params", {}).get("name", "")
        entry = self.service.catalog.get(name.partition(":")[0]) if name else None
        return entry.id if entry is not None else "other"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, served = 500, None

        async def watch(message: Message) -> None:
            nonlocal status, served
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                served = headers.get(b"x-plantain-model", b"").decode() or None
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            route = route_of(scope)
            REQUEST_SECONDS.labels(dialect_of(scope["path"]), route, self.model_of(scope, served),
                                   outcome_of(status)).observe(time.perf_counter() - start)  # fmt: skip


def route_of(scope: Scope) -> str:
    """The matched path template, with the prefix its router was mounted under ("/v1beta" +
    "/models/{name}"): a router mounted under several prefixes keeps its routes' own paths."""
    template = getattr(scope.get("route"), "path", None)
    if template is None:
        return "unmatched"
    actual = scope["path"].strip("/").split("/")
    own = template.strip("/").split("/")
    return "/" + "/".join(actual[: max(0, len(actual) - len(own))] + own)


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class ServiceCollector(Collector):
    """One per process, reading every live service (a server has one; tests make several)."""

    def __init__(self) -> None:
        self.services: weakref.WeakSet[Service] = weakref.WeakSet()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "plantain_queue_images", "Images waiting in a model's queue", labels=["model", "priority"]
        )
        loaded = GaugeMetricFamily("plantain_model_loaded", "Models whose weights are loaded", labels=["model"])
        limit = GaugeMetricFamily(
            "plantain_batch_limit", "Largest device batch a model forms (fitted to the device)", labels=["model"]
        )
        for service in list(self.services):
            for model, (interactive, batch) in service.engine.depths().items():
                depth.add_metric([model, "interactive"], interactive)
                depth.add_metric([model, "batch"], batch)
            for model in service.loaded():
                loaded.add_metric([model], 1)
            for model, size in list(service.batch_sizes.items()):
                limit.add_metric([model], size)
        yield depth
        yield loaded
        yield limit
        memory = GaugeMetricFamily("plantain_device_memory_bytes", "Memory in use on each device", labels=["device"])
        import torch

        if torch.cuda.is_available():
            for i in range(torch.cuda.device_count()):
                memory.add_metric([f"cuda:{i}"], torch.cuda.memory_allocated(i))
        # On a CPU the model's device memory is the process's own.
        memory.add_metric(["cpu"], rss_bytes())
        yield memory


COLLECTOR = ServiceCollector()
REGISTRY.register(COLLECTOR)


def watch(service: Service) -> None:
    COLLECTOR.services.add(service)
