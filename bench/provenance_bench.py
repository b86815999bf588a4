"""Provenance marks: what each costs an image, and how the watermark survives what happens to an
image after it leaves the server.

    python -m bench.provenance_bench [--images 24] [--size 1024]

Draws `--images` pictures with the built-in model (varied prompts, seeds), marks each as the server
does, then for each alteration (JPEG at several qualities, WebP, resizing, with and without bringing
the image back to its size before reading, cropping) counts the images whose watermark is still
found (29 of 32 bits) and the mean bits matched; unmarked pictures give the false-positive row.
Times the watermark, the C2PA signature and the reading per image. Prints tables and writes
bench/results/provenance_bench.json.
"""

from __future__ import annotations

import io
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from PIL import Image
from rich.console import Console
from rich.table import Table

from plantain import __version__
from plantain.backends.registry import load_backend
from plantain.core.catalog import load_catalog
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.imaging.credentials import Credentials, make_certificates, read_credentials
from plantain.imaging.encode import encode_image
from plantain.imaging.watermark import embed, read
from plantain.machine import describe, machine

ROOT = Path(__file__).resolve().parent.parent
PROMPTS = [
    "two red circles on a white background", "a large blue square at the top left", "three pink diamonds",
    "a green star on a black background", "a yellow triangle and a purple circle", "four orange squares",
]  # fmt: skip


def jpeg(quality: int) -> Callable[[Image.Image], Image.Image]:
    def f(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, format="JPEG", quality=quality)
        return Image.open(buf)

    return f


def webp(quality: int) -> Callable[[Image.Image], Image.Image]:
    def f(im: Image.Image) -> Image.Image:
        buf = io.BytesIO()
        im.save(buf, format="WEBP", quality=quality)
        return Image.open(buf)

    return f


def resized(scale: float) -> Callable[[Image.Image], Image.Image]:
    return lambda im: im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)


def cropped(keep: float) -> Callable[[Image.Image], Image.Image]:
    def f(im: Image.Image) -> Image.Image:
        w, h = round(im.width * keep), round(im.height * keep)
        left, top = (im.width - w) // 2, (im.height - h) // 2
        return im.crop((left, top, left + w, top + h))

    return f


# (name, alteration, read back at the image's own size)
ALTERATIONS: list[tuple[str, Callable[[Image.Image], Image.Image], bool]] = [
    ("none (PNG as served)", lambda im: im, False),
    ("JPEG quality 90", jpeg(90), False),
    ("JPEG quality 75", jpeg(75), False),
    ("JPEG quality 50", jpeg(50), False),
    ("WebP quality 80", webp(80), False),
    ("resized to 75%, read at its size", resized(0.75), True),
    ("resized to 50%, read at its size", resized(0.5), True),
    ("resized to 50%, read as it is", resized(0.5), False),
    ("resized to 50% then JPEG 75, read at its size", lambda im: jpeg(75)(resized(0.5)(im)), True),
    ("cropped to the middle 90%", cropped(0.9), False),
    ("cropped to the middle 50%", cropped(0.5), False),
]


def main(
    images: Annotated[int, typer.Option(help="Pictures drawn and marked.")] = 24,
    size: Annotated[int, typer.Option(help="Their side, in pixels.")] = 1024,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/provenance_bench.json",
) -> None:
    console = Console()
    settings = Settings()
    backend = load_backend(load_catalog(None).models["plantain-mini"], settings)
    jobs = [ImageJob(PROMPTS[i % len(PROMPTS)], 1000 + i, size, size) for i in range(images)]
    pictures = [im for i in range(0, len(jobs), 8) for im in backend.generate(jobs[i : i + 8])]
    pictures = [im.resize((size, size), Image.Resampling.NEAREST) if im.size != (size, size) else im for im in pictures]

    with tempfile.TemporaryDirectory() as folder:
        _, chain, key = make_certificates(Path(folder))
        credentials = Credentials.from_files(chain, key, __version__)
        costs: dict[str, list[float]] = {"watermark": [], "PNG encode": [], "C2PA signature": [], "watermark read": [],
                                         "C2PA read": []}  # fmt: skip
        marked, sizes = [], []
        for im in pictures:
            t0 = time.perf_counter()
            m = embed(im)
            t1 = time.perf_counter()
            png = encode_image(m, "image/png")
            t2 = time.perf_counter()
            signed = credentials.sign(png, "image/png", "plantain-mini")
            t3 = time.perf_counter()
            read(m)
            t4 = time.perf_counter()
            read_credentials(signed, "image/png")
            t5 = time.perf_counter()
            for name, a, b in (("watermark", t0, t1), ("PNG encode", t1, t2), ("C2PA signature", t2, t3),
                               ("watermark read", t3, t4), ("C2PA read", t4, t5)):  # fmt: skip
                costs[name].append((b - a) * 1000)
            sizes.append(len(signed) - len(png))
            marked.append(Image.open(io.BytesIO(signed)))

    cost_rows = [{"step": k, "ms_per_image": round(statistics.median(v), 1)} for k, v in costs.items()]
    table = Table("step", "ms per image (median)", title=f"Cost per {size}x{size} image")
    for row in cost_rows:
        table.add_row(row["step"], f"{row['ms_per_image']:.1f}")
    console.print(table)
    console.print(f"the manifest adds {statistics.median(sizes):,.0f} bytes to a PNG")

    rows = []
    table = Table("alteration", "found", "mean bits matched (of 32)", title="Watermark after the image is altered")
    for name, alter, back in ALTERATIONS:
        readings = [read(alter(im), im.size if back else None) for im in marked]
        found = sum(r.found for r in readings)
        bits = statistics.mean(r.bits_matched for r in readings)
        rows.append({"alteration": name, "found": found, "of": len(readings), "mean_bits": round(bits, 1)})
        table.add_row(name, f"{found}/{len(readings)}", f"{bits:.1f}")
    false = [read(im) for im in pictures]
    rows.append({"alteration": "unmarked pictures (false positives)", "found": sum(r.found for r in false),
                 "of": len(false), "mean_bits": round(statistics.mean(r.bits_matched for r in false), 1)})  # fmt: skip
    table.add_row(
        "unmarked pictures (false positives)", f"{rows[-1]['found']}/{len(false)}", f"{rows[-1]['mean_bits']}"
    )
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"images": images, "size": size, "costs": cost_rows,
                               "manifest_bytes": statistics.median(sizes), "survival": rows, "machine": m},
                              indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
