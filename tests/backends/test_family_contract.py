"""Every tiny diffusers family through the backend contract directly, no server: a batch gives each
job what it gets alone, a seed gives the same image, a step hook can stop a batch, and images come
at each job's size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from plantain.backends.base import Interrupted, PromptReading, Step
from plantain.backends.diffusers_backend import DiffusersBackend
from plantain.backends.registry import load_backend
from plantain.core.catalog import ModelEntry
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from tests.tiny_pipelines import build_klein, build_kontext, build_sana, build_tiny_preview_decoder

FAMILIES: dict[str, tuple[Callable[[Path], Path], dict[str, object]]] = {
    "sana": (build_sana, {"complex_human_instruction": []}),
    "flux2-klein": (build_klein, {"text_encoder_out_layers": [1]}),
    "flux-kontext": (build_kontext, {"max_sequence_length": 32}),
}
PRICES = {"input_per_million_tokens": 0.0, "output_per_million_tokens": 0.0}


@pytest.fixture(scope="module", params=list(FAMILIES))
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DiffusersBackend:
    family: str = request.param
    build, call_options = FAMILIES[family]
    folder = build(tmp_path_factory.mktemp(family))
    entry = ModelEntry(
        id=f"tiny-{family}",
        display_name=family,
        family=family,
        checkpoint=str(folder),
        steps=2,
        max_render_side=64,
        can_edit=family != "sana",
        call_options=call_options,
        prices=PRICES,  # type: ignore[arg-type]
    )
    loaded = load_backend(entry, Settings(offline=True, threads=2))
    assert isinstance(loaded, DiffusersBackend)
    return loaded


def jobs(backend: DiffusersBackend) -> list[ImageJob]:
    source = Image.new("RGB", (96, 64), (30, 120, 200))
    edit = [source] if backend.capabilities.can_edit else []
    return [ImageJob("a red kite", 11, 96, 64, edit), ImageJob("a green boat", 12, 96, 64, edit)]


def test_a_seed_gives_the_same_image(backend: DiffusersBackend) -> None:
    job = jobs(backend)[0]
    first, again = backend.generate([job])[0], backend.generate([job])[0]
    assert first.tobytes() == again.tobytes()
    other = backend.generate([ImageJob(job.prompt, job.seed + 1, job.width, job.height, job.images)])[0]
    assert other.tobytes() != first.tobytes()


def test_a_batch_gives_each_job_what_it_gets_alone(backend: DiffusersBackend) -> None:
    batch = backend.generate(jobs(backend))
    alone = [backend.generate([job])[0] for job in jobs(backend)]
    for together, single in zip(batch, alone, strict=True):
        assert together.tobytes() == single.tobytes()  # one generator per job: batching changes nothing


def test_images_come_at_each_jobs_size_and_jobs_of_one_key_share_a_batch(backend: DiffusersBackend) -> None:
    a, b = jobs(backend)
    tall = ImageJob(a.prompt, a.seed, 64, 128, a.images)
    assert [im.size for im in backend.generate([a, tall])] == [(96, 64), (64, 128)]
    assert backend.batch_key(a) == backend.batch_key(b) != backend.batch_key(tall)


def test_a_step_hook_stops_the_batch(backend: DiffusersBackend) -> None:
    seen: list[tuple[int, int]] = []

    def stop(step: Step) -> bool:
        seen.append((step.index, step.total))
        return False

    with pytest.raises(Interrupted):
        backend.generate(jobs(backend), stop)
    assert seen == [(0, 2)]
    assert backend.generate(jobs(backend)[:1])  # the next batch runs whole


def test_previews_are_the_state_of_each_job_where_the_family_shows_it(backend: DiffusersBackend) -> None:
    batch = jobs(backend)
    shown: list[tuple[tuple[int, ...], list[tuple[int, int]]]] = []

    def look(step: Step) -> None:
        if step.decode is not None:
            shown.append((step.jobs, [im.size for im in step.decode()]))

    final = backend.generate(batch, look)
    if backend.family.preview is None:
        assert shown == []
        return
    # Every step of every pipeline call, one image per job it advanced, at the job's render size.
    assert shown
    for positions, sizes in shown:
        assert sizes == [backend.render_size(batch[p].width, batch[p].height) for p in positions]
    assert sorted({p for positions, _ in shown for p in positions}) == list(range(len(final)))


def test_a_family_without_words_says_nothing(backend: DiffusersBackend) -> None:
    assert backend.describe(Image.new("RGB", (64, 64))) is None
    assert backend.read_prompt("make the circle blue") == PromptReading()
    assert backend.weights_id() == id(backend.pipe)


def test_a_tiny_preview_decoder_takes_the_vaes_place_for_previews(tmp_path: Path) -> None:
    entry = ModelEntry(
        id="tiny-sana-taesd",
        display_name="sana with a tiny preview decoder",
        family="sana",
        checkpoint=str(build_sana(tmp_path / "sana")),
        preview_decoder=str(build_tiny_preview_decoder(tmp_path / "taesd")),
        steps=3,
        max_render_side=64,
        can_edit=False,
        call_options={"complex_human_instruction": []},
        prices=PRICES,  # type: ignore[arg-type]
    )
    backend = load_backend(entry, Settings(offline=True, threads=2))
    assert isinstance(backend, DiffusersBackend)
    assert type(backend.preview_decoder).__name__ == "AutoencoderTiny"
    calls = {"vae": 0, "tiny": 0}
    backend.pipe.vae.decoder.register_forward_hook(lambda *_: calls.__setitem__("vae", calls["vae"] + 1))
    backend.preview_decoder.decoder.register_forward_hook(lambda *_: calls.__setitem__("tiny", calls["tiny"] + 1))
    sizes: list[tuple[int, int]] = []

    def look(step: Step) -> None:
        if step.decode is not None and step.index < step.total - 1:
            sizes.extend(im.size for im in step.decode())

    (image,) = backend.generate([ImageJob("a lighthouse", 1, 64, 64)], look)
    # Two previews through the tiny decoder; the full VAE decodes the final image alone.
    assert calls == {"vae": 1, "tiny": 2}
    assert sizes == [backend.render_size(64, 64)] * 2 and image.size == (64, 64)
