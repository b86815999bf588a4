"""One server's memory and idle CPU with the built-in model, and where the memory goes.

    python -m bench.footprint_bench [--seconds 20]

1. Where the memory goes, in this process: RSS (anonymous and file-backed) after importing torch,
   the web stack, diffusers and its model classes, the app, loading the built-in model, and
   batches of 1, 8 and 16 at 1024x1024.
2. `plantain serve` with the model preloaded: RSS when ready, under 64 google-genai clients (and
   its peak), idle after them, and the CPU it uses idle over 10 s.
Prints both tables and writes bench/results/footprint_bench.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import server_process

from bench.serve_bench import closed_loop, gemini_call
from plantain.machine import describe, machine

ROOT = Path(__file__).resolve().parent.parent
MB = 1 << 20

# Run in a fresh interpreter: each step's RSS, as a JSON line.
STEPS = r"""
import json, sys
from pathlib import Path
def rss(step):
    d = {l.split(':')[0]: int(l.split()[1]) * 1024 for l in Path('/proc/self/status').read_text().splitlines()
         if l.startswith(('VmRSS', 'RssAnon', 'RssFile'))}
    print(json.dumps({'step': step, **d}), flush=True)
rss('python')
import torch; rss('import torch')
import fastapi, sqlalchemy, pydantic, PIL.Image; rss('+ FastAPI, SQLAlchemy, Pillow')
import diffusers; rss('+ import diffusers')
from diffusers import UNet2DConditionModel; rss('+ a diffusers model class')
from plantain.api.app import create_app; rss('+ the app')
from plantain.mini.evaluate import mini_backend
torch.set_num_threads(2)
b = mini_backend(); rss('+ the built-in model loaded')
from plantain.core.jobs import ImageJob
for n in (1, 8, 16):
    b.generate([ImageJob('two red circles', i) for i in range(n)]); rss(f'after a batch of {n}')
from plantain.engine.memory import release_free_memory
release_free_memory(); rss('freed memory handed back')
"""


def status(pid: int) -> dict[str, int]:
    keys = ("VmRSS", "VmHWM", "RssAnon", "RssFile")
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in lines if line.startswith(keys)}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(
    seconds: Annotated[float, typer.Option(help="Seconds of the 64-client load.")] = 20.0,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/footprint_bench.json",
) -> None:
    console = Console()
    run = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True, check=True, cwd=ROOT)
    steps = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]

    env = {"PLANTAIN_THREADS": "2", "PLANTAIN_FIT_BATCH": "1", "PLANTAIN_PRELOAD": "plantain-mini",
           "PLANTAIN_MAX_QUEUE": "64"}  # fmt: skip
    server: dict[str, Any] = {}
    with server_process(env) as s:
        while httpx.get(f"{s.base}/readyz").status_code != 200:
            time.sleep(0.5)
        time.sleep(3)
        server["ready, idle"] = status(s.pid)
        load = closed_loop(64, seconds, gemini_call(s.base, "plantain-mini"))
        server["64 clients"] = status(s.pid)
        time.sleep(5)
        server["idle after them"] = status(s.pid)
        before = cpu_seconds(s.pid)
        time.sleep(10)
        idle_cpu = (cpu_seconds(s.pid) - before) / 10

    table = Table(title="where the memory goes (one process, MB)")
    for col in ("step", "RSS", "anonymous", "file-backed"):
        table.add_column(col)
    for row in steps:
        table.add_row(
            row["step"], f"{row['VmRSS'] / MB:.0f}", f"{row['RssAnon'] / MB:.0f}", f"{row['RssFile'] / MB:.0f}"
        )
    console.print(table)
    table = Table(title="plantain serve with plantain-mini preloaded (MB)")
    for col in ("when", "RSS", "peak RSS so far", "anonymous", "file-backed"):
        table.add_column(col)
    for when, row in server.items():
        table.add_row(when, f"{row['VmRSS'] / MB:.0f}", f"{row['VmHWM'] / MB:.0f}", f"{row['RssAnon'] / MB:.0f}",
                      f"{row['RssFile'] / MB:.0f}")  # fmt: skip
    console.print(table)
    console.print(f"64 clients: {load['images_per_s']:.2f} images/s, replies {load['codes']}; "
                  f"idle CPU {idle_cpu * 100:.2f}% of one core")  # fmt: skip
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"steps": steps, "server": server, "load": load, "idle_cpu_cores": idle_cpu,
                               "machine": m}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    typer.run(main)
