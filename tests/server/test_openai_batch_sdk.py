"""OpenAI's Files and Batch APIs through the real `openai` SDK against a real server: a JSONL of
/v1/images/generations lines uploaded, run as a batch at the batch price, results and errors in
their own files; and Google's SDK on the same /v1 paths, answered in its own dialect."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import openai
import pytest
from google import genai
from google.genai import types
from PIL import Image

from tests.server_process import API_KEY, ledger_rows, server_process

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def line(custom_id: str, prompt: str, **body: object) -> str:
    request = {"model": "gpt-image-1", "prompt": prompt, "size": "1024x1024", **body}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/images/generations", "body": request})


def wait(client: openai.OpenAI, batch_id: str, seconds: float = 120) -> openai.types.Batch:
    deadline = time.time() + seconds
    while True:
        batch = client.batches.retrieve(batch_id)
        if batch.status in ("completed", "failed", "cancelled", "expired"):
            return batch
        assert time.time() < deadline, batch.status
        time.sleep(0.3)


def test_an_images_batch_runs_once_each_with_results_and_errors_in_files(tmp_path: Path) -> None:
    with server_process({"PLANTAIN_DATA_DIR": str(tmp_path)}) as server:
        client = openai.OpenAI(base_url=f"{server.base}/v1", api_key=API_KEY, max_retries=0)
        lines = [
            line("a", "two red circles"),
            line("b", "a blue square at the top left", seed=5),
            line("c", "make the circle blue"),  # an edit instruction with no image: fails when it runs
            line("d", "three pink diamonds", output_format="jpeg"),
        ]
        uploaded = client.files.create(file=("images.jsonl", "\n".join(lines).encode()), purpose="batch")
        assert uploaded.id.startswith("file-") and uploaded.purpose == "batch"
        assert uploaded.bytes == len("\n".join(lines).encode())
        batch = client.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/images/generations",
            completion_window="24h",
            metadata={"run": "one"},
        )
        assert batch.id.startswith("batch_") and batch.metadata == {"run": "one"}
        done = wait(client, batch.id)
        assert done.status == "completed"
        assert done.request_counts is not None
        assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (4, 3, 1)
        assert done.output_file_id and done.error_file_id
        results = [json.loads(x) for x in client.files.content(done.output_file_id).text.splitlines()]
        assert sorted(r["custom_id"] for r in results) == ["a", "b", "d"]
        for r in results:
            assert r["response"]["status_code"] == 200
            image = Image.open(io.BytesIO(base64.b64decode(r["response"]["body"]["data"][0]["b64_json"])))
            assert image.size == (1024, 1024)
            assert image.format == ("JPEG" if r["custom_id"] == "d" else "PNG")
        (failed,) = [json.loads(x) for x in client.files.content(done.error_file_id).text.splitlines()]
        assert failed["custom_id"] == "c" and failed["response"]["status_code"] == 400
        assert failed["response"]["body"]["error"]["message"]

        assert batch.id in [b.id for b in client.batches.list()]
        assert {uploaded.id, done.output_file_id} <= {f.id for f in client.files.list()}
        assert [f.id for f in client.files.list(purpose="batch")] == [uploaded.id]
        with pytest.raises(openai.BadRequestError):
            client.batches.cancel(batch.id)

        # Bad batches are refused whole, in OpenAI's error shape, before anything runs.
        with pytest.raises(openai.BadRequestError) as wrong_endpoint:
            client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert wrong_endpoint.value.param == "endpoint"
        twice = client.files.create(file=("dup.jsonl", "\n".join([lines[0], lines[0]]).encode()), purpose="batch")
        with pytest.raises(openai.BadRequestError) as repeated:
            client.batches.create(input_file_id=twice.id, endpoint="/v1/images/generations", completion_window="24h")
        assert "custom_id" in repeated.value.message
        with pytest.raises(openai.NotFoundError):
            client.batches.retrieve("batch_0000000000000000")

        # A batch cancelled at once ends cancelled.
        many = client.files.create(
            file=("many.jsonl", "\n".join(line(f"m{i}", "a red circle", seed=i) for i in range(40)).encode()),
            purpose="batch",
        )
        started = client.batches.create(
            input_file_id=many.id, endpoint="/v1/images/generations", completion_window="24h"
        )
        assert client.batches.cancel(started.id).status == "cancelled"

        # Paging by cursor: one file (and one batch) a page, the SDK following `after` to the end.
        every_file = [f.id for f in client.files.list()]
        assert len(every_file) == 5 and [f.id for f in client.files.list(limit=1)] == every_file
        every_batch = [b.id for b in client.batches.list()]
        assert every_batch == [started.id, batch.id] and [b.id for b in client.batches.list(limit=1)] == every_batch

        # Google's SDK on the same /v1/files and /v1/batches paths gets Google's answers, and sees
        # the same files (one store), but not OpenAI's batches.
        google = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.base))
        assert uploaded.id.removeprefix("file-") in {(f.name or "").removeprefix("files/") for f in google.files.list()}
        assert list(google.batches.list()) == []

        client.files.delete(uploaded.id)
        with pytest.raises(openai.NotFoundError):
            client.files.retrieve(uploaded.id)

    prefix = f"batches/{batch.id.removeprefix('batch_')}/"
    rows = [r for r in ledger_rows(tmp_path) if r.request_id.startswith(prefix)]
    assert len(rows) == 3 and all(r.batch and r.dialect == "openai-batch" and r.cost_micro_usd > 0 for r in rows)
