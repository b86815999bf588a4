"""Encode time and size of a 1024x1024 output: PNG at each zlib level, WebP and JPEG.

    python -m bench.encode_bench

Two images: a served output of the built-in model (flat colour, upscaled) and a photo-like image
(smooth gradients with fine noise, as open checkpoints produce). Prints a table and writes
bench/results/encode_bench.json; docs/performance.md keeps the table and the choice it supports.
"""

from __future__ import annotations

import io
import json
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from plantain.core.jobs import ImageJob
from plantain.machine import describe, machine
from plantain.mini.evaluate import mini_backend

ROOT = Path(__file__).resolve().parent.parent
FORMATS: list[tuple[str, str, dict[str, object]]] = [
    *[(f"PNG level {lv}", "PNG", {"compress_level": lv}) for lv in (0, 1, 3, 6, 9)],
    ("WebP q90", "WEBP", {"quality": 90, "method": 4}),
    ("WebP lossless", "WEBP", {"lossless": True, "quality": 50, "method": 1}),
    ("JPEG q90", "JPEG", {"quality": 90}),
]


def photo_like(size: int = 1024) -> Image.Image:
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    base = np.stack([np.sin(6 * x + 2 * y), np.cos(5 * y - 3 * x), np.sin(4 * (x + y))], axis=-1)
    img = (base * 0.5 + 0.5) * 200 + rng.normal(0, 8, (size, size, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def measure(image: Image.Image, fmt: str, options: dict[str, object], repeats: int = 7) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeats):
        buf = io.BytesIO()
        t0 = time.perf_counter()
        image.save(buf, format=fmt, **options)
        times.append(time.perf_counter() - t0)
        size = buf.tell()
    return statistics.median(times), size


def main() -> None:
    mini = mini_backend().generate([ImageJob("a green triangle to the left of a yellow diamond", 1)])[0]
    images = {"mini output": mini, "photo-like": photo_like()}
    rows = []
    for label, fmt, options in FORMATS:
        row: dict[str, object] = {"format": label}
        for name, image in images.items():
            seconds, size = measure(image, fmt, options)
            row[name] = {"ms": round(seconds * 1000, 2), "kb": round(size / 1024, 1)}
        rows.append(row)
    table = Table(title="encoding a 1024x1024 output (median of 7)")
    table.add_column("format")
    for name in images:
        table.add_column(f"{name} ms")
        table.add_column(f"{name} KB")
    for row in rows:
        cells = [str(row["format"])]
        for name in images:
            cell = row[name]
            assert isinstance(cell, dict)
            cells += [f"{cell['ms']:.1f}", f"{cell['kb']:.0f}"]
        table.add_row(*cells)
    console = Console()
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    out = ROOT / "bench/results/encode_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "machine": m}, indent=2) + "\n")


if __name__ == "__main__":
    main()
