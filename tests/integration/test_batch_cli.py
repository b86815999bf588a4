"""`plantain batch run` in this process and on Ray, `plantain batch status`: the same job, result
lines and ledger rows as the Batch API's. Ray runs inside a network namespace with only loopback
(Ray opens ports on every interface even when told 127.0.0.1), as a local instance started with
`ray start`, joined with --address."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.server_process import ledger_rows

# Real processes, the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow
PROMPTS = ["two red circles", "a blue square at the top left", "make the circle blue", "three pink diamonds"]


def loopback_only() -> bool:
    if shutil.which("ip") is None:
        return False
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


def write_input(path: Path, count: int) -> list[str]:
    keys = [f"req-{i}" for i in range(count)]
    lines = [
        {"key": key, "request": {"contents": [{"parts": [{"text": PROMPTS[i % len(PROMPTS)]}]}],
                                 "generationConfig": {"responseModalities": ["IMAGE"], "seed": i}}}
        for i, key in enumerate(keys)
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return keys


def plantain(*args: str, env: dict[str, str], cwd: Path, netns: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "plantain.cli", *args]
    if netns:
        ray = str(Path(sys.executable).parent / "ray")
        script = (
            "ip link set lo up && "
            f"{ray} start --head --port=6399 --node-ip-address=127.0.0.1 --num-cpus=2 --include-dashboard=false "
            "--disable-usage-stats >/dev/null && "
            f"{' '.join(command)}; rc=$?; {ray} stop --force >/dev/null 2>&1; exit $rc"
        )
        command = ["unshare", "-n", "sh", "-c", script]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)


def checked(path: Path, keys: list[str]) -> dict[str, dict[str, object]]:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    by_key = {line["key"]: line for line in lines}
    assert len(lines) == len(keys) and sorted(by_key) == sorted(keys)  # one line per request key
    for key, line in by_key.items():
        if "make the circle" in PROMPTS[keys.index(key) % len(PROMPTS)]:
            assert line["error"]["code"] == 400
        else:
            part = line["response"]["candidates"][0]["content"]["parts"][0]
            assert Image.open(io.BytesIO(base64.b64decode(part["inlineData"]["data"]))).size == (1024, 1024)
    return by_key


@pytest.mark.skipif(not loopback_only(), reason="needs `unshare -n` (root, or user namespaces) and `ip`")
def test_a_jsonl_batch_runs_here_and_on_ray_with_the_same_results_and_charges(tmp_path: Path) -> None:
    env = {**os.environ, "PLANTAIN_DATA_DIR": str(tmp_path / "data"), "PLANTAIN_THREADS": "2",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token"}  # fmt: skip
    keys = write_input(tmp_path / "in.jsonl", 20)

    here = plantain("batch", "run", "in.jsonl", "--model", "plantain-mini", env=env, cwd=tmp_path)
    assert here.returncode == 0, here.stderr
    local = checked(tmp_path / "in.results.jsonl", keys)

    on_ray = plantain("batch", "run", "in.jsonl", "--model", "plantain-mini", "--ray", "--address", "127.0.0.1:6399",
                      "-o", "ray.jsonl", env=env, cwd=tmp_path, netns=True)  # fmt: skip
    assert on_ray.returncode == 0, on_ray.stderr
    remote = checked(tmp_path / "ray.jsonl", keys)
    assert {k for k, v in local.items() if "error" in v} == {k for k, v in remote.items() if "error" in v}

    job = re.search(r"batches/([0-9a-f]+): 15 ok, 5 failed", on_ray.stderr)
    assert job, on_ray.stderr
    status = plantain("batch", "status", f"batches/{job.group(1)}", env=env, cwd=tmp_path)
    assert "succeeded" in status.stdout and "done=20 ok=15 failed=5 total=20" in status.stdout

    rows = ledger_rows(tmp_path / "data")
    # Each job charged its 15 successes once, as batch work; the failures cost nothing.
    assert len(rows) == 30 and all(r.batch and r.dialect == "gemini-batch" for r in rows)
    assert len({r.request_id for r in rows}) == 30
