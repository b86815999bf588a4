"""`python -m plantain.mini.evaluate` end to end on a few cases of each split, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("split", ["validation", "seen"])
def test_a_split_is_scored_and_written(tmp_path: Path, split: str) -> None:
    out = tmp_path / "eval.json"
    # Edits sampled at a guidance given on one split, the model's own (1.5) on the other.
    edit_guidance = ["--edit-guidance", "2.0"] if split == "seen" else []
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "plantain.mini.evaluate",
            "--split",
            split,
            "--limit",
            "4",
            "--out",
            str(out),
            "--grid",
            str(tmp_path / "g.png"),
            "--holding",
            "the",
            *edit_guidance,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["split"] == split and results["prompts"] == 4 and results["edits"] == 4
    assert (results["guidance"], results["edit_guidance"]) == (3.0, 2.0 if edit_guidance else 1.5)
    assert set(results["scores"]) >= {"colour_shape", "count", "whole", "edits"}
    assert all(0.0 <= v <= 1.0 for v in results["scores"].values())
    assert f"mini model on the {split} split" in run.stdout
    # every failed edit is counted once under how it failed, and the by-reference outcomes are the
    # same edits split by how they name their object
    failed = sum(sum(by_way.values()) for by_way in results["edit_failures"].values())
    assert failed == round(results["edits"] * (1 - results["scores"]["edits"]))
    assert set(results["edits_by_reference"]) <= {"recolour", "move", "remove"} & set(results["edits_by_kind"])
    # the edits holding a word and the rest are the same edits, split in two
    the = results["edits_by_word"]["the"]
    assert the["n_holding"] + the["n_rest"] == results["edits"]
    right = sum(the[part] * the[f"n_{part}"] for part in ("holding", "rest") if the[f"n_{part}"])
    assert right == pytest.approx(results["scores"]["edits"] * results["edits"], abs=0.01)
    assert "edits holding 'the'" in run.stdout
    for refs in results["edits_by_reference"].values():
        assert set(refs) <= {"colour named", "shape only"} and all(0.0 <= v <= 1.0 for v in refs.values())
    if split == "seen":
        assert all(c.endswith("(seen kinds)") for c in results["by_category"])


def test_an_unknown_split_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    run = subprocess.run(
        [sys.executable, "-m", "plantain.mini.evaluate", "--split", "training", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2
    assert "--split" in run.stderr and "must be one of test, validation, seen" in run.stderr
    assert "Traceback" not in run.stderr and not out.exists()
