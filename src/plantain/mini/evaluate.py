"""Quality of the built-in mini model on the held-out set of the mini world.

    python -m plantain.mini.evaluate [--weights FOLDER] [--split test|validation|seen] [--limit N]
        [--holding WORD] [--out FILE.json] [--grid FILE.png]

Generates every held-out prompt (520) and applies every held-out edit (300) with fixed seeds, through
the model's backend as the service serves it, reads each result back with the world's detector,
prints a table and writes the scores as JSON (and, with --grid, a sample grid).
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import torch
import typer
from PIL import Image, ImageDraw, ImageFont
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.backends.registry import load_backend
from plantain.core.catalog import load_catalog
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.machine import describe, machine
from plantain.mini.edits import edit_text
from plantain.mini.grammar import PromptSpec, prompt_text
from plantain.mini.heldout import EVAL_SEED, eval_edits, eval_prompts, prompt_held_out, seen_edits, seen_prompts
from plantain.mini.render import render_image
from plantain.mini.score import EDIT_FAILURES, PROMPT_METRICS, edit_failure, score_prompt


def mini_backend(weights: Path | None = None) -> DiffusersBackend:
    """The built-in model as the service loads it (catalog entry plantain-mini)."""
    entry = load_catalog().get("plantain-mini")
    assert entry is not None
    backend = load_backend(entry, Settings(mini_weights=weights))
    assert isinstance(backend, DiffusersBackend)
    return backend


BARS = {"colour_shape": 0.90, "count": 0.80, "position": 0.80, "whole": 0.70, "edits": 0.80}
# test: the fixed held-out set the bars are for; validation: other held-out cases of the same kinds,
# for tuning; seen: cases drawn as training draws them (no held-out combination), to tell what a
# model has not learnt at all from what it does not carry over to the held-out combinations.
SPLITS = ("test", "validation", "seen")
# Edits that name the object they change, by its shape and optionally its colour.
REFERRING_EDITS = ("recolour", "move", "remove")
REFERENCES = ("colour named", "shape only")


def split_cases(split: str) -> tuple[list[Any], list[Any]]:
    """The (prompt cases, edit cases) of a split, each with its fixed seed."""
    if split == "test":
        return eval_prompts(EVAL_SEED), eval_edits(EVAL_SEED)
    if split == "validation":
        return eval_prompts(EVAL_SEED + 7919), eval_edits(EVAL_SEED + 7919)
    if split == "seen":
        return seen_prompts(EVAL_SEED + 2 * 7919), seen_edits(EVAL_SEED + 2 * 7919)
    raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")


def category(spec: PromptSpec) -> str:
    if not prompt_held_out(spec):
        return f"{spec.kind} (seen kinds)"
    if spec.kind == "relation" and spec.relation == "below" and {o.shape for o in spec.objects} == {"circle", "square"}:
        return "relation below circle/square"
    if spec.kind == "count" and spec.count == 4 and spec.background == "sky":
        return "four on sky"
    return f"{spec.kind} with purple triangle / orange diamond"


def run_batches(backend: DiffusersBackend, jobs: list[ImageJob], batch: int, desc: str) -> list[Image.Image]:
    out: list[Image.Image] = []
    for start in tqdm(range(0, len(jobs), batch), desc=desc, unit="batch"):
        out += backend.generate(jobs[start : start + batch])
    return out


def sample_grid(images: list[Image.Image], captions: list[str], path: Path) -> None:
    cell, pad, text_h, cols = 192, 8, 44, 4
    rows = (len(images) + cols - 1) // cols
    grid = Image.new("RGB", (cols * (cell + pad) + pad, rows * (cell + text_h + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default(size=12)
    for i, (im, cap) in enumerate(zip(images, captions, strict=True)):
        x, y = pad + (i % cols) * (cell + pad), pad + (i // cols) * (cell + text_h + pad)
        grid.paste(im.resize((cell, cell), Image.Resampling.NEAREST), (x, y))
        words, lines = cap.split(), [""]
        for w in words:
            if draw.textlength(f"{lines[-1]} {w}".strip(), font=font) > cell:
                lines.append(w)
            else:
                lines[-1] = f"{lines[-1]} {w}".strip()
        draw.multiline_text((x, y + cell + 2), "\n".join(lines[:3]), fill=(20, 20, 20), font=font, spacing=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def frac(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


@dataclass(frozen=True)
class EditRecord:
    """One scored edit case."""

    kind: str
    text: str  # the instruction
    reference: str | None  # how it names its object (REFERENCES), for REFERRING_EDITS
    failure: str | None  # how it failed (score.EDIT_FAILURES), None when right

    @property
    def right(self) -> bool:
        return self.failure is None


@dataclass
class Evaluation:
    """Per-case outcomes of one model on one split, and what the tables and JSON need."""

    split: str
    steps: int
    guidance: float
    edit_guidance: float
    prompts: list[Any]
    images: list[Image.Image]  # generated, one per prompt case
    edits: int
    seconds: float
    # per prompt metric, outcomes over the prompt cases (edits are counted from edit_records)
    prompt_totals: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    by_cat: dict[str, dict[str, list[bool]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(list)))
    # One record per edit case, in order: every per-edit count below is read from these.
    edit_records: list[EditRecord] = field(default_factory=list)

    def totals(self) -> dict[str, list[bool]]:
        """Outcomes per metric: the prompt metrics', then "edits" (when the split has edit cases)."""
        edits = {"edits": [r.right for r in self.edit_records]} if self.edit_records else {}
        return {**self.prompt_totals, **edits}

    def edit_by_kind(self) -> dict[str, list[bool]]:
        kinds: dict[str, list[bool]] = defaultdict(list)
        for r in self.edit_records:
            kinds[r.kind].append(r.right)
        return dict(sorted(kinds.items()))

    def edit_failures(self) -> dict[str, Counter[str]]:
        """Per edit kind, how many failed in each way of score.EDIT_FAILURES."""
        failures: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.edit_records:
            if r.failure is not None:
                failures[r.kind][r.failure] += 1
        return dict(sorted(failures.items()))

    def edit_by_reference(self) -> dict[str, dict[str, list[bool]]]:
        """Per edit kind that names an object, outcomes by how it names it (REFERENCES)."""
        refs: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
        for r in self.edit_records:
            if r.reference is not None:
                refs[r.kind][r.reference].append(r.right)
        return dict(sorted(refs.items()))

    def by_word(self, words: list[str]) -> dict[str, dict[str, float | int]]:
        """Edits right among those whose instruction holds each word, and among the rest."""
        table: dict[str, dict[str, float | int]] = {}
        for word in words:
            parts: dict[bool, list[bool]] = {True: [], False: []}  # holds the word -> outcomes
            for r in self.edit_records:
                parts[word in r.text.split()].append(r.right)
            holding, rest = parts[True], parts[False]
            table[word] = {"holding": frac(holding), "n_holding": len(holding), "rest": frac(rest), "n_rest": len(rest)}
        return table

    def results(self) -> dict[str, Any]:
        totals = self.totals()
        return {
            "split": self.split,
            "steps": self.steps,
            "guidance": self.guidance,
            "edit_guidance": self.edit_guidance,
            "prompts": len(self.prompts),
            "edits": self.edits,
            "scores": {k: frac(v) for k, v in totals.items()},
            "counted": {k: len(v) for k, v in totals.items()},
            "bars": BARS,
            "passed": {k: frac(totals[k]) >= bar for k, bar in BARS.items()},
            "by_category": {c: {k: frac(v) for k, v in d.items()} for c, d in self.by_cat.items()},
            "edits_by_kind": {k: frac(v) for k, v in self.edit_by_kind().items()},
            "edit_failures": {k: dict(v) for k, v in self.edit_failures().items()},
            "edits_by_reference": {
                k: {ref: frac(v) for ref, v in sorted(d.items())} for k, d in self.edit_by_reference().items()
            },
            "seconds": round(self.seconds, 1),
            "machine": machine(),
        }


