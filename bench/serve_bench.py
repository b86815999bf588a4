"""The server against the bare pipeline, everything in one run on one machine.

    python -m bench.serve_bench [--seconds 20] [--model plantain-mini]

1. The bare pipeline (sampling, upscaling to 1024x1024 and PNG encoding; no server) at batch 1 and at
   batch sizes up to the model's maximum, to find its best batch.
2. `plantain serve` in its own process, driven through the google-genai SDK by 1, 4, 16 and 64
   concurrent clients in closed loops.
Prints one table (images/s, p50/p95/p99 latency, peak RSS, errors) with the ratios to the bare
pipeline, and writes bench/results/serve_bench.json.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import API_KEY, server_process

from plantain.core.jobs import ImageJob
from plantain.imaging.encode import encode_png
from plantain.machine import describe, machine
from plantain.mini.evaluate import mini_backend

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = ["two red circles on a white background", "a large blue square at the top left", "three pink diamonds"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def bare(batch_sizes: list[int], seconds: float) -> dict[int, dict[str, float]]:
    import torch

    torch.set_num_threads(2)
    backend = mini_backend()
    out: dict[int, dict[str, float]] = {}
    for n in batch_sizes:
        jobs = [ImageJob(PROMPTS[i % len(PROMPTS)], i) for i in range(n)]
        [encode_png(im) for im in backend.generate(jobs)]  # warm-up
        times: list[float] = []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds or len(times) < 5:
            t0 = time.perf_counter()
            [encode_png(im) for im in backend.generate(jobs)]
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        out[n] = {"seconds_per_batch": med, "images_per_s": n / med}
    return out


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drive(base: str, model: str, clients: int, seconds: float) -> dict[str, Any]:
    from google import genai
    from google.genai import errors, types

    latencies: list[float] = []
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    cfg = types.GenerateContentConfig(response_modalities=["IMAGE"])

    def client_loop(i: int) -> None:
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))
        k = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                r = client.models.generate_content(
                    model=model,
                    contents=PROMPTS[(i + k) % len(PROMPTS)],
                    config=cfg.model_copy(update={"seed": i * 1000 + k}),
                )
                assert r.candidates and r.candidates[0].content.parts[0].inline_data.data  # type: ignore[index,union-attr]
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    codes["200"] += 1
            except errors.APIError as exc:
                with lock:
                    codes[str(exc.code)] += 1
                time.sleep(0.05)
            k += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {
        "clients": clients,
        "images": len(latencies),
        "images_per_s": len(latencies) / wall,
        "p50": percentile(latencies, 0.5) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "codes": dict(codes),
    }


def main(
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 20.0,
    model: Annotated[str, typer.Option(help="Model ID to serve.")] = "plantain-mini",
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/serve_bench.json",
) -> None:
    console = Console()
    batch_sizes = [1, 2, 4, 8, 16]
    bare_rows = bare(batch_sizes, seconds / 2)
    best_n = max(bare_rows, key=lambda n: bare_rows[n]["images_per_s"])
    bare_1 = bare_rows[1]["seconds_per_batch"]
    best_ips = bare_rows[best_n]["images_per_s"]

    server_rows = []
    with server_process({"PLANTAIN_THREADS": "2", "PLANTAIN_MAX_QUEUE": "64"}) as server:
        base, pid = server.base, server.pid
        drive(base, model, 1, 3)  # warm-up: model load, first batch
        for clients in (1, 4, 16, 64):
            row = drive(base, model, clients, seconds)
            row["peak_rss_mb"] = peak_rss_mb(pid)
            server_rows.append(row)

    table = Table(title=f"plantain-mini served 1024x1024 PNG; bare best batch = {best_n}")
    for col in (
        "what",
        "images/s",
        "x bare best",
        "p50 s",
        "p95 s",
        "p99 s",
        "p50 / bare b1",
        "peak RSS MB",
        "replies",
    ):
        table.add_column(col)
    for n, r in bare_rows.items():
        table.add_row(f"bare batch {n}", f"{r['images_per_s']:.2f}", f"{r['images_per_s'] / best_ips:.2f}",
                      f"{r['seconds_per_batch']:.3f}", "", "", "", "", "")  # fmt: skip
    for r in server_rows:
        table.add_row(
            f"server, {r['clients']} clients", f"{r['images_per_s']:.2f}", f"{r['images_per_s'] / best_ips:.2f}",
            f"{r['p50']:.3f}", f"{r['p95']:.3f}", f"{r['p99']:.3f}", f"{r['p50'] / bare_1:.3f}",
            f"{r['peak_rss_mb']:.0f}", ", ".join(f"{k}: {v}" for k, v in sorted(r["codes"].items())),
        )  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    one = server_rows[0]
    sixteen = next(r for r in server_rows if r["clients"] == 16)
    sixty_four = next(r for r in server_rows if r["clients"] == 64)
    checks = {
        "one_client_latency_ratio": one["p50"] / bare_1,
        "one_client_latency_ok": one["p50"] / bare_1 <= 1.05,
        "sixteen_clients_throughput_ratio": sixteen["images_per_s"] / best_ips,
        "sixteen_clients_throughput_ok": sixteen["images_per_s"] / best_ips >= 0.90,
        "sixty_four_clients_only_429": set(sixty_four["codes"]) <= {"200", "429"},
    }
    console.print(checks)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"bare": {str(k): v for k, v in bare_rows.items()}, "best_batch": best_n, "server": server_rows,
             "checks": checks, "machine": m, "gpu": "none available on this machine"},
            indent=2,
        )
        + "\n"
    )  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
