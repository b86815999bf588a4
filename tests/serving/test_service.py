"""The serving layer called directly, as the CLI calls it: core requests in, core results or core
errors out, with sizes in pixels and a cancellation token."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from plantain.backends.mini import MiniBackend
from plantain.backends.registry import backend_class, check_catalog
from plantain.core.cancel import CancelToken
from plantain.core.catalog import Catalog, load_catalog
from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.requests import GenerationRequest, Turn
from plantain.core.results import ImageOut, TextOut
from plantain.core.settings import Settings
from plantain.serving.service import Service


@pytest.fixture(scope="module")
def service(catalog: Catalog) -> Iterator[Service]:
    svc = Service(Settings(offline=True, threads=2), catalog)
    yield svc
    svc.close(wait=10)


def request(model: str = "tiny-sana", text: str = "a lighthouse", **kw: object) -> GenerationRequest:
    return GenerationRequest(model=model, turns=[Turn("user", [text])], **kw)  # type: ignore[arg-type]


def test_a_size_in_pixels_is_drawn_exactly_and_priced_at_its_tier(service: Service) -> None:
    result = asyncio.run(service.generate(request(width=600, height=400, seed=1), CancelToken()))
    (image,) = result.images
    assert (image.width, image.height, image.seed, image.mime_type) == (600, 400, 1, "image/png")
    assert result.usage.size_tier == "512" and result.usage.output_image_tokens == 747
    assert isinstance(result.candidates[0][0], TextOut) and isinstance(result.candidates[0][1], ImageOut)
    assert result.batch_size == 1


@pytest.mark.parametrize(("width", "height", "needle"), [(1536, 1024, "too large"), (8, 400, "too small")])
def test_a_size_in_pixels_the_model_cannot_draw_is_refused(
    service: Service, width: int, height: int, needle: str
) -> None:
    with pytest.raises(ServiceError) as info:
        asyncio.run(service.generate(request(width=width, height=height), CancelToken()))
    assert info.value.kind is ErrorKind.INVALID and info.value.field == "size" and needle in info.value.message


def test_a_cancelled_token_stops_the_work_and_a_past_deadline_ends_it(service: Service) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(ServiceError) as info:
        asyncio.run(service.generate(request(), token))
    assert info.value.kind is ErrorKind.CANCELLED
    with pytest.raises(ServiceError) as info:
        asyncio.run(service.generate(request(), CancelToken(timeout=0)))
    assert info.value.kind is ErrorKind.DEADLINE


def test_an_unknown_model_is_not_found(service: Service) -> None:
    with pytest.raises(ServiceError) as info:
        asyncio.run(service.generate(request("nope"), CancelToken()))
    assert info.value.kind is ErrorKind.NOT_FOUND


def test_the_catalog_picks_the_backend_class(catalog: Catalog) -> None:
    packaged = load_catalog()
    assert all(backend_class(e) is MiniBackend for e in packaged.models.values())
    bad = Catalog.model_validate(
        {"models": {"x": {**packaged.models["plantain-mini"].model_dump(exclude={"id"}), "backend": "nope"}}}
    )
    with pytest.raises(ValueError, match="unknown backend 'nope'"):
        check_catalog(bad)


def test_progress_hears_every_denoising_step(service: Service) -> None:
    steps: list[tuple[int, int]] = []
    asyncio.run(service.generate(request(seed=2), CancelToken(), lambda i, total: steps.append((i, total))))
    assert steps == [(0, 2), (1, 2)]  # the tiny entry's two steps, from the first on
