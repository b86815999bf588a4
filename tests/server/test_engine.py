"""The engine through a real server: batching, priorities, backpressure, cancellation, deadlines,
streaming."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from google import genai
from google.genai import types

from tests.server_process import API_KEY, running_server

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

CATALOG = """
[models."mini-batched"]
display_name = "mini, batched"
family = "mini"
checkpoint = "builtin:mini"
sizes = ["1K"]
max_batch = 8
max_candidates = 8
[models."mini-batched".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0

[models."mini-serial"]
display_name = "mini, one image per device batch"
family = "mini"
checkpoint = "builtin:mini"
sizes = ["1K"]
max_batch = 1
[models."mini-serial".prices]
input_per_million_tokens = 0.0
output_per_million_tokens = 0.0
"""
HEADERS = {"x-goog-api-key": API_KEY}


def body(text: str = "a red circle", **config: object) -> dict[str, object]:
    return {"contents": [{"parts": [{"text": text}]}], "generationConfig": {"responseModalities": ["IMAGE"], **config}}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("engine")
    (root / "catalog.toml").write_text(CATALOG)
    # Separate queues per model ID would share one pipeline; these two do, by design.
    env = {"PLANTAIN_CATALOG": str(root / "catalog.toml"), "PLANTAIN_MAX_WAIT_MS": "150", "PLANTAIN_MAX_QUEUE": "4"}
    with running_server(env, log=root / "server.log") as url:
        yield url


def post(base: str, model: str, payload: dict[str, object], **headers: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1beta/models/{model}:generateContent", json=payload, headers={**HEADERS, **headers}, timeout=120
    )


def test_concurrent_requests_share_a_device_batch(base: str) -> None:
    before = metric(base, "plantain_batch_size_count")
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda i: post(base, "mini-batched", body(seed=i)), range(4)))
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    sizes = [int(r.headers["x-plantain-batch-size"]) for r in replies]
    assert max(sizes) >= 2, sizes
    assert metric(base, "plantain_batch_size_count") - before < 4  # fewer batches than requests
    # A lone request is not held back waiting for company that does not come.
    assert post(base, "mini-batched", body()).headers["x-plantain-batch-size"] == "1"


def test_candidates_share_one_batch(base: str) -> None:
    r = post(base, "mini-batched", body(candidateCount=3))
    assert r.status_code == 200 and len(r.json()["candidates"]) == 3
    assert r.headers["x-plantain-batch-size"] == "3"


def test_interactive_overtakes_queued_batch_work(base: str) -> None:
    done: dict[str, float] = {}

    def run(name: str, priority: str) -> None:
        r = post(base, "mini-serial", body(seed=len(name)), **{"x-plantain-priority": priority})
        assert r.status_code == 200, r.text
        done[name] = time.monotonic()

    threads = [threading.Thread(target=run, args=("first", "interactive"))]
    threads[0].start()
    time.sleep(0.03)
    for name in ("batch-1", "batch-2", "batch-3"):
        threads.append(threading.Thread(target=run, args=(name, "batch")))
        threads[-1].start()
    time.sleep(0.03)
    threads.append(threading.Thread(target=run, args=("interactive", "interactive")))
    threads[-1].start()
    for t in threads:
        t.join()
    assert done["interactive"] < done["batch-2"] and done["interactive"] < done["batch-3"], done


def test_full_queue_answers_429_with_a_retry_hint(base: str) -> None:
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda i: post(base, "mini-serial", body(seed=i)), range(10)))
    codes = sorted(r.status_code for r in replies)
    assert 429 in codes and 200 in codes and set(codes) <= {200, 429}, codes
    refused = next(r for r in replies if r.status_code == 429)
    err = refused.json()["error"]
    assert err["status"] == "RESOURCE_EXHAUSTED"
    assert int(refused.headers["retry-after"]) >= 1
    assert err["details"][0]["@type"] == "type.googleapis.com/google.rpc.RetryInfo"


def test_a_client_that_leaves_frees_its_slot(base: str) -> None:
    # Fill the queue behind a running request, then walk away from the queued ones.
    with ThreadPoolExecutor(8) as pool:
        blocker = pool.submit(post, base, "mini-serial", body(seed=99))
        time.sleep(0.1)

        def leave(i: int) -> int:
            try:
                return httpx.post(
                    f"{base}/v1beta/models/mini-serial:generateContent",
                    json=body(seed=i),
                    headers=HEADERS,
                    timeout=0.2,
                ).status_code
            except httpx.TimeoutException:
                return -1

        left = list(pool.map(leave, range(4)))
        assert left.count(-1) >= 1
        time.sleep(0.3)
        # Their places are free again: a new request is queued, not refused.
        again = post(base, "mini-serial", body(seed=7))
        assert again.status_code == 200, again.text
        assert blocker.result().status_code == 200
    assert metric(base, 'plantain_jobs_total{pipeline="mini-serial",state="cancelled"}') >= 1


def test_a_running_batch_stops_when_its_client_leaves(base: str) -> None:
    before = metric(base, "plantain_batches_interrupted_total")
    with pytest.raises(httpx.TimeoutException):
        httpx.post(
            f"{base}/v1beta/models/mini-batched:generateContent",
            json=body(candidateCount=4),
            headers=HEADERS,
            timeout=0.3,
        )
    time.sleep(1.0)
    assert metric(base, "plantain_batches_interrupted_total") == before + 1


def test_deadline_gives_504(base: str) -> None:
    r = post(base, "mini-serial", body(), **{"x-server-timeout": "0.001"})
    assert r.status_code == 504
    assert r.json()["error"]["status"] == "DEADLINE_EXCEEDED"


def test_streaming_through_the_sdk(base: str) -> None:
    client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))
    chunks = list(
        client.models.generate_content_stream(
            model="mini-batched",
            contents="two blue squares",
            config=types.GenerateContentConfig(response_modalities=["IMAGE"], seed=4),
        )
    )
    last = chunks[-1]
    assert last.usage_metadata is not None and last.usage_metadata.candidates_token_count == 1120
    image = last.candidates[0].content.parts[0].as_image()  # type: ignore[index,union-attr]
    assert image is not None and image.image_bytes[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[index]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]


def test_stream_errors_before_the_first_byte_are_plain_errors(base: str) -> None:
    r = httpx.post(f"{base}/v1beta/models/nope:streamGenerateContent?alt=sse", json=body(), headers=HEADERS, timeout=30)
    assert r.status_code == 404 and r.json()["error"]["status"] == "NOT_FOUND"


def metric(base: str, name: str) -> float:
    text = httpx.get(f"{base}/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name.split("{")[0]) and ("{" not in name or line.startswith(name)):
            m = re.match(r"^(\S+)\s+(\S+)$", line)
            if m and (m.group(1) == name or ("{" not in name and m.group(1).startswith(name + "{"))):
                total += float(m.group(2))
    return total
