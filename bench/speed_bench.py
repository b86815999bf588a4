"""Each speed option of a catalog entry (`[models.X.speed]`), measured on the device this runs on.

    python -m bench.speed_bench [--model plantain-mini] [--catalog FILE] [--batch 16] [--repeats 3]

For each variant (the entry as it is, then one option at a time, then the ones that helped together)
the entry's pipeline is loaded with it, warmed up, and timed drawing 1024x1024 images at batch 1
and at `--batch` (median of `--repeats`). On a GPU each row also gets its cost per 1,000 images at
$2.50 per GPU-hour. Prints one table and writes bench/results/speed_bench.json.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.table import Table

from plantain.backends.base import BackendUnavailable
from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.backends.registry import load_backend
from plantain.core.catalog import ModelEntry, Speed, load_catalog
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.machine import describe, machine

ROOT = Path(__file__).resolve().parent.parent
GPU_HOUR_USD = 2.50
PROMPTS = ["two red circles on a white background", "a large blue square at the top left", "three pink diamonds"]


def variants(device: str) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {
        "as in the catalog": {},
        "dtype bfloat16": {"dtype": "bfloat16"},
        "channels-last": {"channels_last": True},
        "torch.compile": {"compile": True},
        "attention native (SDPA)": {"attention": "native"},
    }
    if device == "cuda":
        rows["dtype float16"] = {"dtype": "float16"}
        rows["attention flash"] = {"attention": "flash"}
        rows["torch.compile max-autotune"] = {"compile": True, "compile_mode": "max-autotune-no-cudagraphs"}
        rows["CPU offload (model)"] = {"offload": "model"}
    return rows


def timed(backend: DiffusersBackend, n: int, repeats: int) -> float:
    jobs = [ImageJob(PROMPTS[i % len(PROMPTS)], i) for i in range(n)]
    backend.generate(jobs)  # this batch shape's first run (a compiled denoiser compiles here)
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        backend.generate(jobs)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(entry: ModelEntry, options: dict[str, Any], batch: int, repeats: int) -> dict[str, Any]:
    speed = entry.speed.model_copy(update=options)
    start = time.perf_counter()
    try:
        backend = load_backend(entry.model_copy(update={"speed": Speed(**speed.model_dump())}), Settings())
    except BackendUnavailable as exc:
        return {"options": options, "error": str(exc)}
    assert isinstance(backend, DiffusersBackend)
    backend.warm_up()
    load = time.perf_counter() - start
    one = timed(backend, 1, repeats)
    many = timed(backend, batch, repeats)
    row = {"options": options, "load_s": load, "warmup_s": backend.warmup_seconds, "batch_1_s": one,
           f"batch_{batch}_s": many, "images_per_s": batch / many}  # fmt: skip
    if torch.cuda.is_available():
        row["usd_per_1000_images"] = 1000 / row["images_per_s"] / 3600 * GPU_HOUR_USD
        row["peak_gpu_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
        torch.cuda.reset_peak_memory_stats()
    del backend
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return row


def main(
    model: Annotated[str, typer.Option(help="Catalog model ID.")] = "plantain-mini",
    catalog: Annotated[Path | None, typer.Option(help="Catalog file (default: the packaged one).")] = None,
    batch: Annotated[int, typer.Option(help="The larger batch timed.")] = 16,
    repeats: Annotated[int, typer.Option(help="Timed runs per batch size (median).")] = 3,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/speed_bench.json",
) -> None:
    console = Console()
    entry = load_catalog(catalog).get(model)
    if entry is None:
        raise typer.BadParameter(f"{model} is not in the catalog")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = {name: measure(entry, options, batch, repeats) for name, options in variants(device).items()}
    base = rows["as in the catalog"]
    helped = {k: v for name, r in rows.items() if "error" not in r and name != "as in the catalog"
              and r["images_per_s"] > 1.03 * base["images_per_s"] for k, v in r["options"].items()}  # fmt: skip
    if len(helped) > 1:
        rows["together: " + ", ".join(f"{k}={v}" for k, v in helped.items())] = measure(entry, helped, batch, repeats)

    table = Table(title=f"{model} speed options, 1024x1024, on {device}")
    for col in ("variant", "batch 1 s", f"batch {batch} s", "images/s", "x as in catalog", "warm-up s", "$/1000"):
        table.add_column(col)
    for name, r in rows.items():
        if "error" in r:
            table.add_row(name, "refused: " + r["error"], "", "", "", "", "")
            continue
        cost = f"{r['usd_per_1000_images']:.4f}" if "usd_per_1000_images" in r else ""
        table.add_row(name, f"{r['batch_1_s']:.3f}", f"{r[f'batch_{batch}_s']:.3f}", f"{r['images_per_s']:.2f}",
                      f"{r['images_per_s'] / base['images_per_s']:.2f}", f"{r['warmup_s']:.1f}", cost)  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": model, "device": device, "batch": batch, "rows": rows, "machine": m,
                               "gpu_hour_usd": GPU_HOUR_USD}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
