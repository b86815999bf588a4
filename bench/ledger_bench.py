"""The cost of accounting: the same server with and without keys and the usage ledger.

    python -m bench.ledger_bench [--seconds 30] [--rounds 2] [--postgres URL]

Three `plantain serve` processes run side by side on one machine: keys from the environment and no
ledger; a stored key with every quota checked and a ledger row per request on SQLite; the same on
PostgreSQL (`--postgres`, or PLANTAIN_TEST_POSTGRES_URL; `bash .ci/postgres` starts one). Each is
driven by 16 closed-loop google-genai clients, in turns, `rounds` times. Prints one table with the
ratios to the run without accounting and writes bench/results/ledger_bench.json.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from tests.server_process import API_KEY, server_process

from bench.serve_bench import ROOT, closed_loop, gemini_call
from plantain.machine import describe, machine


def stored_key(env: dict[str, str]) -> str:
    """A key with every quota set (high enough never to be reached), so each request is checked."""
    run = [sys.executable, "-m", "plantain.cli", "keys", "create", "--name", f"bench-{os.getpid()}", "--rpm", "1000000",
           "--images-per-day", "100000000", "--budget-usd", "1000000"]  # fmt: skip
    result = subprocess.run(run, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def main(
    seconds: Annotated[float, typer.Option(help="Seconds per measurement.")] = 30.0,
    rounds: Annotated[int, typer.Option(help="Turns of the three servers.")] = 2,
    model: Annotated[str, typer.Option(help="Model ID to serve.")] = "plantain-mini",
    postgres: Annotated[str, typer.Option(help="PostgreSQL URL (default: PLANTAIN_TEST_POSTGRES_URL).")] = "",
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/ledger_bench.json",
) -> None:
    console = Console()
    postgres = postgres or os.environ.get("PLANTAIN_TEST_POSTGRES_URL", "")
    data = Path(os.environ.get("TMPDIR", "/tmp")) / f"plantain-ledger-bench-{os.getpid()}"
    common = {"PLANTAIN_THREADS": "2", "PLANTAIN_MAX_QUEUE": "64"}
    setups: dict[str, dict[str, str]] = {
        "no keys store, no ledger": {**common, "PLANTAIN_LEDGER": "false", "PLANTAIN_DATA_DIR": str(data / "none")},
        "stored key + ledger, SQLite": {**common, "PLANTAIN_DATA_DIR": str(data / "sqlite")},
    }
    if postgres:
        setups["stored key + ledger, PostgreSQL"] = {**common, "PLANTAIN_DATA_DIR": str(data / "pg"),
                                                     "PLANTAIN_DATABASE_URL": postgres}  # fmt: skip
    keys = {name: API_KEY if name.startswith("no keys") else stored_key(env) for name, env in setups.items()}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in setups}
    with ExitStack() as stack:
        bases = {name: stack.enter_context(server_process(env)).base for name, env in setups.items()}
        for name in setups:
            closed_loop(1, 3, gemini_call(bases[name], model, keys[name]))  # warm-up: model load
        for _ in range(rounds):
            for name in setups:
                closed_loop(16, 2, gemini_call(bases[name], model, keys[name]))
                runs[name].append(closed_loop(16, seconds, gemini_call(bases[name], model, keys[name])))
    base_ips = statistics.mean(r["images_per_s"] for r in runs["no keys store, no ledger"])
    table = Table(title=f"{model}, 16 clients, 1024x1024 PNG, {rounds} rounds of {seconds:g} s")
    for col in ("server", "images/s", "rounds", "x no accounting", "p50 s", "p95 s", "replies"):
        table.add_column(col)
    rows = []
    for name, rs in runs.items():
        ips = statistics.mean(r["images_per_s"] for r in rs)
        row = {"setup": name, "images_per_s": ips, "rounds": [r["images_per_s"] for r in rs],
               "ratio": ips / base_ips, "p50": statistics.mean(r["p50"] for r in rs),
               "p95": max(r["p95"] for r in rs), "codes": [r["codes"] for r in rs]}  # fmt: skip
        rows.append(row)
        table.add_row(name, f"{ips:.2f}", ", ".join(f"{x:.2f}" for x in row["rounds"]), f"{row['ratio']:.3f}",
                      f"{row['p50']:.3f}", f"{row['p95']:.3f}", str(row["codes"]))  # fmt: skip
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    checks = {f"{r['setup']}: within 3%": r["ratio"] >= 0.97 for r in rows[1:]}
    console.print(checks)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"runs": rows, "checks": checks, "machine": m}, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
