"""OpenTelemetry traces, when an exporter is configured the standard way: OTEL_TRACES_EXPORTER
(`otlp` or `console`) or OTEL_EXPORTER_OTLP_ENDPOINT (then OTLP over HTTP). Each request is a span
(FastAPI's instrumentation); the serving layer adds one for the generation inside it. Needs the
`otel` extra: pip install "plantain-image[otel]"."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

log = logging.getLogger("plantain.api")


def exporter_name() -> str:
    name = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not name and os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        name = "otlp"
    return "" if name == "none" else name


def instrument(app: FastAPI) -> bool:
    """Trace the app's requests when an exporter is configured; False when none is."""
    name = exporter_name()
    if not name:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
    except ImportError:
        log.warning(
            "OTEL_TRACES_EXPORTER is set but OpenTelemetry is not installed: pip install 'plantain-image[otel]'"
        )
        return False
    exporter: SpanExporter
    if name == "console":
        exporter = ConsoleSpanExporter()
    elif name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()  # its endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*
    else:
        log.warning("OTEL_TRACES_EXPORTER=%s is not one this server knows (otlp, console): no traces", name)
        return False
    service = os.environ.get("OTEL_SERVICE_NAME", "plantain")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="/metrics,/healthz,/readyz")
    # Flushed by the app's shutdown: uvicorn ends a SIGTERM'd process by re-raising the signal, so
    # atexit handlers (the SDK's own flush) never run.
    app.state.tracer_provider = provider
    return True


def flush(app: FastAPI) -> None:
    provider = getattr(app.state, "tracer_provider", None)
    if provider is not None:
        provider.shutdown()
