"""The training script rebuilds the same weights from the same seed (a tiny recipe, a few steps)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from PIL import Image

from plantain.mini.extracolours import EXTRA_COLOURS
from plantain.mini.pipeline import PREDICTIONS, MiniPipeline, load_mini_pipeline, output_velocity
from plantain.mini.text_encoder import HIDDEN
from plantain.mini.train import Batches, Recipe, command, cross_attention_layers, train

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

TINY = Recipe(steps=3, batch_size=4, prompt_pool=48, channels=(8, 16, 16), heads=2, warmup=1)


def run_training_command(out: Path, *args: str) -> Result:
    """`python -m plantain.mini.train --out OUT --log OUT.csv ARGS`, run in this process."""
    return CliRunner().invoke(command(), ["--out", str(out), "--log", f"{out}.csv", *args])


def weights(folder: Path) -> bytes:
    return (folder / "unet" / "diffusion_pytorch_model.safetensors").read_bytes()


def test_same_seed_same_weights_and_the_result_loads(tmp_path: Path) -> None:
    train(TINY, tmp_path / "a", tmp_path / "a.csv", threads=1, checkpoint_every=0)
    train(TINY, tmp_path / "b", tmp_path / "b.csv", threads=1, checkpoint_every=0)
    assert weights(tmp_path / "a") == weights(tmp_path / "b")
    log = (tmp_path / "a.csv").read_text().splitlines()
    assert log[0] == "step,loss,lr,seconds" and len(log) == 1 + TINY.steps
    pipe = load_mini_pipeline(tmp_path / "a")
    assert pipe("a red circle", num_inference_steps=2).images[0].size == (32, 32)


def test_another_seed_other_weights(tmp_path: Path) -> None:
    train(TINY, tmp_path / "a", tmp_path / "a.csv", threads=1, checkpoint_every=0)
    other = Recipe(**{**TINY.__dict__, "seed": 1})
    train(other, tmp_path / "b", tmp_path / "b.csv", threads=1, checkpoint_every=0)
    assert weights(tmp_path / "a") != weights(tmp_path / "b")


@pytest.mark.parametrize("prediction", PREDICTIONS)
def test_every_prediction_trains_and_loads(tmp_path: Path, prediction: str) -> None:
    train(replace(TINY, prediction=prediction), tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    pipe = load_mini_pipeline(tmp_path / "m")
    assert pipe.config.prediction == prediction
    source = Image.new("RGB", (32, 32), (40, 80, 220))
    out = pipe(["a red circle", "make it sharper"], image=[None, source], num_inference_steps=2).images
    assert [im.size for im in out] == [(32, 32), (32, 32)]


def test_residual_outputs_of_zero_copy_the_source_and_velocity_passes_through() -> None:
    noisy, source, out = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    editing = torch.tensor([False, True])
    v = output_velocity(torch.zeros_like(out), noisy, source, 0.5, "edit-residual", editing)
    # An Euler step of the full remaining sigma lands exactly on the source for the edit sample.
    assert torch.allclose(noisy[1] - 0.5 * v[1], source[1])
    assert torch.equal(v[0], torch.zeros_like(v[0]))  # generating: the output is the velocity itself
    assert torch.equal(output_velocity(out, noisy, source, 0.5, "velocity", editing), out)
    both = output_velocity(out, noisy, source, 0.5, "residual", editing)
    assert torch.allclose(both, (noisy - source - out) / 0.5)


def test_dual_reads_the_velocity_head_when_generating_and_the_residual_head_when_editing() -> None:
    noisy, source, velocity = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    out = torch.cat([velocity, torch.zeros_like(velocity)], dim=1)  # residual head: leave everything
    v = output_velocity(out, noisy, source, 0.5, "dual", torch.tensor([False, True]))
    assert torch.equal(v[0], velocity[0])
    assert torch.allclose(noisy[1] - 0.5 * v[1], source[1])


def test_a_unet_that_does_not_match_the_prediction_is_refused(tmp_path: Path) -> None:
    train(replace(TINY, prediction="velocity"), tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    pipe = load_mini_pipeline(tmp_path / "m")
    with pytest.raises(ValueError, match="needs a UNet with 6 output channels, not 3"):
        MiniPipeline(unet=pipe.unet, scheduler=pipe.scheduler, prediction="dual")


def test_a_model_that_reads_word_embeddings_trains_loads_and_is_deterministic(tmp_path: Path) -> None:
    recipe = replace(TINY, word_embeddings=True)
    train(recipe, tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    pipe = load_mini_pipeline(tmp_path / "m")
    assert pipe.unet.config.cross_attention_dim == 768 and pipe.reads_word_embeddings
    states, _ = pipe.encode_prompt(["make the square cyan"])
    assert states.shape[-1] == 768
    source = Image.new("RGB", (32, 32), (40, 80, 220))
    first, again = (
        pipe(
            ["a cyan circle", "make the square cyan"],
            image=[None, source],
            num_inference_steps=2,
            generator=[torch.Generator().manual_seed(s) for s in (1, 2)],
            output_type="np",
        ).images
        for _ in range(2)
    )
    assert (first == again).all()


def test_a_model_trained_on_word_slots_reads_them_when_loaded(tmp_path: Path) -> None:
    train(replace(TINY, per_word=True), tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    pipe = load_mini_pipeline(tmp_path / "m")
    assert pipe.config.text_units == "word"
    _, mask = pipe.encode_prompt(["make the square cyan"])
    assert mask.sum().item() == 6  # [CLS] make the square cyan [SEP]
    # A folder saved before the option (no text_units in its index) reads tokens.
    index = tmp_path / "m" / "model_index.json"
    config = json.loads(index.read_text())
    del config["text_units"]
    index.write_text(json.dumps(config))
    assert load_mini_pipeline(tmp_path / "m").config.text_units == "token"
    with pytest.raises(ValueError, match="text_units must be one of token, word"):
        MiniPipeline(unet=pipe.unet, scheduler=pipe.scheduler, prediction="dual", text_units="sentence")


def test_values_from_words_stay_blind_to_context_through_training_and_saving(tmp_path: Path) -> None:
    recipe = replace(TINY, word_embeddings=True, per_word=True, word_values=True)
    train(recipe, tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    pipe = load_mini_pipeline(tmp_path / "m")
    layers = cross_attention_layers(pipe.unet)
    assert layers, "the UNet has cross-attention"
    for weight in (m.to_v.weight for m in layers):
        assert weight.shape[1] == 2 * HIDDEN
        assert torch.count_nonzero(weight[:, :HIDDEN]) == 0  # the contextual half
        assert torch.count_nonzero(weight[:, HIDDEN:]) > 0  # the word embeddings, trained
    # Keys still read the contextual half: where a pixel looks still depends on the sentence.
    assert all(torch.count_nonzero(m.to_k.weight[:, :HIDDEN]) > 0 for m in layers)
    with pytest.raises(ValueError, match="needs word_embeddings"):
        bad = replace(TINY, word_embeddings=False, word_values=True)
        train(bad, tmp_path / "x", tmp_path / "x.csv", threads=1, checkpoint_every=0)
    result = run_training_command(tmp_path / "c", "--no-word-embeddings", "--word-values")
    assert result.exit_code == 2 and "--word-values" in result.output and "needs word_embeddings" in result.output
    assert not (tmp_path / "c").exists() and not (tmp_path / "c.csv").exists()


@pytest.fixture(scope="module")
def plain() -> Batches:
    """The tiny recipe's batches with no colour renamed (said outright, whatever the defaults)."""
    return Batches(replace(TINY, renamed_edits=0.0), np.random.default_rng(0))


