"""The watermark and the content credentials on their own: the watermark held to the
invisible-watermark library both ways, the manifest signed, read, trusted and broken."""

from __future__ import annotations

import io
import multiprocessing
from pathlib import Path

import numpy as np
import pytest
from imwatermark import WatermarkDecoder, WatermarkEncoder
from PIL import Image

from plantain.imaging.credentials import Credentials, make_certificates, read_credentials
from plantain.imaging.watermark import MARK, METHOD, SCALES, embed, read


def picture(seed: int, size: tuple[int, int] = (1024, 768)) -> Image.Image:
    """Flat shapes on a plain ground, as the built-in model draws, with some noise."""
    rng = np.random.default_rng(seed)
    a = np.zeros((size[1], size[0], 3), np.float64) + rng.integers(0, 255, 3)
    for _ in range(4):
        x, y = rng.integers(0, size[0] - 200), rng.integers(0, size[1] - 200)
        a[y : y + 200, x : x + 200] = rng.integers(0, 255, 3)
    a += rng.normal(0, 3, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_library_reads_our_mark_and_we_read_the_librarys(seed: int) -> None:
    image = picture(seed)
    ours = embed(image)
    bgr = np.ascontiguousarray(np.asarray(ours)[..., ::-1])
    assert WatermarkDecoder("bytes", 32).decode(bgr, METHOD, scales=SCALES) == MARK
    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", MARK)
    theirs = encoder.encode(np.ascontiguousarray(np.asarray(image)[..., ::-1]), METHOD, scales=SCALES)
    assert read(Image.fromarray(np.ascontiguousarray(theirs[..., ::-1]))).bits_matched == 32
    # Unmarked, the same picture is not taken for marked; and the mark is faint.
    assert not read(image).found
    diff = np.abs(np.asarray(ours, np.int16) - np.asarray(image, np.int16))
    assert diff.mean() < 4


def test_the_mark_survives_jpeg_and_resizing_back() -> None:
    marked = embed(picture(3))
    buf = io.BytesIO()
    marked.save(buf, format="JPEG", quality=75)
    assert read(Image.open(buf)).found
    small = marked.resize((512, 384), Image.Resampling.BICUBIC)
    assert read(small, size=marked.size).found


def test_tiny_images_are_left_alone() -> None:
    tiny = Image.new("RGB", (32, 32), (9, 9, 9))
    assert embed(tiny) is tiny and not read(tiny).found


@pytest.mark.parametrize(("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")])
def test_credentials_sign_read_trust_and_break(tmp_path: Path, fmt: str, mime: str) -> None:
    ca, chain, key = make_certificates(tmp_path / "credentials")
    assert (key.stat().st_mode & 0o777) == 0o600
    assert make_certificates(tmp_path / "credentials") == (ca, chain, key)  # made once, kept
    buf = io.BytesIO()
    picture(4, (256, 256)).save(buf, format=fmt)
    signed = Credentials.from_files(chain, key, "9.9").sign(buf.getvalue(), mime, "plantain-mini")
    assert Image.open(io.BytesIO(signed)).size == (256, 256)
    reading = read_credentials(signed, mime)
    assert reading.found and reading.state == "Valid" and not reading.problems
    assert (reading.generator, reading.model, reading.issuer) == ("Plantain", "plantain-mini", "Plantain")
    assert read_credentials(signed, mime, ca.read_bytes()).state == "Trusted"
    other_ca, _, _ = make_certificates(tmp_path / "other")
    assert read_credentials(signed, mime, other_ca.read_bytes()).state == "Valid"  # not this CA's
    assert not read_credentials(buf.getvalue(), mime).found
    # A pixel changed after signing: the manifest no longer matches the image.
    tampered = bytearray(signed)
    tampered[-40] ^= 0xFF
    broken = read_credentials(bytes(tampered), mime)
    assert broken.found and (broken.state == "Invalid" or broken.problems)


def _make(folder: str) -> None:
    make_certificates(Path(folder))


def test_processes_starting_together_share_one_signer(tmp_path: Path) -> None:
    """Several processes making the certificates at once (a Ray Serve ingress and its replicas) end
    with one consistent set: the key signs for the chain's certificate."""
    folder = tmp_path / "credentials"
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.map(_make, [str(folder)] * 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials"]  # no drafts left behind
    ca, chain, key = make_certificates(folder)
    signed = Credentials.from_files(chain, key, "1").sign(encoded_png(), "image/png", "m")
    assert read_credentials(signed, "image/png", ca.read_bytes()).state == "Trusted"


def encoded_png() -> bytes:
    buf = io.BytesIO()
    picture(5, (256, 256)).save(buf, format="PNG")
    return buf.getvalue()
