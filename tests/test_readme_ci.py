"""The README's first code block is what a new user runs, and CI runs exactly that."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def first_block_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```(?:\w+)?\n(.*?)```", text, re.S)
    assert block, "README.md has no code block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_has_exactly_two_setup_commands() -> None:
    commands = first_block_commands()
    assert len(commands) == 2
    assert "pip install" in commands[0] and "plantain generate" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in first_block_commands():
        assert command in (line.strip() for line in ci), command
