"""The training script rebuilds the same weights from the same seed (a tiny recipe, a few steps)."""

from __future__ import annotations

from pathlib import Path

from plantain.mini.pipeline import load_mini_pipeline
from plantain.mini.train import Recipe, train

TINY = Recipe(steps=3, batch_size=4, prompt_pool=48, channels=(8, 16, 16), heads=2, warmup=1)


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
