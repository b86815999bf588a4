"""docs/deploy.md stays true: its settings table is the settings class's, and the deployment files
it shows name the service's own paths."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from typer.testing import CliRunner

from plantain.cli import app
from plantain.core.catalog import ModelEntry
from plantain.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_settings_table_is_generated_from_the_settings_class() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    table = re.search(r"<!-- settings: [^>]*-->\n(.*?)<!-- /settings -->", doc, re.S)
    assert table, "docs/deploy.md lost its settings table"
    printed = CliRunner().invoke(app, ["env", "--markdown"]).output
    assert table.group(1) == printed, "regenerate it: plantain env --markdown"
    assert len(re.findall(r"^\| `PLANTAIN_", table.group(1), re.M)) == len(Settings.model_fields)


def test_the_compose_file_runs_the_image_beside_postgresql_and_prometheus() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert set(compose["services"]) == {"plantain", "postgres", "prometheus"}
    plantain = compose["services"]["plantain"]
    assert plantain["build"]["dockerfile"] == "deploy/Dockerfile"
    assert plantain["environment"]["PLANTAIN_DATABASE_URL"].startswith("postgresql://")
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["static_configs"][0]["targets"] == ["plantain:8080"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "/readyz" in dockerfile and "torch==2.13.0" in dockerfile


def test_every_catalog_table_the_guide_shows_is_a_valid_one() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    shown = set()
    for block in re.findall(r"```toml\n(.*?)```", doc, re.S):
        for model in tomllib.loads(block)["models"].values():
            for name, table in model.items():
                # Each sub-table is the entry field of that name, checked by its own model.
                field = ModelEntry.model_fields[name].annotation
                assert isinstance(field, type)
                field.model_validate(table)
                shown.add(name)
    assert shown == {"replicas", "speed"}
