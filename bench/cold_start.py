"""Cold start: from launching `plantain serve` to the first image in a client's hands.

Each run starts a fresh server process (its own data folder), polls /healthz until it answers,
then asks for one 1024x1024 image with google-genai; the table shows the median of `--runs` of
each phase. Writes bench/results/cold_start.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import API_KEY, free_port

from plantain.machine import describe, machine

ROOT = Path(__file__).resolve().parent.parent


def one_start(model: str, preload: bool) -> dict[str, float]:
    from google import genai
    from google.genai import types

    port = free_port()
    env = {**os.environ, "PLANTAIN_DATA_DIR": tempfile.mkdtemp(prefix="plantain-cold-"), "PLANTAIN_API_KEYS": API_KEY,
           "PLANTAIN_THREADS": "2", "PLANTAIN_PRELOAD": model if preload else ""}  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "plantain.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        alive = time.perf_counter() - t0
        ready = alive
        if preload:
            while httpx.get(f"{base}/readyz", timeout=5).status_code != 200:
                time.sleep(0.05)
            ready = time.perf_counter() - t0
        client = genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base))
        client.models.generate_content(
            model=model, contents="a red circle", config=types.GenerateContentConfig(response_modalities=["IMAGE"])
        )
        first = time.perf_counter() - t0
    finally:
        proc.terminate()
        proc.wait(30)
    return {"alive_s": alive, "ready_s": ready, "first_image_s": first}


def main(
    runs: Annotated[int, typer.Option(help="Server starts per row.")] = 3,
    model: Annotated[str, typer.Option(help="Model ID.")] = "plantain-mini",
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/cold_start.json",
) -> None:
    rows = {}
    for preload in (False, True):
        starts = [one_start(model, preload) for _ in range(runs)]
        rows["preloaded" if preload else "loaded on first request"] = {
            k: statistics.median(s[k] for s in starts) for k in starts[0]
        } | {"runs": starts}
    table = Table(title=f"Cold start of plantain serve, {model}, median of {runs}")
    for col in ("model loading", "/healthz s", "/readyz s", "first image s"):
        table.add_column(col)
    for name, r in rows.items():
        table.add_row(name, f"{r['alive_s']:.2f}", f"{r['ready_s']:.2f}", f"{r['first_image_s']:.2f}")
    console = Console()
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"model": model, "rows": rows, "machine": m}, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
