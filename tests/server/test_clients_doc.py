"""The Python snippets of docs/clients.md, run as written against a real server."""

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

DOC = Path(__file__).resolve().parents[2] / "docs" / "clients.md"
# Each snippet by its heading, with the image it writes and that image's size.
WRITES = {
    "openai": ("edited.png", (1264, 848)),
    "google-genai in Vertex AI express mode": ("squares-2x.png", (2752, 1536)),
    "LiteLLM": ("circle.png", (1024, 1024)),
    "LangChain, Google": ("triangle.png", (1024, 1024)),
    "LangChain, OpenAI": ("diamond.png", (1024, 1024)),
}


def python_blocks() -> dict[str, str]:
    return dict(re.findall(r"### ([^\n]+)\n\n```python\n(.*?)```", DOC.read_text(), re.S))


def test_every_python_snippet_is_run() -> None:
    assert set(python_blocks()) == set(WRITES)


@pytest.mark.parametrize("heading", list(WRITES))
def test_snippet_runs_against_plantain(server: str, tmp_path: Path, heading: str) -> None:
    env = {**os.environ, "PLANTAIN_URL": server, "PLANTAIN_API_KEY": API_KEY, "PYTHONWARNINGS": "ignore"}
    code = python_blocks()[heading]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    name, size = WRITES[heading]
    with Image.open(tmp_path / name) as im:
        assert im.size == size
