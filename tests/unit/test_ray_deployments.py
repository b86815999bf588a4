"""How `plantain serve --ray` lays the catalog out on Ray Serve: a deployment per pipeline, its
replicas, resources and request limit from the catalog or the flags."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest

from plantain.core.catalog import Catalog, Replicas, load_catalog
from plantain.core.errors import ErrorKind, ServiceError
from plantain.ray_app import deployment_options
from plantain.serving.ray_serve import ongoing_limit, pipelines

ROOT = Path(__file__).resolve().parents[2]


def test_entries_on_one_pipeline_share_one_deployment() -> None:
    groups = pipelines(load_catalog())
    # The packaged catalog serves every ID from the built-in model's one pipeline.
    assert list(groups) == ["pipeline-gemini-3-1-flash-lite-image"]
    assert [e.id for e in groups["pipeline-gemini-3-1-flash-lite-image"]] == [
        "gemini-3.1-flash-lite-image", "gemini-3.1-flash-image-preview", "plantain-mini",
    ]  # fmt: skip
    example = pipelines(load_catalog(ROOT / "docs" / "catalog.example.toml"))
    assert len(example) == 4 and all(re.fullmatch(r"[a-z0-9-]+", name) for name in example)


def test_options_come_from_the_catalog_and_the_flags_override_them() -> None:
    entry = load_catalog(ROOT / "docs" / "catalog.example.toml").models["gemini-3.1-flash-image-preview"]
    options = deployment_options(entry, None, None)
    # Two device batches in flight: Ray's default of 5 would cap a batch of 4 x 2 candidates.
    assert options["max_ongoing_requests"] == 2 * entry.max_batch == ongoing_limit(entry)
    assert options["ray_actor_options"] == {"num_gpus": 1, "num_cpus": 4}
    assert options["autoscaling_config"] == {"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 4}
    assert "num_replicas" not in options
    fixed = deployment_options(entry, 3, 0.5)
    assert fixed["num_replicas"] == 3 and "autoscaling_config" not in fixed
    assert fixed["ray_actor_options"]["num_gpus"] == 0.5
    mini = load_catalog().models["plantain-mini"]
    assert deployment_options(mini, None, None)["num_replicas"] == 1


def test_autoscaling_needs_a_ceiling_above_its_floor() -> None:
    with pytest.raises(ValueError, match=r"below replicas\.count"):
        Replicas(count=4, max_count=2)


def test_a_replicas_error_reaches_the_ingress_whole() -> None:
    error = ServiceError(ErrorKind.UNAVAILABLE, "busy", field="model", retry_after=2.5, code="x")
    error.quota = ("key", "images_per_day")
    back = pickle.loads(pickle.dumps(error))
    assert (back.kind, back.message, back.field, back.retry_after, back.code, back.quota) == (
        ErrorKind.UNAVAILABLE, "busy", "model", 2.5, "x", ("key", "images_per_day"),
    )  # fmt: skip


def test_an_empty_catalog_has_no_deployments() -> None:
    assert pipelines(Catalog(models={})) == {}
