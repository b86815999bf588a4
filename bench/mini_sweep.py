"""Train mini-model recipe variants side by side and score each on the validation split (and others).

    python bench/mini_sweep.py NAME:FIELD=VALUE[,FIELD=VALUE...] ... [--time-limit S] [--checkpoint-every N]

Each variant is the shipped `Recipe` with some fields replaced, e.g. `V:prediction=velocity` or
`D_ef5:prediction=dual,edit_fraction=0.5` (tuples as `channels=48/96/192`). Every variant trains in its
own process on one torch thread, on the GPU when there is one (data and noise are drawn on the CPU, so
a seed means the same batches everywhere). When all have finished, or after --time-limit seconds, each
variant's last saved weights (the final ones, else its latest checkpoint) are scored with
bench/mini_eval.py on each --split (default: validation) at each --guidance; a table is printed and the
figures are written to bench/results/mini_sweep.json, keyed "SPLIT GUIDANCE". This chooses a recipe;
the shipped weights come from the CPU command in docs/mini-model.md.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import sys
import time
import typing
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe, machine, mini_backend
from mini_eval import SPLITS, evaluate
from plantain.mini.train import Recipe, train

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("colour_shape", "count", "position", "whole", "edits")


def parse_variant(text: str) -> tuple[str, Recipe]:
    """`NAME:FIELD=VALUE,...` -> (NAME, the shipped recipe with those fields replaced)."""
    name, _, body = text.partition(":")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise typer.BadParameter(f"{text!r}: a variant is NAME:FIELD=VALUE,... with a plain NAME")
    hints = typing.get_type_hints(Recipe)
    known = {f.name for f in fields(Recipe)}
    changes: dict[str, Any] = {}
    for item in filter(None, body.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in known:
            raise typer.BadParameter(f"{item!r} in {text!r}: fields are {', '.join(sorted(known))}")
        kind = hints[key]
        try:
            if kind is bool:
                changes[key] = value.lower() in ("1", "true", "yes")
            elif typing.get_origin(kind) is tuple:
                changes[key] = tuple(int(v) for v in value.split("/"))
            else:
                changes[key] = kind(value)
        except ValueError as exc:
            raise typer.BadParameter(f"{item!r} in {text!r}: {exc}") from None
    return name, replace(Recipe(), **changes)


def train_variant(recipe: Recipe, out: Path, checkpoint_every: int, device: str) -> None:
    train(recipe, out, out.parent / f"{out.name}.csv", threads=1, checkpoint_every=checkpoint_every, device=device)


def last_weights(runs: Path, name: str) -> tuple[Path, int] | None:
    """The variant's final folder if training finished, else its latest checkpoint, with its step."""
    done = runs / name / "training.json"
    if done.exists():
        return runs / name, int(json.loads(done.read_text())["step"])
    steps = [(int(m.group(1)), p) for p in runs.glob(f"{name}-step*") if (m := re.search(r"-step(\d+)$", p.name))]
    steps = [(n, p) for n, p in steps if (p / "training.json").exists()]
    if not steps:
        return None
    step, folder = max(steps)
    return folder, step


def main(
    variants: Annotated[list[str], typer.Argument(help="NAME:FIELD=VALUE,... (see above).")],
    runs: Annotated[Path, typer.Option(help="Where the variants' weights and loss logs go.")] = Path("/tmp/mini-sweep"),
    time_limit: Annotated[float, typer.Option(help="Stop training after this many seconds (0: none).")] = 0,
    checkpoint_every: Annotated[int, typer.Option(help="Save EMA weights every N steps (0: never).")] = 0,
    guidance: Annotated[list[float], typer.Option(help="Guidance scales to score at.")] = [2.0, 3.0],  # noqa: B006
    limit: Annotated[int, typer.Option(help="Only N prompts and N edits (0: the whole split).")] = 0,
    batch: Annotated[int, typer.Option(help="Images per device batch when scoring.")] = 128,
    split: Annotated[
        list[str],
        typer.Option(
            help="Splits to score on (bench/mini_eval.py): validation, and seen to tell apart "
            "what a variant has not learnt from what it does not carry over."
        ),
    ] = ["validation"],  # noqa: B006
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/mini_sweep.json",
) -> None:
    parsed = dict(parse_variant(v) for v in variants)
    if bad := [sp for sp in split if sp not in SPLITS]:
        raise typer.BadParameter(f"{bad[0]!r}: must be one of {', '.join(SPLITS)}", param_hint="--split")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    runs.mkdir(parents=True, exist_ok=True)
    # Spawned, not forked: each child starts its own torch, and CUDA cannot be forked.
    ctx = multiprocessing.get_context("spawn")
    procs = {
        name: ctx.Process(target=train_variant, args=(recipe, runs / name, checkpoint_every, device))
        for name, recipe in parsed.items()
    }
    t0 = time.time()
    for p in procs.values():
        p.start()
    for p in procs.values():
        p.join(None if not time_limit else max(0.0, time_limit - (time.time() - t0)))
    for p in procs.values():
        if p.is_alive():
            p.terminate()
            p.join()
    trained_s = time.time() - t0

    results: dict[str, Any] = {}
    table = Table(title=f"mini recipe sweep ({trained_s:.0f} s of training)")
    for col in ("variant", "step", "split", "guidance", *COLUMNS):
        table.add_column(col)
    for name, recipe in parsed.items():
        found = last_weights(runs, name)
        if found is None:
            table.add_row(name, "none saved", *[""] * (2 + len(COLUMNS)))
            continue
        folder, step = found
        backend = mini_backend(folder)
        scored = {}
        for sp in split:
            for g in guidance:
                scores = evaluate(backend, sp, None, g, limit, batch).results()
                keep = ("split", "steps", "scores", "edits_by_kind", "prompts", "edits")
                scored[f"{sp} {g}"] = {k: scores[k] for k in keep}
                row = (f"{scores['scores'].get(c, float('nan')):.3f}" for c in COLUMNS)
                table.add_row(name, str(step), sp, f"{g:g}", *row)
        results[name] = {"recipe": asdict(recipe), "step": step, "of_steps": recipe.steps, "by_split_guidance": scored}
    console = Console()
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"variants": results, "trained_seconds": round(trained_s, 1), "device": device, "machine": m}
    out.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
