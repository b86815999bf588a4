"""`plantain generate` as a user runs it: a real process, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from plantain.mini.detect import detect
from plantain.mini.render import render_image
from plantain.mini.world import Obj, Scene

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plantain.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_generate_writes_a_png_and_the_same_seed_gives_the_same_pixels(tmp_path: Path) -> None:
    first = run("generate", "two red circles on a white background", "-o", "a.png", "--seed", "7", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = run("generate", "two red circles on a white background", "-o", "b.png", "--seed", "7", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    # The same pixels; each file's signed manifest is its own.
    with Image.open(tmp_path / "a.png") as a, Image.open(tmp_path / "b.png") as b:
        assert a.tobytes() == b.tobytes()
    with Image.open(tmp_path / "a.png") as im:
        assert im.format == "PNG" and im.size == (1024, 1024)
    assert "seed 7" in first.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]  # no temporary files left


def test_generate_n_writes_distinct_images(tmp_path: Path) -> None:
    result = run("generate", "a blue square", "-o", "sq.png", "--n", "2", "--seed", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    one, two = (tmp_path / "sq-1.png").read_bytes(), (tmp_path / "sq-2.png").read_bytes()
    assert one != two


def test_generate_with_image_edits_it(tmp_path: Path) -> None:
    source = Scene("beige", (Obj(3, "circle", "red", "large"),))
    render_image(source).resize((1024, 1024), Image.Resampling.NEAREST).save(tmp_path / "in.png")
    result = run("generate", "make the circle blue", "--image", "in.png", "-o", "out.png", "--seed", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plain = run("generate", "make the circle blue", "-o", "plain.png", "--seed", "0", cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (1024, 1024)
        detect(im)  # a readable image of the world
    # The input image, not only the instruction, decided the result.
    assert (tmp_path / "out.png").read_bytes() != (tmp_path / "plain.png").read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "", "-o", "x.png"], "prompt is empty"),
        (["generate", "   ", "-o", "x.png"], "prompt is empty"),
        (["generate", "a red circle", "--image", "missing.png", "-o", "x.png"], "cannot read missing.png"),
        (["generate", "a red circle", "--image", "bad.png", "-o", "x.png"], "cannot be decoded"),
        (["generate", "a red circle", "--image", "cut.png", "-o", "x.png"], "damaged or truncated"),
        (["generate", "a red circle", "-o", "nowhere/x.png"], "does not exist"),
        (["generate", "a red circle", "-o", "adir"], "is a directory"),
        (["generate", "a red circle", "-o", "afile/x.png"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.png").write_bytes(b"not an image at all")
    render_image(Scene("white")).save(tmp_path / "whole.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "whole.png").read_bytes()[:60])
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, nothing half-written


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("PLANTAIN_API_KEYS", "PLANTAIN_AUTH")}
    result = subprocess.run(
        [sys.executable, "-m", "plantain.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert "without API keys" in result.stderr and "PLANTAIN_AUTH=off" in result.stderr
