"""The Batch API through google-genai against real servers: inlined and file jobs, per-item errors,
cancel and delete, and a job of 500 requests that survives its server being killed three times,
finishing with exactly one result and one charge per request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import io
import json
import os
import random
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types
from sqlalchemy import func, select

from plantain.store.db import Database
from plantain.store.models import BatchItem, LedgerRow
from tests.server_process import API_KEY, ledger_rows, server_process

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow
TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}


def client_for(base: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))


def wait(client: genai.Client, name: str, seconds: float = 300) -> types.BatchJob:
    deadline = time.time() + seconds
    while True:
        job = client.batches.get(name=name)
        if job.state is not None and job.state.name in TERMINAL:
            return job
        assert time.time() < deadline, f"{name} still {job.state}"
        time.sleep(0.3)


def test_inlined_and_file_jobs(tmp_path: Path) -> None:
    with server_process({"PLANTAIN_DATA_DIR": str(tmp_path)}) as server:
        client = client_for(server.base)
        prompts = ["a red circle", "make the circle blue", "three blue squares"]  # the second needs an image
        job = client.batches.create(
            model="gemini-3.1-flash-lite-image",
            src=[
                {
                    "contents": [{"parts": [{"text": p}], "role": "user"}],
                    "config": {"response_modalities": ["IMAGE"]},
                    "metadata": {"key": f"req-{i}"},
                }
                for i, p in enumerate(prompts)
            ],
            config={"display_name": "three"},
        )
        assert job.display_name == "three"
        done = wait(client, job.name or "")
        assert done.state == types.JobState.JOB_STATE_SUCCEEDED
        replies = done.dest.inlined_responses or []  # type: ignore[union-attr]
        assert [r.metadata for r in replies] == [{"key": f"req-{i}"} for i in range(3)]
        assert replies[0].response is not None and replies[0].response.parts[0].inline_data is not None  # type: ignore[index]
        assert replies[1].error is not None and replies[1].error.code == 400
        with pytest.raises(errors.ClientError) as finished:
            client.batches.cancel(name=done.name or "")
        assert finished.value.code == 400
        request = {"contents": [{"parts": [{"text": "a green triangle"}]}]}
        lines = "\n".join(json.dumps({"key": f"k{i}", "request": request}) for i in range(4))
        uploaded = client.files.upload(file=io.BytesIO(lines.encode()), config={"mime_type": "jsonl"})
        from_file = wait(
            client, client.batches.create(model="gemini-3.1-flash-lite-image", src=uploaded.name).name or ""
        )
        results = client.files.download(file=from_file.dest.file_name).decode().splitlines()  # type: ignore[union-attr,arg-type]
        assert sorted(json.loads(line)["key"] for line in results) == ["k0", "k1", "k2", "k3"]
        assert {b.name for b in client.batches.list()} == {done.name, from_file.name}
        client.batches.delete(name=done.name or "")
        with pytest.raises(errors.ClientError):
            client.batches.get(name=done.name or "")
        bad = "\n".join([lines.splitlines()[0], lines.splitlines()[0]])
        dup = client.files.upload(file=io.BytesIO(bad.encode()), config={"mime_type": "jsonl"})
        with pytest.raises(errors.ClientError) as repeated:
            client.batches.create(model="gemini-3.1-flash-lite-image", src=dup.name)
        assert repeated.value.code == 400 and "repeats the key" in (repeated.value.message or "")
    rows = ledger_rows(tmp_path)
    # 2 inlined successes and 4 from the file, each charged once at the batch price; the failure costs nothing.
    assert len(rows) == 6 and all(r.batch and r.cost_micro_usd > 0 for r in rows)


def test_a_job_of_500_survives_three_kills_and_runs_each_request_once(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path), "PLANTAIN_BATCH_LEASE_SECONDS": "2"}
    count = 500
    lines = "\n".join(
        json.dumps({"key": f"r{i:03d}", "request": {"contents": [{"parts": [{"text": "a red circle"}]}],
                    "generationConfig": {"imageConfig": {"imageSize": "512"}, "seed": i}}})
        for i in range(count)
    )  # fmt: skip
    db = Database(f"sqlite:///{tmp_path / 'plantain.db'}")

    def done_items() -> int:
        with db.session() as session:
            return int(session.scalar(select(func.count()).where(BatchItem.state != "pending")) or 0)

    kills = sorted(random.Random(7).sample(range(40, count - 40), 3))
    name = ""
    for phase in range(len(kills) + 1):  # a server per phase; each but the last is killed mid-job
        with server_process(env) as server:
            client = client_for(server.base)
            if not name:
                uploaded = client.files.upload(file=io.BytesIO(lines.encode()), config={"mime_type": "jsonl"})
                name = client.batches.create(model="plantain-mini", src=uploaded.name).name or ""
            if phase < len(kills):
                deadline = time.time() + 300
                while done_items() < kills[phase]:
                    assert time.time() < deadline, f"stuck at {done_items()} of {count}"
                    time.sleep(0.05)
                os.kill(server.pid, signal.SIGKILL)
                continue
            job = wait(client, name, 600)
            assert job.state == types.JobState.JOB_STATE_SUCCEEDED
            result_name = job.dest.file_name  # type: ignore[union-attr]
            results = client.files.download(file=result_name).decode().splitlines()  # type: ignore[arg-type]
            listed = [f for f in client.files.list() if f.name == result_name]
            stats = httpx.get(f"{server.base}/v1beta/{name}", headers={"x-goog-api-key": API_KEY}).json()
    keys = [json.loads(line)["key"] for line in results]
    assert sorted(keys) == [f"r{i:03d}" for i in range(count)]  # exactly one line per request
    assert all("response" in json.loads(line) for line in results)
    assert listed and listed[0].size_bytes == len(("\n".join(results) + "\n").encode())
    assert stats["metadata"]["batchStats"]["successfulRequestCount"] == str(count)
    with db.session() as session:
        charged = session.execute(select(LedgerRow.request_id)).scalars().all()
    db.close()
    assert len(charged) == count and len(set(charged)) == count  # charged once each


class Hooks(http.server.BaseHTTPRequestHandler):
    """Records each notice; answers the first one 500, so the server must deliver it again."""

    received: list[tuple[dict[str, str], bytes]]
    fail_first: bool

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        status = 500 if self.fail_first and len(self.received) == 1 else 200
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def listener(fail_first: bool) -> tuple[http.server.HTTPServer, type[Hooks]]:
    handler = type("Handler", (Hooks,), {"received": [], "fail_first": fail_first})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def test_webhook_notices_go_to_allowed_hosts_only_signed_and_retried(tmp_path: Path) -> None:
    allowed, allowed_hooks = listener(fail_first=True)
    other, other_hooks = listener(fail_first=False)
    secret = base64.b64encode(b"sixteen byte key").decode()
    env = {
        "PLANTAIN_DATA_DIR": str(tmp_path),
        "PLANTAIN_WEBHOOK_HOSTS": f"127.0.0.1:{allowed.server_port}",
        "PLANTAIN_WEBHOOK_SECRET": f"whsec_{secret}",
    }
    try:
        with server_process(env) as server:
            client = client_for(server.base)
            uris = [f"http://127.0.0.1:{allowed.server_port}/hook", f"http://127.0.0.1:{other.server_port}/hook"]
            job = client.batches.create(
                model="plantain-mini",
                src=[{"contents": [{"parts": [{"text": "a red circle"}]}]}],
                config=types.CreateBatchJobConfig(
                    webhook_config=types.WebhookConfig(uris=uris, user_metadata={"run": 7})
                ),
            )
            assert wait(client, job.name or "").state == types.JobState.JOB_STATE_SUCCEEDED
            deadline = time.time() + 30
            while len(allowed_hooks.received) < 2 and time.time() < deadline:
                time.sleep(0.2)
    finally:
        allowed.shutdown()
        other.shutdown()
    assert other_hooks.received == []  # not an allowed host: never contacted
    assert len(allowed_hooks.received) == 2  # refused once, delivered again
    headers, body = allowed_hooks.received[-1]
    notice = json.loads(body)
    assert notice["type"] == "batch.succeeded"
    assert notice["data"]["name"] == job.name and notice["data"]["user_metadata"] == {"run": 7}
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    mac = hmac.new(b"sixteen byte key", signed, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()
