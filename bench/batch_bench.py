"""A batch job against the bare pipeline, and interactive latency while one runs.

One run on one machine: the bare pipeline's throughput at each batch size (sampling, upscaling to
1024x1024, PNG encoding; no server), then a real `plantain serve` given (1) a batch job of
`--requests` requests from an uploaded JSONL file through google-genai's `client.batches`, timed
from `batches.create` until the job has succeeded, its result file checked line by line, and
(2) a single interactive client's latency on the idle server and again while a second batch job
runs. Prints a table; writes bench/results/batch_bench.json.
"""

from __future__ import annotations

import io
import json
import statistics
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import API_KEY, server_process

from bench.serve_bench import PROMPTS, bare, gemini_call, percentile
from plantain.machine import describe, machine

ROOT = Path(__file__).resolve().parent.parent


def jsonl(count: int, offset: int = 0) -> bytes:
    lines = [
        {
            "key": f"req-{offset + i}",
            "request": {
                "contents": [{"parts": [{"text": PROMPTS[i % len(PROMPTS)]}]}],
                "generationConfig": {"responseModalities": ["IMAGE"], "seed": offset + i},
            },
        }
        for i in range(count)
    ]
    return ("\n".join(json.dumps(line) for line in lines) + "\n").encode()


def run_job(client: Any, model: str, count: int, offset: int, started: threading.Event | None = None) -> dict[str, Any]:
    """Upload, create, wait; the job's wall time from create to success and its result file checked."""
    from google.genai import types

    uploaded = client.files.upload(
        file=io.BytesIO(jsonl(count, offset)), config=types.UploadFileConfig(mime_type="jsonl", display_name="bench")
    )
    t0 = time.monotonic()
    job = client.batches.create(model=model, src=uploaded.name)
    while True:
        job = client.batches.get(name=job.name)
        if started is not None and not started.is_set() and job.state.name == "JOB_STATE_RUNNING":
            started.set()
        if job.done:
            break
        time.sleep(0.25)
    seconds = time.monotonic() - t0
    assert job.state.name == "JOB_STATE_SUCCEEDED", job.state
    lines = client.files.download(file=job.dest.file_name).decode().splitlines()
    keys = [json.loads(line)["key"] for line in lines]
    ok = sum(1 for line in lines if "response" in json.loads(line))
    assert sorted(keys) == sorted(f"req-{offset + i}" for i in range(count)), "one line per request key"
    return {"requests": count, "seconds": seconds, "images_per_s": ok / seconds, "ok": ok, "lines": len(lines)}


def latencies(base: str, model: str, until: threading.Event | None, count: int, pause: float) -> list[float]:
    """One interactive client: a request, a pause, the next; `count` of them, or until `until` is set."""
    call = gemini_call(base, model)()
    out: list[float] = []
    k = 0
    while (until is None and k < count) or (until is not None and not until.is_set()):
        t0 = time.perf_counter()
        call(0, k)
        out.append(time.perf_counter() - t0)
        k += 1
        time.sleep(pause)
    return out


def main(
    requests: Annotated[int, typer.Option(help="Requests in the measured batch job.")] = 1000,
    during: Annotated[int, typer.Option(help="Requests in the job that runs beside the interactive client.")] = 400,
    seconds: Annotated[float, typer.Option(help="Seconds per bare batch size.")] = 10.0,
    model: Annotated[str, typer.Option(help="Model ID to serve.")] = "plantain-mini",
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/batch_bench.json",
) -> None:
    from google import genai
    from google.genai import types

    console = Console()
    bare_rows = bare([1, 4, 8, 16], seconds)
    best_n = max(bare_rows, key=lambda n: bare_rows[n]["images_per_s"])
    best_ips = bare_rows[best_n]["images_per_s"]

    with server_process({"PLANTAIN_THREADS": "2", "PLANTAIN_FIT_BATCH": "1"}) as server:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=server.base))
        latencies(server.base, model, None, 3, 0.0)  # warm-up: model load, first batch
        job = run_job(client, model, requests, 0)
        idle = latencies(server.base, model, None, 20, 0.2)
        done = threading.Event()
        started = threading.Event()
        beside: dict[str, Any] = {}

        def second_job() -> None:
            try:
                beside.update(run_job(client, model, during, requests, started))
            finally:
                started.set()
                done.set()

        worker = threading.Thread(target=second_job)
        worker.start()
        started.wait()
        busy = latencies(server.base, model, done, 0, 0.2)
        worker.join()

    ratio = job["images_per_s"] / best_ips
    idle_p50, busy_p50 = statistics.median(idle), statistics.median(busy)
    table = Table(title=f"{model}, 1024x1024 PNG; bare best batch = {best_n}")
    for col in ("what", "images/s", "x bare best", "p50 s", "p95 s", "requests"):
        table.add_column(col)
    for n, r in bare_rows.items():
        table.add_row(f"bare batch {n}", f"{r['images_per_s']:.2f}", f"{r['images_per_s'] / best_ips:.2f}",
                      f"{r['seconds_per_batch']:.3f}", "", "")  # fmt: skip
    table.add_row(f"batch job of {requests}", f"{job['images_per_s']:.2f}", f"{ratio:.2f}", "", "", str(requests))
    table.add_row(f"batch job of {during}, beside 1 client", f"{beside['images_per_s']:.2f}",
                  f"{beside['images_per_s'] / best_ips:.2f}", "", "", str(during))  # fmt: skip
    table.add_row("1 client, idle server", "", "", f"{idle_p50:.3f}", f"{percentile(idle, 0.95):.3f}", str(len(idle)))
    table.add_row("1 client, during a batch job", "", "", f"{busy_p50:.3f}", f"{percentile(busy, 0.95):.3f}",
                  str(len(busy)))  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    checks = {
        "batch_throughput_ratio": ratio,
        "batch_throughput_ok": ratio >= 0.95,
        "interactive_latency_ratio": busy_p50 / idle_p50,
        "interactive_latency_ok": busy_p50 / idle_p50 <= 1.5,
    }
    console.print(checks)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "bare": {str(k): v for k, v in bare_rows.items()}, "best_batch": best_n, "job": job, "job_beside": beside,
        "interactive": {"idle": idle, "during_batch": busy, "idle_p50": idle_p50, "during_p50": busy_p50},
        "checks": checks, "machine": m, "gpu": "none available on this machine",
    }  # fmt: skip
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
