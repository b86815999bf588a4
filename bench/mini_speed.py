"""Speed of one served image from the built-in mini model, and of a batch of 8.

    python -m bench.mini_speed [--repeats 10]

A served image is the whole path a request pays for: text encoding, sampling, upscaling to
1024x1024 and PNG encoding. Each stage is timed apart, so the share spent outside the model is
visible beside the bare sampling time. Prints a table and writes bench/results/mini_speed.json.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.console import Console
from rich.table import Table

from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.core.settings import Settings
from plantain.imaging.encode import encode_png, upscale
from plantain.machine import describe, machine
from plantain.mini.evaluate import mini_backend

ROOT = Path(__file__).resolve().parent.parent
BARS = {1: 1.0, 8: 3.0}
PROMPTS = [
    "two red circles on a white background",
    "a large blue square at the top left",
    "a green triangle to the left of a yellow diamond on a sky background",
    "three pink diamonds on a black background",
    "a small cyan circle in the center on a beige background",
    "a purple square above an orange circle",
    "four yellow triangles on a gray background",
    "a red diamond at the bottom right",
]


def time_served(backend: DiffusersBackend, prompts: list[str], seed: int, level: int) -> dict[str, float]:
    pipe = backend.pipe
    t0 = time.perf_counter()
    pipe.encode_prompt(prompts + [""] * len(prompts))
    t1 = time.perf_counter()
    out = pipe(
        prompts,
        num_inference_steps=backend.capabilities.steps,
        guidance_scale=backend.guidance_scale,
        generator=[torch.Generator().manual_seed(seed + i) for i in range(len(prompts))],
    )
    t2 = time.perf_counter()
    big = [upscale(im, (1024, 1024)) for im in out.images]
    t3 = time.perf_counter()
    data = [encode_png(im, level) for im in big]
    t4 = time.perf_counter()
    text = t1 - t0
    # The pipeline call encodes the prompt itself; the encoding measured alone is taken out of it.
    return {
        "text_encoding": text,
        "sampling": (t2 - t1) - text,
        "upscale": t3 - t2,
        "png": t4 - t3,
        "served": (t2 - t1) + (t4 - t2),
        "png_bytes": sum(len(d) for d in data) / len(data),
    }


def main(
    repeats: Annotated[int, typer.Option(help="Timed runs per batch size (median reported).")] = 10,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/mini_speed.json",
) -> None:
    torch.set_num_threads(threads)
    settings = Settings()
    backend = mini_backend()
    rows: dict[int, dict[str, float]] = {}
    for n in BARS:
        prompts = PROMPTS[:n]
        time_served(backend, prompts, 0, settings.png_compress_level)  # warm-up
        runs = [time_served(backend, prompts, r, settings.png_compress_level) for r in range(repeats)]
        rows[n] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    m = machine()
    table = Table(title=f"mini model, served 1024x1024 PNG (median of {repeats}); {backend.capabilities.steps} steps")
    for col in (
        "batch",
        "text enc s",
        "sampling s",
        "upscale s",
        "PNG s",
        "served s",
        "outside model",
        "bar s",
        "pass",
    ):
        table.add_column(col)
    for n, r in rows.items():
        outside = 1 - r["sampling"] / r["served"]
        table.add_row(
            str(n),
            f"{r['text_encoding']:.3f}",
            f"{r['sampling']:.3f}",
            f"{r['upscale']:.3f}",
            f"{r['png']:.3f}",
            f"{r['served']:.3f}",
            f"{outside:.0%}",
            f"{BARS[n]:.1f}",
            "yes" if r["served"] <= BARS[n] else "NO",
        )
    console = Console()
    console.print(table)
    console.print(f"on {describe(m)}")
    results = {
        "steps": backend.capabilities.steps,
        "guidance": backend.guidance_scale,
        "png_compress_level": settings.png_compress_level,
        "repeats": repeats,
        "batches": {str(n): {k: round(v, 4) for k, v in r.items()} for n, r in rows.items()},
        "bars_seconds": {str(n): b for n, b in BARS.items()},
        "passed": {str(n): rows[n]["served"] <= b for n, b in BARS.items()},
        "machine": m,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
