"""The server against the bare pipeline, everything in one run on one machine.

    python -m bench.serve_bench [--seconds 20] [--model plantain-mini]

1. The bare pipeline (sampling, upscaling to 1024x1024 and PNG encoding; no server) at batch 1 and at
   batch sizes up to the model's maximum, to find its best batch.
2. `plantain serve` in its own process, driven through the google-genai SDK by 1, 4, 16 and 64
   concurrent clients in closed loops.
3. The same server through the openai SDK's Images API by 16 clients: plain replies, streamed
   replies without previews, and streamed replies with two previews (partial_images=2) per image.
Prints one table (images/s, p50/p95/p99 latency, peak RSS, errors) with the ratios to the bare
pipeline, and writes bench/results/serve_bench.json.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
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


# One request of a closed-loop client: (client index, request index) -> None, raising on failure.
Call = Callable[[int, int], None]


def closed_loop(clients: int, seconds: float, make_call: Callable[[], Call]) -> dict[str, Any]:
    """`clients` threads, each sending its next request as soon as the last one is answered, for
    `seconds`. Throughput counts the replies that arrived inside the window, over the window (the
    requests still running when it closes are waited for and not counted)."""
    latencies: list[float] = []
    ends: list[float] = []
    codes: Counter[str] = Counter()
    lock = threading.Lock()
    begin = time.monotonic()
    stop = begin + seconds

    def client_loop(i: int) -> None:
        call = make_call()
        k = 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                call(i, k)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                    ends.append(time.monotonic())
                    codes["200"] += 1
            except Exception as exc:  # the SDKs' errors, by status code
                with lock:
                    codes[str(getattr(exc, "code", None) or getattr(exc, "status_code", type(exc).__name__))] += 1
                time.sleep(0.05)
            k += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    inside = sum(1 for e in ends if e <= stop)
    return {
        "clients": clients,
        "images": inside,
        "images_per_s": inside / seconds,
        "p50": percentile(latencies, 0.5) if latencies else float("nan"),
        "p95": percentile(latencies, 0.95) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99) if latencies else float("nan"),
        "codes": dict(codes),
    }


def gemini_call(base: str, model: str, key: str = API_KEY) -> Callable[[], Call]:
    def make() -> Call:
        from google import genai
        from google.genai import types

        client = genai.Client(api_key=key, http_options=types.HttpOptions(base_url=base))
        cfg = types.GenerateContentConfig(response_modalities=["IMAGE"])

        def call(i: int, k: int) -> None:
            r = client.models.generate_content(
                model=model,
                contents=PROMPTS[(i + k) % len(PROMPTS)],
                config=cfg.model_copy(update={"seed": i * 1000 + k}),
            )
            assert r.candidates and r.candidates[0].content.parts[0].inline_data.data  # type: ignore[index,union-attr]

        return call

    return make


def openai_call(base: str, model: str, partials: int | None) -> Callable[[], Call]:
    """`partials`: None for plain replies, else a stream with that many previews per image."""

    def make() -> Call:
        import openai

        client = openai.OpenAI(base_url=f"{base}/v1", api_key=API_KEY, max_retries=0)

        def call(i: int, k: int) -> None:
            prompt, seed = PROMPTS[(i + k) % len(PROMPTS)], {"seed": i * 1000 + k}
            if partials is None:
                r = client.images.generate(model=model, prompt=prompt, size="1024x1024", extra_body=seed)
                assert r.data and r.data[0].b64_json
                return
            stream = client.images.generate(
                model=model, prompt=prompt, size="1024x1024", stream=True, partial_images=partials, extra_body=seed
            )
            events = list(stream)
            assert events[-1].type == "image_generation.completed" and len(events) == partials + 1

        return call

    return make


def main(
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 20.0,
    model: Annotated[str, typer.Option(help="Model ID to serve.")] = "plantain-mini",
    rounds: Annotated[int, typer.Option(help="Turns of the 16-client runs, route after route.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/serve_bench.json",
) -> None:
    console = Console()
    batch_sizes = [1, 2, 4, 8, 16]
    bare_rows = bare(batch_sizes, seconds / 2)
    best_n = max(bare_rows, key=lambda n: bare_rows[n]["images_per_s"])
    bare_1 = bare_rows[1]["seconds_per_batch"]
    best_ips = bare_rows[best_n]["images_per_s"]

    server_rows = []
    with server_process({"PLANTAIN_THREADS": "2", "PLANTAIN_MAX_QUEUE": "64", "PLANTAIN_FIT_BATCH": "1"}) as server:
        base, pid = server.base, server.pid
        closed_loop(1, 3, gemini_call(base, model))  # warm-up: model load, first batch
        for clients in (1, 4, 64):
            row = closed_loop(clients, seconds, gemini_call(base, model))
            server_rows.append({**row, "route": "gemini", "peak_rss_mb": peak_rss_mb(pid)})
        # The 16-client runs, by route, in turns (each route `rounds` times), so that a slow spell of
        # the machine does not fall on one route alone; each route's figure is its rounds' mean.
        routes: dict[str, Callable[[], Call]] = {
            "gemini": gemini_call(base, model),
            "openai": openai_call(base, model, None),
            "openai stream": openai_call(base, model, 0),
            "openai stream, 2 previews": openai_call(base, model, 2),
        }
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in routes}
        for _ in range(rounds):
            for name, make in routes.items():
                closed_loop(16, 2, make)  # settle the batches into this route's rhythm
                runs[name].append(closed_loop(16, seconds, make))
        for name, rows in runs.items():
            merged = {
                "clients": 16,
                "images": sum(r["images"] for r in rows),
                "images_per_s": statistics.mean(r["images_per_s"] for r in rows),
                "rounds": [r["images_per_s"] for r in rows],
                "p50": statistics.mean(r["p50"] for r in rows),
                "p95": max(r["p95"] for r in rows),
                "p99": max(r["p99"] for r in rows),
                "codes": dict(sum((Counter(r["codes"]) for r in rows), Counter())),
            }
            server_rows.append({**merged, "route": name, "peak_rss_mb": peak_rss_mb(pid)})

    table = Table(title=f"{model} served 1024x1024 PNG; bare best batch = {best_n}")
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
            f"{r['route']}, {r['clients']} clients", f"{r['images_per_s']:.2f}", f"{r['images_per_s'] / best_ips:.2f}",
            f"{r['p50']:.3f}", f"{r['p95']:.3f}", f"{r['p99']:.3f}", f"{r['p50'] / bare_1:.3f}",
            f"{r['peak_rss_mb']:.0f}", ", ".join(f"{k}: {v}" for k, v in sorted(r["codes"].items())),
        )  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    one = server_rows[0]
    by_route = {r["route"]: r for r in server_rows if r["clients"] == 16}
    sixteen = by_route["gemini"]
    sixty_four = next(r for r in server_rows if r["clients"] == 64)
    openai_ratio = by_route["openai"]["images_per_s"] / best_ips
    gemini_ratio = sixteen["images_per_s"] / best_ips
    preview_cost = 1 - by_route["openai stream, 2 previews"]["images_per_s"] / by_route["openai stream"]["images_per_s"]
    checks = {
        "one_client_latency_ratio": one["p50"] / bare_1,
        "one_client_latency_ok": one["p50"] / bare_1 <= 1.05,
        "sixteen_clients_throughput_ratio": sixteen["images_per_s"] / best_ips,
        "sixteen_clients_throughput_ok": sixteen["images_per_s"] / best_ips >= 0.90,
        "sixty_four_clients_only_429": set(sixty_four["codes"]) <= {"200", "429"},
        "openai_sixteen_clients_throughput_ratio": openai_ratio,
        "openai_within_5_percent_of_gemini": abs(openai_ratio - gemini_ratio) <= 0.05 * gemini_ratio,
        "two_previews_throughput_cost": preview_cost,
        "two_previews_cost_at_most_10_percent": preview_cost <= 0.10,
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
