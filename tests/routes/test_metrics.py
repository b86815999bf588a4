"""/metrics: each request's latency by dialect, route, model and outcome, with bounded labels, and
at each scrape the queues, the loaded models and the device memory."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient


def samples(client: TestClient, name: str) -> list[dict[str, str]]:
    text = client.get("/metrics").text
    return [dict(re.findall(r'(\w+)="([^"]*)"', labels)) for labels in re.findall(rf"^{name}\{{(.*)\}} ", text, re.M)]


def test_request_latency_is_labelled_by_dialect_route_model_and_outcome(client: TestClient) -> None:
    body = {"contents": [{"parts": [{"text": "a red circle"}]}], "generationConfig": {"responseModalities": ["IMAGE"]}}
    assert client.post("/v1beta/models/tiny-sana:generateContent", json=body).status_code == 200
    assert client.post("/v1beta/models/no-such-model:generateContent", json=body).status_code == 404
    openai = client.post("/v1/images/generations", json={"model": "tiny-sana", "prompt": "x", "size": "bad"},
                         headers={"authorization": "Bearer route-key"})  # fmt: skip
    assert openai.status_code == 400
    seen = samples(client, "plantain_request_seconds_count")
    route = "/v1beta/models/{name}"
    assert {"dialect": "gemini", "route": route, "model": "tiny-sana", "outcome": "ok"} in seen
    # A model that is not in the catalog is "other": a client cannot grow the label set.
    assert {"dialect": "gemini", "route": route, "model": "other", "outcome": "client_error"} in seen
    assert any(s["dialect"] == "openai" and s["route"] == "/v1/images/generations" for s in seen)
    assert not any("no-such-model" in s["model"] for s in seen)  # (other tests' apps share the registry)


def test_queues_loaded_models_and_memory_are_read_at_each_scrape(client: TestClient) -> None:
    body = {"contents": [{"parts": [{"text": "a blue square"}]}], "generationConfig": {"responseModalities": ["IMAGE"]}}
    assert client.post("/v1beta/models/tiny-sana:generateContent", json=body).status_code == 200
    assert {"model": "tiny-sana"} in samples(client, "plantain_model_loaded")
    assert {"model": "tiny-sana"} in samples(client, "plantain_batch_limit")
    depth = samples(client, "plantain_queue_images")
    assert {"model": "tiny-sana", "priority": "interactive"} in depth
    assert {"device": "cpu"} in samples(client, "plantain_device_memory_bytes")


def test_every_metric_the_grafana_dashboard_plots_is_exported(client: TestClient) -> None:
    body = {"contents": [{"parts": [{"text": "a red circle"}]}], "generationConfig": {"responseModalities": ["IMAGE"]}}
    assert client.post("/v1beta/models/tiny-sana:generateContent", json=body).status_code == 200
    exported = client.get("/metrics").text
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
    plotted = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"plantain_\w+", t["expr"])}
    assert plotted and all(re.search(rf"^{name}[{{ ]", exported, re.M) for name in plotted), plotted
