"""Several models sharing a device under a memory budget, with the tiny pipelines: loaded on first
use, the least recently used idle one unloaded when the budget would be passed, never one at work;
GET /admin/models shows what is loaded and its memory; an admin loads and unloads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from plantain.api.app import create_app
from plantain.core.catalog import Catalog
from plantain.core.settings import Settings
from plantain.store.db import open_database
from plantain.store.keys import KeyStore

BODY = {"contents": [{"parts": [{"text": "a red circle"}]}], "generationConfig": {"responseModalities": ["IMAGE"]}}


def weights(client: TestClient) -> dict[str, int]:
    body = client.get("/admin/models").json()
    return {m["id"]: m["memoryBytes"] for m in body["models"] if m["loaded"]}


@pytest.fixture
def client(catalog: Catalog, tmp_path: Path) -> Iterator[TestClient]:
    # First measure both pipelines, then allow the larger and half the smaller: one at a time.
    probe = Settings(data_dir=tmp_path / "probe", threads=2, offline=True, fit_batch=False)
    key = KeyStore(open_database("", probe.data_dir)).create("admin", admin=True)[1]
    with TestClient(create_app(probe, catalog), headers={"x-goog-api-key": key}) as c:
        for model in ("tiny-sana", "tiny-klein"):
            assert c.post(f"/v1beta/models/{model}:generateContent", json=BODY).status_code == 200
        sizes = weights(c)
    small, large = sorted((sizes["tiny-sana"], sizes["tiny-klein"]))
    budget = large + small // 2
    assert budget < sizes["tiny-sana"] + sizes["tiny-klein"]
    settings = probe.model_copy(update={"data_dir": tmp_path / "data", "device_memory": budget})
    key = KeyStore(open_database("", settings.data_dir)).create("admin", admin=True)[1]
    with TestClient(create_app(settings, catalog), headers={"x-goog-api-key": key}) as c:
        yield c


def test_the_least_recently_used_model_makes_room(client: TestClient) -> None:
    assert weights(client) == {}
    assert client.post("/v1beta/models/tiny-sana:generateContent", json=BODY).status_code == 200
    assert set(weights(client)) == {"tiny-sana"}
    assert client.post("/v1beta/models/tiny-klein:generateContent", json=BODY).status_code == 200
    body = client.get("/admin/models").json()
    assert set(weights(client)) == {"tiny-klein"}  # both would pass the budget: sana went
    assert body["memoryBytes"] <= body["budgetBytes"]
    # Two IDs on the same weights share one copy of them.
    assert client.post("/v1beta/models/tiny-klein-2:generateContent", json=BODY).status_code == 200
    loaded = client.get("/admin/models").json()["models"]
    klein = next(m for m in loaded if m["id"] == "tiny-klein")
    assert klein["sharesWeightsWith"] == ["tiny-klein-2"]


def test_a_model_at_work_is_never_unloaded(client: TestClient) -> None:
    assert client.post("/admin/models/tiny-sana:load").status_code == 200
    service = client.app.state.service  # type: ignore[attr-defined]
    sana = service.backends.get(service.entry("tiny-sana"))
    lock = service.engine.device_lock(sana)
    started, release = threading.Event(), threading.Event()

    def hold_a_batch() -> None:
        # A request of tiny-sana on the device: its queue is busy until the device lock frees.
        with lock:
            started.set()
            release.wait(30)

    holder = threading.Thread(target=hold_a_batch)
    holder.start()
    started.wait()
    waiting = threading.Thread(
        target=lambda: client.post("/v1beta/models/tiny-sana:generateContent", json=BODY)
    )  # queued behind the held device
    waiting.start()
    try:
        for _ in range(100):  # until the request is queued
            if service.engine.depths().get("tiny-sana", (0, 0))[0]:
                break
            threading.Event().wait(0.02)
        refused = client.post("/admin/models/tiny-sana:unload")
        assert refused.status_code == 503 and "at work" in refused.json()["error"]["message"]
        busy_load = client.post("/v1beta/models/tiny-klein:generateContent", json=BODY)
        assert busy_load.status_code == 503  # no room: the budget is held by a model at work
        assert set(weights(client)) == {"tiny-sana"}
    finally:
        release.set()
        holder.join()
        waiting.join()
    assert client.post("/admin/models/tiny-sana:unload").status_code == 200
    assert weights(client) == {}
    assert client.post("/admin/models/tiny-klein:load").json()["models"]
    assert set(weights(client)) == {"tiny-klein"}


def test_admin_model_routes_need_an_admin_key(client: TestClient) -> None:
    other = KeyStore(client.app.state.keys.db).create("plain")[1]  # type: ignore[attr-defined]
    assert client.get("/admin/models", headers={"x-goog-api-key": other}).status_code == 403
    assert client.post("/admin/models/no-such:load").status_code == 404
