"""The snippets of docs/migrating.md, run as written against a real server."""

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

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_doc_has_both_snippets() -> None:
    blocks = python_blocks()
    assert len(blocks) == 2
    assert "google.generativeai" in blocks[0] and "from google import genai" in blocks[1]


@pytest.mark.parametrize("index", [0, 1], ids=["legacy-google-generativeai", "google-genai"])
def test_snippet_runs_against_plantain(server: str, tmp_path: Path, index: int) -> None:
    code = python_blocks()[index]
    env = {**os.environ, "PLANTAIN_URL": server, "PLANTAIN_API_KEY": API_KEY, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(tmp_path / "output.png") as im:
        assert im.format == "PNG" and im.size == (1024, 1024)
