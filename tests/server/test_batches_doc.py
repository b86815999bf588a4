"""The Python snippets of docs/batches.md, run as written against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.server_process import API_KEY

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "batches.md"
# Each snippet by its heading, with the images it writes.
WRITES = {
    "Google's Batch API": ["three-pink-diamonds.png", "a-blue-square-at-the-top-left.png"],
    "OpenAI's Batch API": ["variant-0.jpeg", "variant-1.jpeg", "variant-2.jpeg"],
}


def python_blocks() -> dict[str, str]:
    return dict(re.findall(r"## ([^\n]+)\n\n```python\n(.*?)```", DOC.read_text(), re.S))


def test_every_python_snippet_is_run() -> None:
    assert set(python_blocks()) == set(WRITES)


@pytest.mark.parametrize("heading", list(WRITES))
def test_snippet_runs_against_plantain(server: str, tmp_path: Path, heading: str) -> None:
    env = {**os.environ, "PLANTAIN_URL": server, "PLANTAIN_API_KEY": API_KEY, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [sys.executable, "-c", python_blocks()[heading]], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for name in WRITES[heading]:
        with Image.open(tmp_path / name) as im:
            assert im.size == (1024, 1024)
