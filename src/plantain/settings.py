"""One settings object for the whole service: environment variables `PLANTAIN_*`, CLI flags override."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANTAIN_")

    mini_weights: Path | None = Field(default=None, description="Folder of the mini model; default: the shipped one.")
    mini_steps: int = Field(default=20, ge=1, le=200, description="Sampling steps of the mini model.")
    mini_guidance: float = Field(default=3.0, ge=0.0, le=20.0, description="Classifier-free guidance scale.")
    threads: int | None = Field(default=None, ge=1, description="CPU threads for torch; default: torch's choice.")
    max_input_pixels: int = Field(default=50_000_000, ge=1, description="Largest input image accepted, in pixels.")
    png_compress_level: int = Field(default=1, ge=0, le=9, description="zlib level for PNG outputs.")


def get_settings() -> Settings:
    return Settings()
