"""A server's life: /healthz at once, /readyz once its preloaded models are in and its database
answers, and on SIGTERM every request already accepted finishes while new connections are refused."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import types

from tests.server_process import API_KEY, server_process

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def ended(pid: int) -> bool:
    try:
        state = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("State:"))
    except FileNotFoundError:
        return True
    return "Z" in state.split()[1]  # exited, not yet reaped by its parent


def test_alive_at_once_ready_once_preloaded(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_PRELOAD": "plantain-mini"}
    with server_process(env) as server:
        assert httpx.get(f"{server.base}/healthz").json() == {"status": "alive"}
        deadline = time.time() + 60
        while (ready := httpx.get(f"{server.base}/readyz")).status_code != 200:
            assert ready.status_code == 503 and ready.json()["loading"] == ["plantain-mini"]
            assert time.time() < deadline
            time.sleep(0.2)
        assert ready.json() == {"status": "ready", "database": "ok", "loaded": ["plantain-mini"]}


def test_not_ready_while_a_preloaded_model_is_missing(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_PRELOAD": "no-such-model"}
    with server_process(env) as server:
        time.sleep(1)
        ready = httpx.get(f"{server.base}/readyz")
        assert ready.status_code == 503 and ready.json()["loading"] == ["no-such-model"]


def test_sigterm_lets_accepted_requests_finish_and_refuses_new_ones(tmp_path: Path) -> None:
    with server_process({"PLANTAIN_DATA_DIR": str(tmp_path)}) as server:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.base))
        config = types.GenerateContentConfig(response_modalities=["IMAGE"])
        client.models.generate_content(model="plantain-mini", contents="a red circle", config=config)  # warm
        outcomes: list[object] = []

        def ask(i: int) -> None:
            try:
                r = client.models.generate_content(
                    model="plantain-mini", contents="two blue squares", config=config.model_copy(update={"seed": i})
                )
                outcomes.append(r.parts[0].inline_data.data[:8] if r.parts else None)  # type: ignore[index,union-attr]
            except Exception as exc:  # recorded: the test fails on any
                outcomes.append(exc)

        threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # all 12 accepted and on the device
        os.kill(server.pid, signal.SIGTERM)
        time.sleep(0.3)
        with pytest.raises(httpx.ConnectError):  # the listener is closed: refused, not a 5xx
            httpx.get(f"{server.base}/healthz")
        for t in threads:
            t.join(60)
        assert outcomes == [b"\x89PNG\r\n\x1a\n"] * 12  # every accepted request got its image
        deadline = time.time() + 30
        while not ended(server.pid):
            assert time.time() < deadline, "the server did not exit after draining"
            time.sleep(0.2)


def test_json_logs_carry_the_request_id_and_never_a_key_or_an_image(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_LOG_FORMAT": "json"}
    with server_process(env, log=log) as server:
        body = {"contents": [{"parts": [{"text": "a red circle"}]}]}
        reply = httpx.post(f"{server.base}/v1beta/models/plantain-mini:generateContent", params={"key": API_KEY},
                           json=body, headers={"x-request-id": "trace-me-42"}, timeout=60)  # fmt: skip
        assert reply.status_code == 200 and reply.headers["x-request-id"] == "trace-me-42"
        image = reply.json()["candidates"][0]["content"]["parts"][-1]["inlineData"]["data"]
        httpx.get(f"{server.base}/v1beta/models", headers={"authorization": f"Bearer {API_KEY}"})
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    mine = [x for x in lines if x.get("request_id") == "trace-me-42"]
    assert mine and any("generateContent" in x["message"] and "key=[redacted]" in x["message"] for x in mine)
    text = log.read_text()
    assert API_KEY not in text and image[:64] not in text


def test_traces_go_to_the_configured_exporter(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "plantain-test"}
    with server_process(env, log=log) as server:
        body = {"contents": [{"parts": [{"text": "a red circle"}]}]}
        reply = httpx.post(f"{server.base}/v1beta/models/plantain-mini:generateContent",
                           headers={"x-goog-api-key": API_KEY}, json=body, timeout=60)  # fmt: skip
        assert reply.status_code == 200
    # The console exporter prints each span as JSON when the server flushes them on its way out.
    text = log.read_text()
    assert '"name": "plantain.generate"' in text and '"plantain.model": "plantain-mini"' in text
    assert '"name": "POST /v1beta/models/{name}"' in text and '"service.name": "plantain-test"' in text
