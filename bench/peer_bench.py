"""Plantain beside what users would pick instead, serving the same built-in pipeline: LitServe with
its batching and Ray Serve with `@serve.batch`, all in one run on one machine.

    python -m bench.peer_bench [--seconds 20] [--clients 16]

Each server is driven by the same plain-HTTP clients (JSON in, base64 PNG out: Plantain through its
Gemini REST route). One client: `--pairs` requests, each just after a bare batch-1 draw in this
process (sampling, upscaling to 1024x1024, PNG encoding) drawn with the server's processes paused,
and the ratio of the two medians. `--clients` clients in closed loops: throughput over the bare pipeline's best batch,
measured just before and just after the server (their mean), so a slow spell of the machine weighs
on a server and its reference alike. The three servers take turns `--rounds` times (in a new order
each round), and each figure is the mean of its rounds. Every server batches up to 16 images and uses
the same torch threads. Prints one table and writes bench/results/peer_bench.json.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import psutil
import torch
import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import API_KEY, free_port, server_process

from bench.serve_bench import PROMPTS, Call, bare, closed_loop
from plantain.core.jobs import ImageJob
from plantain.imaging.encode import encode_png
from plantain.machine import describe, machine
from plantain.mini.evaluate import mini_backend

ROOT = Path(__file__).resolve().parent.parent
THREADS = 2
MAX_BATCH = 16


def plantain_call(base: str) -> Callable[[], Call]:
    def make() -> Call:
        client = httpx.Client(base_url=base, timeout=600, headers={"x-goog-api-key": API_KEY})

        def call(i: int, k: int) -> None:
            body = {
                "contents": [{"parts": [{"text": PROMPTS[(i + k) % len(PROMPTS)]}]}],
                "generationConfig": {"seed": i * 1000 + k, "responseModalities": ["IMAGE"]},
            }
            r = client.post("/v1beta/models/plantain-mini:generateContent", json=body)
            r.raise_for_status()
            assert r.json()["candidates"][0]["content"]["parts"][0]["inlineData"]["data"]

        return call

    return make


def peer_call(url: str) -> Callable[[], Call]:
    def make() -> Call:
        client = httpx.Client(timeout=600)

        def call(i: int, k: int) -> None:
            r = client.post(url, json={"prompt": PROMPTS[(i + k) % len(PROMPTS)], "seed": i * 1000 + k})
            r.raise_for_status()
            assert r.json()["image"]

        return call

    return make


@contextmanager
def plantain() -> Iterator[tuple[Callable[[], Call], int]]:
    env = {"PLANTAIN_THREADS": str(THREADS), "PLANTAIN_MAX_QUEUE": "64", "PLANTAIN_FIT_BATCH": "1"}
    with server_process(env) as server:
        yield plantain_call(server.base), server.pid


@contextmanager
def peer(module: str, path: str) -> Iterator[tuple[Callable[[], Call], int]]:
    port = free_port()
    args = ["--port", str(port), "--threads", str(THREADS), "--max-batch", str(MAX_BATCH)]
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    make = peer_call(f"http://127.0.0.1:{port}{path}")
    try:
        deadline = time.time() + 300
        while True:  # ready when it draws
            if proc.poll() is not None:
                raise RuntimeError(f"{module} exited with {proc.returncode}")
            try:
                make()(0, 0)
                break
            except (httpx.HTTPError, AssertionError):
                if time.time() > deadline:
                    raise RuntimeError(f"{module} did not answer in 300 s") from None
                time.sleep(1)
        yield make, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


SERVERS: dict[str, Callable[[], Any]] = {
    "Plantain": plantain,
    "LitServe": lambda: peer("bench.peers.litserve_app", "/predict"),
    "Ray Serve": lambda: peer("bench.peers.rayserve_app", "/"),
}


@contextmanager
def paused(pid: int) -> Iterator[None]:
    """The server and every process it started stopped (SIGSTOP) for the block: a bare draw beside
    it runs on a machine as quiet as before the server started (some servers poll while idle)."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for p in procs:
        p.suspend()
    try:
        yield
    finally:
        for p in procs:
            p.resume()


def paired(make: Callable[[], Call], pid: int, backend: Any, pairs: int) -> dict[str, Any]:
    """One client, each request beside a bare batch-1 draw just before it, with the server paused:
    the ratio of their medians follows the machine's slow and fast spells, which whole runs minutes
    apart do not."""
    call = make()
    job = [ImageJob(PROMPTS[0], 0)]
    served, alone = [], []
    for k in range(pairs):
        with paused(pid):
            start = time.perf_counter()
            encode_png(backend.generate(job)[0])
            alone.append(time.perf_counter() - start)
        start = time.perf_counter()
        call(0, k)
        served.append(time.perf_counter() - start)
    return {"pairs": pairs, "p50": statistics.median(served), "bare_batch_1_p50": statistics.median(alone),
            "p50_x_bare_batch_1": statistics.median(served) / statistics.median(alone)}  # fmt: skip


