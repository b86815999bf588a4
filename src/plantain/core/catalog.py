"""The model catalog: which public model ID is served by what, can do what, and costs what.

One packaged TOML file (`plantain/catalog.toml`) is the default; `PLANTAIN_CATALOG` points at a
user's own file, which replaces it. Prices and limits are data here, never constants in code.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from plantain.core.sizes import ASPECT_RATIOS, SIZE_ALIASES, SIZE_TIERS

UPSCALE_FACTORS = {"x2": 2, "x4": 4}


class Prices(BaseModel):
    """US dollars."""

    model_config = ConfigDict(extra="forbid")

    input_per_million_tokens: float = Field(ge=0)
    output_per_million_tokens: float = Field(ge=0)
    per_1000_images: dict[str, float] = Field(default_factory=dict)
    batch_per_1000_images: dict[str, float] = Field(default_factory=dict)


class Replicas(BaseModel):
    """How the entry's pipeline is replicated under Ray Serve (`plantain serve --ray`); entries on
    one pipeline share one deployment, which takes the first entry's settings."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=1, ge=1)
    # GPUs and CPU cores each replica holds (fractions share a device between replicas).
    gpus: float = Field(default=0, ge=0)
    cpus: float = Field(default=1, ge=0)
    # Autoscaled between `count` and `max_count` replicas when set, aiming at this many requests
    # in flight per replica (None: the pipeline's batch size, so a replica scales out when full).
    max_count: int | None = Field(default=None, ge=1)
    target_ongoing_requests: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Replicas:
        if self.max_count is not None and self.max_count < self.count:
            raise ValueError(f"replicas.max_count ({self.max_count}) is below replicas.count ({self.count})")
        return self


class Speed(BaseModel):
    """How the entry's pipeline is made fast on its device; each option is measured by
    `python -m bench.speed_bench` before it is turned on."""

    model_config = ConfigDict(extra="forbid")

    # The weights' dtype; "auto": bfloat16 on a GPU, float32 on a CPU.
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # torch.compile the denoiser (its first batches of each shape compile: pair it with `warmup`).
    compile: bool = False
    compile_mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = "default"
    # Convolutions in channels-last memory layout (UNets and VAEs; faster on tensor cores).
    channels_last: bool = False
    # A diffusers attention backend for the denoiser ("native", "flash", "_native_cudnn", "sage",
    # ...); None: the pipeline's own.
    attention: str | None = None
    # Keep weights in CPU memory and move each model (or each layer: "sequential") to the GPU only
    # while it runs: for pipelines larger than the GPU's memory, at a cost in speed.
    offload: Literal["none", "model", "sequential"] = "none"
    # Draw one small batch at load, so the first request does not pay for kernels' first runs.
    warmup: bool = False


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = ""
    # Other names the entry answers to: the model IDs that apps ship as defaults ("gpt-image-1",
    # "imagen-3.0-generate-002"), so they work without configuration.
    aliases: list[str] = Field(default_factory=list)
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
    # A tiny autoencoder (repo id or folder, e.g. TAESD's) that decodes intermediate previews cheaply;
    # None: the pipeline's own VAE decodes the few previews asked for.
    preview_decoder: str | None = None
    # What it can do.
    sizes: list[str] = Field(default_factory=lambda: ["1K"])
    aspect_ratios: list[str] = Field(default_factory=lambda: list(ASPECT_RATIOS))
    can_edit: bool = True
    # Upscale factors it serves (Imagen's upscale_image: "x2", "x4"); empty: not an upscaler.
    upscale_factors: list[str] = Field(default_factory=list)
    max_input_images: int = Field(default=14, ge=0)
    max_candidates: int = Field(default=4, ge=1)
    max_batch: int = Field(default=8, ge=1)
    replicas: Replicas = Field(default_factory=Replicas)
    speed: Speed = Field(default_factory=Speed)
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
        for factor in self.upscale_factors:
            if factor not in UPSCALE_FACTORS:
                raise ValueError(f"unknown upscale factor {factor!r}; factors are {', '.join(UPSCALE_FACTORS)}")
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
        names: dict[str, str] = {}
        for key, entry in self.models.items():
            entry.id = key
            names[key] = key
        for key, entry in self.models.items():
            for alias in entry.aliases:
                if alias in names:
                    raise ValueError(f"model {key}: alias {alias!r} is already a name of {names[alias]}")
                names[alias] = key
        self._names = names
        return self

    _names: dict[str, str] = PrivateAttr(default_factory=dict)

    def get(self, model_id: str) -> ModelEntry | None:
        """The entry a model ID or one of its aliases names (with or without "models/")."""
        key = self._names.get(model_id.removeprefix("models/"))
        return self.models[key] if key is not None else None

    def names(self) -> list[tuple[str, ModelEntry]]:
        """Every name the catalog answers to, with its entry: each ID, then its aliases."""
        return [(name, e) for e in self.models.values() for name in (e.id, *e.aliases)]


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
