"""Keys made with `plantain keys create` against two real server processes sharing one database:
the SDK works with them, and a key revoked from the command line is refused by both at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types

from tests.server_process import server_process

# A real server process, training or the model at length: `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def plantain(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "plantain.cli", *args], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_revoked_keys_are_refused_by_every_server_sharing_the_database(tmp_path: Path) -> None:
    env = {"PLANTAIN_DATA_DIR": str(tmp_path / "data")}
    plantain(env, "db", "upgrade")
    secret = plantain(env, "keys", "create", "--name", "team-a", "--rpm", "100")
    with server_process(env) as one, server_process(env) as two:
        clients = [genai.Client(api_key=secret, http_options=types.HttpOptions(base_url=s.base)) for s in (one, two)]
        for client in clients:
            assert client.models.count_tokens(model="plantain-mini", contents="a red circle").total_tokens
        # The environment's key keeps working beside the stored ones.
        env_client = genai.Client(api_key="test-key-123", http_options=types.HttpOptions(base_url=one.base))
        assert env_client.models.get(model="plantain-mini").name == "models/plantain-mini"
        plantain(env, "keys", "revoke", "team-a")
        for client in clients:
            with pytest.raises(errors.ClientError) as refused:
                client.models.count_tokens(model="plantain-mini", contents="a red circle")
            assert refused.value.code == 400 and "API key not valid" in (refused.value.message or "")
