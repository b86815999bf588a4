"""The model catalog: which public model ID is served by what, can do what, and costs what.

One packaged TOML file (`plantain/catalog.toml`) is the default; `PLANTAIN_CATALOG` points at a
user's own file, which replaces it. Prices and limits are data here, never constants in code.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plantain.core.sizes import ASPECT_RATIOS, SIZE_ALIASES, SIZE_TIERS


class Prices(BaseModel):
    """US dollars."""

    model_config = ConfigDict(extra="forbid")

    input_per_million_tokens: float = Field(ge=0)
    output_per_million_tokens: float = Field(ge=0)
    per_1000_images: dict[str, float] = Field(default_factory=dict)
    batch_per_1000_images: dict[str, float] = Field(default_factory=dict)


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    display_name: str
    description: str = ""
    version: str = "1"
    licence: str = ""
    # How it is served: a backend class (None: the one its family names), the family's profile, and
    # the checkpoint (a Hugging Face repo id, a local folder, or "builtin:mini").
    backend: str | None = None
    family: str
    checkpoint: str
    pipeline_class: str | None = None
    steps: int | None = Field(default=None, ge=1, le=1000)
    guidance_scale: float | None = Field(default=None, ge=0)
    # Guidance for edits (None: the family's, else guidance_scale).
    edit_guidance_scale: float | None = Field(default=None, ge=0)
    # Render at most this many pixels on the long side, then upscale to the exact output size.
    max_render_side: int | None = Field(default=None, ge=8)
    call_options: dict[str, object] = Field(default_factory=dict)
    # What it can do.
    sizes: list[str] = Field(default_factory=lambda: ["1K"])
    aspect_ratios: list[str] = Field(default_factory=lambda: list(ASPECT_RATIOS))
    can_edit: bool = True
    max_input_images: int = Field(default=14, ge=0)
    max_candidates: int = Field(default=4, ge=1)
    max_batch: int = Field(default=8, ge=1)
    # Limits and token accounting.
    input_token_limit: int = Field(default=65_536, ge=1)
    output_token_limit: int = Field(default=4_096, ge=1)
    output_text_token_limit: int = Field(default=65_536, ge=1)
    image_input_tokens: int = Field(default=1120, ge=0)
    image_output_tokens: dict[str, int] = Field(
        default_factory=lambda: {"512": 747, "1K": 1120, "2K": 1680, "4K": 2520}
    )
    prices: Prices

    @model_validator(mode="after")
    def _check(self) -> ModelEntry:
        for size in self.sizes:
            if size not in SIZE_TIERS:
                raise ValueError(f"unknown size {size!r}; sizes are {', '.join(SIZE_TIERS)}")
        for ratio in self.aspect_ratios:
            if ratio not in ASPECT_RATIOS:
                raise ValueError(f"unknown aspect ratio {ratio!r}")
        for size in self.sizes:
            if size not in self.image_output_tokens:
                raise ValueError(f"image_output_tokens has no entry for size {size}")
        return self

    def size_tier(self, requested: str | None) -> str | None:
        """The tier a request's imageSize names, or None when the model does not serve it."""
        tier = SIZE_ALIASES.get(requested or "1K", requested or "1K")
        return tier if tier in self.sizes else None


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelEntry]

    @model_validator(mode="after")
    def _ids(self) -> Catalog:
        for key, entry in self.models.items():
            entry.id = key
        return self

    def get(self, model_id: str) -> ModelEntry | None:
        return self.models.get(model_id.removeprefix("models/"))


class CatalogError(ValueError):
    """The catalog file is missing or wrong; the message says where."""


def load_catalog(path: Path | None = None) -> Catalog:
    try:
        if path is None:
            text = resources.files("plantain").joinpath("catalog.toml").read_text()
            where = "the packaged catalog"
        else:
            text = Path(path).read_text()
            where = str(path)
        data = tomllib.loads(text)
        return Catalog.model_validate(data)
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{where} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise CatalogError(f"{where} is not a valid catalog: {exc}") from exc
