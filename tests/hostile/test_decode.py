"""The corpus through the image decoder: each hostile file refused in words, quickly and without
decoding what it claims; each unusual sound one decoded right."""

from __future__ import annotations

import resource
import time

import pytest

from plantain.core.errors import ErrorKind, ServiceError
from plantain.imaging.decode import decode_image
from tests.hostile.make_corpus import CORPUS, VALID, corpus

HOSTILE = sorted(set(corpus()) - VALID)


def test_the_corpus_on_disk_is_the_one_the_script_makes() -> None:
    assert {p.name: p.read_bytes() for p in CORPUS.iterdir()} == corpus()


@pytest.mark.parametrize("name", HOSTILE)
def test_refused_quickly_in_words(name: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with pytest.raises(ServiceError) as refused:
        decode_image((CORPUS / name).read_bytes(), 50_000_000, f"the image {name}")
    assert refused.value.kind is ErrorKind.INVALID and f"the image {name}" in refused.value.message
    assert time.perf_counter() - started < 2
    # Nothing the file claims is decoded: the peak grows by less than 64 MB (a bomb would take 432).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024


def test_unusual_but_sound_images_decode_right() -> None:
    def corners(name: str) -> tuple[tuple[int, int], object, object]:
        im = decode_image((CORPUS / name).read_bytes(), 50_000_000)
        assert im.mode == "RGB"
        return im.size, im.getpixel((0, 0)), im.getpixel((im.width - 1, im.height - 1))

    assert corners("cmyk.jpg") == ((96, 64), (220, 30, 30), (30, 30, 220))
    # Turned as its EXIF orientation says: 64 wide, red on top.
    size, top, bottom = corners("exif-rotated.jpg")
    assert size == (64, 96) and top == (220, 30, 30) and abs(bottom[2] - 220) <= 2  # type: ignore[index]
    # 16-bit grey scaled to 8 bits (red's grey is 87), not clipped to white.
    assert corners("16-bit.png") == ((96, 64), (87, 87, 87), (52, 52, 52))
