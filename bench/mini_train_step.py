"""Speed of one training step of the mini model on the CPU, by attention processor and compilation.

    python bench/mini_train_step.py [NAME:FIELD=VALUE,... ...] [--repeats 20]

A step is what `python -m plantain.mini.train` does per batch after drawing it
(`plantain.mini.train.training_step`): the loss (bf16 autocast), backward, gradient clipping and the
AdamW update. It is timed for the recipes named as bench/mini_sweep.py names them (default: the
shipped recipe and the same recipe reading token states alone), each with torch's scaled-dot-product
attention (diffusers' default, `--attention sdpa`) and with the attention written
out (`--attention explicit`, `use_explicit_attention`), and the latter through `torch.compile` (`--compile`,
whose one-off compile is timed apart). Batch drawing is timed apart. Prints a table and writes
bench/results/mini_train_step.json.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe, machine
from mini_sweep import parse_variant
from plantain.mini.train import (
    Batches,
    Recipe,
    build_unet,
    compiled,
    optimiser,
    training_step,
    use_explicit_attention,
)

ROOT = Path(__file__).resolve().parent.parent
RECIPES = {
    "shipped recipe": Recipe(),
    "token states": replace(Recipe(), word_embeddings=False, per_word=False, word_values=False),
}


def time_steps(recipe: Recipe, explicit: bool, repeats: int, compile: bool = False) -> tuple[float, float, float]:
    """(median seconds to draw a batch, median seconds for loss + backward + update, first step's seconds)."""
    torch.manual_seed(0)
    # A small prompt pool: the step does not depend on its size, encoding 24,000 prompts would.
    batches = Batches(replace(recipe, prompt_pool=600), np.random.default_rng(0))
    model = build_unet(recipe)
    if explicit:
        use_explicit_attention(model)
    opt = optimiser(model, recipe)
    forward = compiled(model) if compile else model
    draws, steps = [], []
    for i in range(repeats + 3):  # the first three warm up allocators and kernels
        t0 = time.perf_counter()
        batch = batches.next()
        t1 = time.perf_counter()
        training_step(forward, opt, recipe, batch, "cpu")
        t2 = time.perf_counter()
        if i == 0:
            first = t2 - t1  # with compile=True, mostly compiling
        if i >= 3:
            draws.append(t1 - t0)
            steps.append(t2 - t1)
    return statistics.median(draws), statistics.median(steps), first


def main(
    variants: Annotated[
        list[str] | None, typer.Argument(help="NAME:FIELD=VALUE,... as bench/mini_sweep.py takes them.")
    ] = None,
    repeats: Annotated[int, typer.Option(help="Timed steps per configuration (median).")] = 20,
    threads: Annotated[int, typer.Option(help="torch threads, as the training command's --threads.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON results.")] = ROOT / "bench/results/mini_train_step.json",
) -> None:
    torch.set_num_threads(threads)
    recipes = dict(parse_variant(v) for v in variants) if variants else RECIPES
    rows = []
    for name, recipe in recipes.items():
        default = time_steps(recipe, explicit=False, repeats=repeats)
        explicit = time_steps(recipe, explicit=True, repeats=repeats)
        fused = time_steps(recipe, explicit=True, repeats=repeats, compile=True)
        own = fused if recipe.compile else explicit if recipe.attention == "explicit" else default
        rows.append(
            {
                "recipe": name,
                "parameters_millions": round(sum(p.numel() for p in build_unet(recipe).parameters()) / 1e6, 2),
                "batch_seconds": round(explicit[0], 4),
                "step_seconds_sdpa": round(default[1], 4),
                "step_seconds_explicit": round(explicit[1], 4),
                "ratio": round(explicit[1] / default[1], 3),
                "step_seconds_compiled": round(fused[1], 4),
                "compile_seconds": round(fused[2], 1),
                "compiled_ratio": round(fused[1] / explicit[1], 3),
                # the recipe's own schedule, attention and compilation
                "steps": recipe.steps,
                "projected_minutes": round(
                    (recipe.steps * (own[0] + own[1]) + (fused[2] if recipe.compile else 0)) / 60, 1
                ),
            }
        )
    table = Table(title=f"mini model training step, batch {Recipe.batch_size}, median of {repeats}")
    columns = ("recipe", "parameters", "draw batch", "step (sdpa)", "step (explicit)", "ratio")
    for col in (*columns, "step (compiled)", "vs explicit", "compile", "steps", "projected"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["recipe"]),
            f"{r['parameters_millions']:.2f} M",
            f"{r['batch_seconds']:.3f} s",
            f"{r['step_seconds_sdpa']:.3f} s",
            f"{r['step_seconds_explicit']:.3f} s",
            f"{r['ratio']:.2f}",
            f"{r['step_seconds_compiled']:.3f} s",
            f"{r['compiled_ratio']:.2f}",
            f"{r['compile_seconds']:.0f} s",
            f"{r['steps']:,}",
            f"{r['projected_minutes']:.0f} min",
        )
    console = Console(width=160)  # the table is wider than a terminal's default 80 columns
    console.print(table)
    m = machine()
    console.print(f"on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "repeats": repeats, "machine": m}, indent=2) + "\n")


if __name__ == "__main__":
    typer.run(main)
