"""The playground's built files are those its source builds to: `npm ci` and `npm run build` in a
copy of web/playground/, compared with the committed src/plantain/playground/. Needs Node.js."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs Node.js and npm")
def test_the_committed_bundle_is_the_build_of_the_source(tmp_path: Path) -> None:
    work = tmp_path / "web" / "playground"
    shutil.copytree(ROOT / "web" / "playground", work, ignore=shutil.ignore_patterns("node_modules"))
    out = tmp_path / "src" / "plantain" / "playground"
    out.mkdir(parents=True)
    for step in (["npm", "ci", "--no-audit", "--no-fund"], ["npm", "run", "build"]):
        done = subprocess.run(step, cwd=work, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    committed = ROOT / "src" / "plantain" / "playground"
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in out.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(committed, out, names, shallow=False)
    assert mismatch == [] and errors == [], f"rebuild the playground (npm run build in web/playground): {mismatch}"