def reference(seconds: float) -> dict[str, float]:
    rows = bare([1, 8, MAX_BATCH], seconds)
    best = max(rows, key=lambda n: rows[n]["images_per_s"])
    return {"batch_1_seconds": rows[1]["seconds_per_batch"], "best_images_per_s": rows[best]["images_per_s"],
            "best_batch": best}  # fmt: skip


def main(
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 20.0,
    clients: Annotated[int, typer.Option(help="Concurrent clients of the throughput runs.")] = 16,
    pairs: Annotated[int, typer.Option(help="One-client requests, each beside a bare draw.")] = 40,
    rounds: Annotated[int, typer.Option(help="Turns of all three servers; figures are their means.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/peer_bench.json",
) -> None:
    console = Console()
    torch.set_num_threads(THREADS)
    backend = mini_backend()
    refs = [reference(seconds / 2)]
    rounds_by_server: dict[str, list[dict[str, Any]]] = {name: [] for name in SERVERS}
    for turn in range(rounds):
        # Each round in another order, so that no server always follows the same one.
        names = list(SERVERS)[turn % len(SERVERS) :] + list(SERVERS)[: turn % len(SERVERS)]
        for name in names:
            with SERVERS[name]() as (make, pid):
                closed_loop(2, 5, make)  # warm-up: the first batches
                one = paired(make, pid, backend, pairs)
                many = closed_loop(clients, seconds, make)
            refs.append(reference(seconds / 2))
            before, after = refs[-2], refs[-1]
            best = statistics.mean([before["best_images_per_s"], after["best_images_per_s"]])
            rounds_by_server[name].append({
                "one_client": one, "many_clients": many, "bare_before": before, "bare_after": after,
                "one_client_p50_x_bare_batch_1": one["p50_x_bare_batch_1"],
                "many_clients_x_bare_best": many["images_per_s"] / best,
            })  # fmt: skip
    runs: dict[str, dict[str, Any]] = {}
    for name, done in rounds_by_server.items():
        runs[name] = {
            "rounds": done,
            "many_clients_images_per_s": statistics.mean(r["many_clients"]["images_per_s"] for r in done),
            "many_clients_p50": statistics.mean(r["many_clients"]["p50"] for r in done),
            "many_clients_x_bare_best": statistics.mean(r["many_clients_x_bare_best"] for r in done),
            "one_client_p50": statistics.mean(r["one_client"]["p50"] for r in done),
            "one_client_bare_batch_1_p50": statistics.mean(r["one_client"]["bare_batch_1_p50"] for r in done),
            "one_client_p50_x_bare_batch_1": statistics.mean(r["one_client_p50_x_bare_batch_1"] for r in done),
            "codes": dict(sum((Counter(r["many_clients"]["codes"]) for r in done), Counter())),
        }

    table = Table(title=f"plantain-mini 1024x1024 PNG over HTTP, {clients} and 1 clients; each server x its bare runs")
    for col in ("server", f"{clients} clients images/s", "x bare best", "rounds", "1 client p50 s",
                "bare batch 1 p50 s", "x bare batch 1", "rounds", "replies"):  # fmt: skip
        table.add_column(col)
    for name, r in runs.items():
        table.add_row(
            name, f"{r['many_clients_images_per_s']:.2f}", f"{r['many_clients_x_bare_best']:.3f}",
            ", ".join(f"{x['many_clients_x_bare_best']:.3f}" for x in r["rounds"]),
            f"{r['one_client_p50']:.3f}", f"{r['one_client_bare_batch_1_p50']:.3f}",
            f"{r['one_client_p50_x_bare_batch_1']:.3f}",
            ", ".join(f"{x['one_client_p50_x_bare_batch_1']:.3f}" for x in r["rounds"]),
            ", ".join(f"{k}: {v}" for k, v in sorted(r["codes"].items())),
        )  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    ours = runs["Plantain"]
    others = [r for n, r in runs.items() if n != "Plantain"]
    checks = {
        "ahead_at_many_clients": all(ours["many_clients_x_bare_best"] > o["many_clients_x_bare_best"] for o in others),
        "ahead_at_one_client": all(
            ours["one_client_p50_x_bare_batch_1"] < o["one_client_p50_x_bare_batch_1"] for o in others
        ),
    }
    console.print(checks)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"clients": clients, "runs": runs, "checks": checks, "machine": m,
                    "gpu": "none available on this machine"}, indent=2) + "\n"
    )  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
