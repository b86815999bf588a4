"""`plantain serve --ray`: the SDK end-to-end tests, unchanged, against the app under Ray Serve with
two replicas of each pipeline, on a local Ray instance inside a network namespace that has only
loopback (Ray opens ports on every interface, whatever address it is given)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_batch_cli import loopback_only

ROOT = Path(__file__).resolve().parents[2]
# The google-genai (Developer API and Vertex express) and openai SDK suites.
SUITES = ["tests/server/test_gemini_sdk.py", "tests/server/test_openai_sdk.py", "tests/server/test_vertex_sdk.py"]


def collected(paths: list[str]) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sum(1 for line in out.splitlines() if "::" in line)


@pytest.mark.slow
@pytest.mark.skipif(not loopback_only(), reason="needs `unshare -n` (root, or user namespaces) and `ip`")
def test_the_sdk_suites_pass_against_ray_serve_with_two_replicas_on_loopback_only() -> None:
    expected = collected(SUITES)
    assert expected >= 30
    script = (
        "ip link set lo up && "
        # Nothing but loopback in here: a Ray that reached past it would fail, not pass.
        'test "$(ip -o link show | grep -vc " lo:")" = 0 && '
        f"exec {sys.executable} -m pytest -q -p no:cacheprovider {' '.join(SUITES)}"
    )
    env = {**os.environ, "PLANTAIN_TEST_RAY": "2", "RAY_USAGE_STATS_ENABLED": "0"}
    run = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    tail = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) == expected, tail
    assert "failed" not in run.stdout.splitlines()[-1], tail