def evaluate(
    backend: DiffusersBackend,
    split: str,
    steps: int | None,
    guidance: float | None,
    limit: int,
    batch: int,
    edit_guidance: float | None = None,
) -> Evaluation:
    """Generate every prompt and apply every edit of a split with fixed seeds, and score them.
    `guidance` sets both, `edit_guidance` the edits' alone; unset, each is the model's."""
    steps = steps or backend.capabilities.steps
    if edit_guidance is None:
        edit_guidance = guidance if guidance is not None else backend.edit_guidance_scale
    guidance = guidance if guidance is not None else backend.guidance_scale
    side = backend.capabilities.native_size[0]
    prompts, edits = split_cases(split)
    if limit:
        prompts = prompts[:: max(1, len(prompts) // limit)][:limit]
        edits = edits[:: max(1, len(edits) // limit)][:limit]
    t0 = time.time()
    gen_jobs = [ImageJob(prompt_text(c.spec), c.seed, side, side, steps=steps, guidance=guidance) for c in prompts]
    gen_images = run_batches(backend, gen_jobs, batch, "prompts")
    edit_jobs = [
        ImageJob(edit_text(c.edit), c.seed, side, side, [render_image(c.source)], steps=steps, guidance=edit_guidance)
        for c in edits
    ]
    edit_images = run_batches(backend, edit_jobs, batch, "edits")
    ev = Evaluation(split, steps, guidance, edit_guidance, prompts, gen_images, len(edits), time.time() - t0)
    for case, im in zip(prompts, gen_images, strict=True):
        for metric, ok in score_prompt(case.spec, im).items():
            if ok is not None:
                ev.prompt_totals[metric].append(ok)
                ev.by_cat[category(case.spec)][metric].append(ok)
    for case, im in zip(edits, edit_images, strict=True):
        failure = edit_failure(case.source, case.edit, im)
        reference = None
        if case.edit.kind in REFERRING_EDITS:
            reference = "colour named" if case.edit.colour is not None else "shape only"
        ev.edit_records.append(EditRecord(case.edit.kind, edit_text(case.edit), reference, failure))
    return ev


def main(
    weights: Annotated[Path | None, typer.Option(help="Model folder; default: the shipped one.")] = None,
    steps: Annotated[int | None, typer.Option(help="Sampling steps (default: the model's).")] = None,
    guidance: Annotated[float | None, typer.Option(help="Guidance scale (default: the model's).")] = None,
    edit_guidance: Annotated[
        float | None, typer.Option(help="Guidance scale for edits alone (default: --guidance, else the model's).")
    ] = None,
    batch: Annotated[int, typer.Option(help="Images per device batch.")] = 16,
    threads: Annotated[int, typer.Option(help="torch threads.")] = 2,
    limit: Annotated[int, typer.Option(help="Only N prompts and N edits, spread over the set (0: all).")] = 0,
    holding: Annotated[
        list[str] | None,
        typer.Option(help="Also score apart the edits whose instruction holds this word (repeatable)."),
    ] = None,
    split: Annotated[
        str,
        typer.Option(
            help="'test' (the fixed held-out set), 'validation' (other held-out cases, for tuning) or 'seen' "
            "(cases drawn as training draws them)."
        ),
    ] = "test",
    out: Annotated[Path, typer.Option(help="JSON results.")] = Path("mini_eval.json"),
    grid: Annotated[Path | None, typer.Option(help="Also draw a grid of samples to this PNG.")] = None,
) -> None:
    if split not in SPLITS:
        raise typer.BadParameter(f"must be one of {', '.join(SPLITS)}", param_hint="--split")
    torch.set_num_threads(threads)
    ev = evaluate(mini_backend(weights), split, steps, guidance, limit, batch, edit_guidance)
    results = {"model": str(weights or "shipped"), **ev.results()}
    if holding:
        results["edits_by_word"] = ev.by_word(holding)
    totals, by_cat, edit_by_kind, prompts = ev.totals(), ev.by_cat, ev.edit_by_kind(), ev.prompts
    seconds, m = ev.seconds, results["machine"]
    table = Table(title=f"mini model on the {split} split ({len(prompts)} prompts, {ev.edits} edits)")
    for col in ("metric", "score", "bar", "n", "pass"):
        table.add_column(col)
    for metric in (*PROMPT_METRICS, "edits"):
        if metric in totals:
            bar = BARS.get(metric)
            ok = "" if bar is None else ("yes" if frac(totals[metric]) >= bar else "NO")
            table.add_row(
                metric, f"{frac(totals[metric]):.3f}", "" if bar is None else f"{bar:.2f}", str(len(totals[metric])), ok
            )
    console = Console()
    console.print(table)
    cat_table = Table(title="by category")
    cat_table.add_column("category")
    for metric in PROMPT_METRICS:
        cat_table.add_column(metric)
    for c, d in sorted(by_cat.items()):
        cat_table.add_row(c, *(f"{frac(d[mt]):.2f}" if d.get(mt) else "-" for mt in PROMPT_METRICS))
    for kind, v in edit_by_kind.items():
        cat_table.add_row(f"edit: {kind}", *(["-"] * (len(PROMPT_METRICS) - 1)), f"{frac(v):.2f}")
    console.print(cat_table)
    fail_table = Table(title="failed edits, by how they failed")
    for col in ("edit", "cases", *EDIT_FAILURES):
        fail_table.add_column(col)
    failures = ev.edit_failures()
    for kind, v in edit_by_kind.items():
        fail_table.add_row(kind, str(len(v)), *(str(failures.get(kind, Counter())[f]) for f in EDIT_FAILURES))
    console.print(fail_table)
    ref_table = Table(title="edits right, by how they name their object")
    for col in ("edit", *REFERENCES):
        ref_table.add_column(col)
    for kind, refs in ev.edit_by_reference().items():
        ref_table.add_row(kind, *(f"{sum(refs[r])}/{len(refs[r])}" if refs.get(r) else "-" for r in REFERENCES))
    console.print(ref_table)
    for word, d in results.get("edits_by_word", {}).items():
        held, rest = f"{d['holding']:.3f} of {d['n_holding']}", f"{d['rest']:.3f} of {d['n_rest']}"
        console.print(f"edits holding {word!r}: {held}; the rest: {rest}")
    console.print(f"{seconds:.0f} s on {describe(m)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    if grid is not None and not limit:
        # 16 samples spread over the categories, with their prompts.
        picks = [*range(0, 160, 20), 160, 200, 260, 300, 360, 400, 440, 480]
        sample_grid([ev.images[i] for i in picks], [prompt_text(prompts[i].spec) for i in picks], grid)


if __name__ == "__main__":
    typer.run(main)