def shares(batches: Batches, n: int) -> tuple[float, float]:
    """(world edits, renamed edits) as shares of `n` batches' samples. A renamed sample is told by
    its pixels: an extra colour is none of the world's colours or backgrounds."""
    extra = torch.tensor(list(EXTRA_COLOURS.values()), dtype=torch.float32)
    world = renamed = total = 0
    for _ in range(n):
        target, source, _, _, editing = batches.next()
        for *images, is_edit in zip(target, source, editing, strict=True):
            # Back to 0-255 from [-1, 1]: every pixel of both images, as RGB rows.
            pixels = torch.cat([((im + 1) * 127.5).round().permute(1, 2, 0).reshape(-1, 3) for im in images])
            has_extra = bool((pixels[:, None, :] == extra[None]).all(-1).any())
            renamed += has_extra
            world += bool(is_edit) and not has_extra
        total += len(editing)
    return world / total, renamed / total


def test_renamed_edits_come_beside_the_world_edits_not_in_their_place(tmp_path: Path, plain: Batches) -> None:
    beside = Batches(replace(TINY, renamed_edits=0.3), np.random.default_rng(0))
    assert beside.prompts == plain.prompts  # no renamed prompts: the pool is the world's
    assert "make the square brown" in beside.bank.index
    world, renamed = shares(plain, 100)
    assert abs(world - TINY.edit_fraction) < 0.08 and renamed == 0
    # Beside: the world's edits keep their share, and renamed ones fill about 0.3 more (a few find
    # nothing to rename: an empty scene, a rerender of one).
    world, renamed = shares(beside, 100)
    assert abs(world - TINY.edit_fraction) < 0.08 and 0.2 < renamed < 0.36
    train(replace(TINY, renamed_edits=0.3), tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    assert json.loads((tmp_path / "m" / "training.json").read_text())["recipe"]["renamed_edits"] == 0.3
    load_mini_pipeline(tmp_path / "m")


def test_renamed_edits_that_would_overfill_the_batch_are_refused(tmp_path: Path) -> None:
    bad = replace(TINY, renamed_edits=1.0 - TINY.edit_fraction + 0.1)
    with pytest.raises(ValueError, match="renamed_edits is a share of the batch"):
        train(bad, tmp_path / "x", tmp_path / "x.csv", threads=1, checkpoint_every=0)
    assert not (tmp_path / "x").exists()


def rows(log: Path) -> list[str]:
    return log.read_text().splitlines()[1:]


@pytest.mark.parametrize(
    ("variant", "baseline"),
    [(replace(TINY, attention="explicit"), replace(TINY, attention="sdpa"))],
    ids=["explicit attention"],
)
def test_another_way_of_computing_a_step_is_deterministic_and_the_same_model_to_rounding(
    tmp_path: Path, variant: Recipe, baseline: Recipe
) -> None:
    train(variant, tmp_path / "v1", tmp_path / "v1.csv", threads=1, checkpoint_every=0)
    train(variant, tmp_path / "v2", tmp_path / "v2.csv", threads=1, checkpoint_every=0)
    train(baseline, tmp_path / "b", tmp_path / "b.csv", threads=1, checkpoint_every=0)
    assert weights(tmp_path / "v1") == weights(tmp_path / "v2")
    assert weights(tmp_path / "v1") != weights(tmp_path / "b")  # the other kernels really ran
    # The same sums in another order: the first steps' losses agree closely, the bits need not.
    ours, theirs = ([float(r.split(",")[1]) for r in rows(tmp_path / f"{n}.csv")] for n in ("v1", "b"))
    for a, b in zip(ours, theirs, strict=True):
        assert abs(a - b) <= 0.05 * max(abs(a), abs(b)), (ours, theirs)
    # What is saved is the eager model's own folder: it loads and samples with diffusers' defaults.
    pipe = load_mini_pipeline(tmp_path / "v1")
    assert pipe("a red circle", num_inference_steps=2).images[0].size == (32, 32)


def test_an_unknown_attention_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="attention must be one of sdpa, explicit"):
        train(replace(TINY, attention="flash"), tmp_path / "m", tmp_path / "m.csv", threads=1, checkpoint_every=0)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--channels", "32/64/x"),
        ("--channels", "40/80/160"),
        ("--attention", "flash"),
        ("--attn-levels", "4"),
        ("--attn-levels", "-1"),
        ("--edit-fraction", "1.5"),
        ("--renamed-edits", "0.7"),
        ("--renamed-edits", "-0.1"),
        ("--prediction", "noise"),
        ("--steps", "many"),
    ],
)
def test_the_training_command_refuses_a_bad_option_in_one_line(tmp_path: Path, option: str, value: str) -> None:
    result = run_training_command(tmp_path / "m", option, value)
    assert result.exit_code == 2
    assert option in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.csv").exists()
