"""A catalog entry's speed options, applied at load on real (tiny, random-weight) pipelines and on
the built-in model: each reaches the pipeline, keeps the output, and one that this machine cannot
honour is refused with the reason, never silently dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from plantain.backends.base import BackendUnavailable
from plantain.backends.diffusers_backend import DiffusersBackend, denoiser
from plantain.backends.registry import load_backend
from plantain.core.catalog import Catalog, ModelEntry, Speed, load_catalog
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.serving.service import Service
from tests.tiny_pipelines import build_sana

PRICES = {"input_per_million_tokens": 0.0, "output_per_million_tokens": 0.0}
JOB = ImageJob("a red kite", 11, 64, 64)


@pytest.fixture(scope="module")
def sana_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sana(tmp_path_factory.mktemp("sana"))


def sana(folder: Path, **speed: Any) -> DiffusersBackend:
    entry = ModelEntry(
        id="tiny-sana", display_name="sana", family="sana", checkpoint=str(folder), steps=2, max_render_side=64,
        can_edit=False, call_options={"complex_human_instruction": []}, prices=PRICES,  # type: ignore[arg-type]
        speed=Speed(**speed),
    )  # fmt: skip
    backend = load_backend(entry, Settings(offline=True, threads=2))
    assert isinstance(backend, DiffusersBackend)
    return backend


def pixels(backend: DiffusersBackend) -> np.ndarray:
    return np.asarray(backend.generate([JOB])[0], dtype=np.int16)


def test_bfloat16_weights_draw_what_float32_draws(sana_folder: Path) -> None:
    plain, half = sana(sana_folder), sana(sana_folder, dtype="bfloat16")
    assert next(denoiser(plain.pipe).parameters()).dtype == torch.float32
    assert next(denoiser(half.pipe).parameters()).dtype == torch.bfloat16
    # bf16 rounds: the same picture, not the same bytes.
    assert np.abs(pixels(plain) - pixels(half)).mean() < 12


def test_the_denoiser_compiled_draws_the_same_image(sana_folder: Path) -> None:
    plain, compiled = sana(sana_folder), sana(sana_folder, compile=True)
    compiled.warm_up()
    assert compiled.warmup_seconds is not None and plain.warmup_seconds is None
    assert denoiser(compiled.pipe)._compiled_call_impl is not None
    assert np.abs(pixels(plain) - pixels(compiled)).max() <= 2


def test_an_attention_backend_is_set_and_an_unknown_one_refused(sana_folder: Path) -> None:
    native = sana(sana_folder, attention="native")
    assert np.abs(pixels(native) - pixels(sana(sana_folder))).max() <= 2
    with pytest.raises(BackendUnavailable, match=r"speed\.attention = 'warp-drive'"):
        sana(sana_folder, attention="warp-drive")


def test_offload_without_a_gpu_is_refused_with_the_reason(sana_folder: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(BackendUnavailable, match="needs a GPU"):
        sana(sana_folder, offload="model")


def test_the_builtin_model_in_channels_last_draws_the_same_image() -> None:
    base = load_catalog().models["plantain-mini"]
    fast = load_backend(base.model_copy(update={"speed": Speed(channels_last=True)}), Settings(threads=2))
    plain = load_backend(base, Settings(threads=2))
    assert isinstance(fast, DiffusersBackend) and isinstance(plain, DiffusersBackend)
    conv = next(m for m in denoiser(fast.pipe).modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    job = ImageJob("two red circles on a white background", 3)
    a, b = (np.asarray(x.generate([job])[0], dtype=np.int16) for x in (fast, plain))
    assert np.abs(a - b).max() <= 2


def test_the_service_warms_a_model_up_before_its_first_batch() -> None:
    entry = load_catalog().models["plantain-mini"].model_copy(update={"speed": Speed(warmup=True)})
    service = Service(Settings(threads=2, fit_batch=False), Catalog(models={"plantain-mini": entry}))
    try:
        asyncio.run(service.warm(entry))
        backend = service.backends.get(entry)
        assert isinstance(backend, DiffusersBackend)
        assert backend.warmup_seconds is not None and backend.warmup_seconds > 0
    finally:
        service.close(wait=5)
