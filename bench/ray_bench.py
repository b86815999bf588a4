"""Throughput under Ray Serve with 1 and 2 replicas, beside the plain server and the bare pipeline,
all in one run on one machine.

    python -m bench.ray_bench [--seconds 20] [--clients 16] [--model plantain-mini]

1. The bare pipeline (sampling, upscaling to 1024x1024, PNG encoding) at batch 1, 8 and 16.
2. `plantain serve` (one process), then `plantain serve --ray --replicas 1` and `--replicas 2` on a
   local Ray instance; each driven through the google-genai SDK by 1 client and by `--clients`
   clients in closed loops. The machine's cores are split between the replicas (torch threads =
   cores / replicas), so on a CPU two replicas share what one had: the figure that scales is a
   replica per GPU.
Prints one table with each row's ratio to the bare pipeline's best batch and to the plain server,
and writes bench/results/ray_bench.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import server_process

from bench.serve_bench import bare, closed_loop, gemini_call
from plantain.machine import describe, machine

ROOT = Path(__file__).resolve().parent.parent


def measure(args: list[str], threads: int, model: str, clients: int, seconds: float) -> dict[str, Any]:
    env = {"PLANTAIN_THREADS": str(threads), "PLANTAIN_MAX_QUEUE": "64", "PLANTAIN_FIT_BATCH": "1",
           "RAY_USAGE_STATS_ENABLED": "0"}  # fmt: skip
    with server_process(env, args=args) as server:
        closed_loop(2, 5, gemini_call(server.base, model))  # warm-up: every replica's first batch
        one = closed_loop(1, seconds / 2, gemini_call(server.base, model))
        many = closed_loop(clients, seconds, gemini_call(server.base, model))
    return {"one_client": one, "many_clients": many}


def main(
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 20.0,
    clients: Annotated[int, typer.Option(help="Concurrent clients of the throughput runs.")] = 16,
    model: Annotated[str, typer.Option(help="Model ID to serve.")] = "plantain-mini",
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/ray_bench.json",
) -> None:
    console = Console()
    cores = os.cpu_count() or 1
    bare_rows = bare([1, 8, 16], seconds / 2)
    best_n = max(bare_rows, key=lambda n: bare_rows[n]["images_per_s"])
    best = bare_rows[best_n]["images_per_s"]
    runs = {
        "plantain serve": measure([], cores, model, clients, seconds),
        "serve --ray, 1 replica": measure(["--ray", "--replicas", "1"], cores, model, clients, seconds),
        "serve --ray, 2 replicas": measure(["--ray", "--replicas", "2"], max(1, cores // 2), model, clients, seconds),
    }
    plain = runs["plantain serve"]["many_clients"]["images_per_s"]

    table = Table(title=f"{model}, 1024x1024 PNG through google-genai; bare best batch = {best_n}")
    for col in ("what", "images/s", "x bare best", "x plain server", "p50 s", "p95 s", "1-client p50 s", "replies"):
        table.add_column(col)
    for n, r in bare_rows.items():
        table.add_row(f"bare batch {n}", f"{r['images_per_s']:.2f}", f"{r['images_per_s'] / best:.2f}", "",
                      f"{r['seconds_per_batch']:.3f}", "", "", "")  # fmt: skip
    for name, run in runs.items():
        many, one = run["many_clients"], run["one_client"]
        table.add_row(
            f"{name}, {clients} clients", f"{many['images_per_s']:.2f}", f"{many['images_per_s'] / best:.2f}",
            f"{many['images_per_s'] / plain:.2f}", f"{many['p50']:.3f}", f"{many['p95']:.3f}", f"{one['p50']:.3f}",
            ", ".join(f"{k}: {v}" for k, v in sorted(many["codes"].items())),
        )  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    two, one_replica = runs["serve --ray, 2 replicas"]["many_clients"], runs["serve --ray, 1 replica"]["many_clients"]
    summary = {
        "ray_1_replica_x_plain": one_replica["images_per_s"] / plain,
        "ray_2_replicas_x_1_replica": two["images_per_s"] / one_replica["images_per_s"],
    }
    console.print(summary)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"bare": {str(k): v for k, v in bare_rows.items()}, "best_batch": best_n, "clients": clients,
             "runs": runs, "summary": summary, "machine": m, "gpu": "none available on this machine"},
            indent=2,
        )
        + "\n"
    )  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
