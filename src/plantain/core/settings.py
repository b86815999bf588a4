"""One settings object for the whole service: environment variables `PLANTAIN_*`, CLI flags override."""

from __future__ import annotations

import secrets
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import ByteSize, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLANTAIN_")

    mini_weights: Path | None = Field(default=None, description="Folder of the mini model; default: the shipped one.")
    catalog: Path | None = Field(default=None, description="Model catalog TOML; default: the packaged one.")
    threads: int | None = Field(default=None, ge=1, description="CPU threads for torch; default: torch's choice.")
    max_input_pixels: int = Field(default=50_000_000, ge=1, description="Largest input image accepted, in pixels.")
    offline: bool = Field(default=False, description="Never reach the Hugging Face Hub (also HF_HUB_OFFLINE=1).")
    png_compress_level: int = Field(default=1, ge=0, le=9, description="zlib level for PNG outputs.")
    # Serving.
    api_keys: str = Field(default="", description="Accepted API keys, comma separated.")
    auth: str = Field(default="on", pattern="^(on|off)$", description="'off' serves without keys (explicit only).")
    auth_failures_per_minute: int = Field(
        default=20,
        ge=0,
        description="Failed authentications a client address may make a minute before 429s; 0: no limit.",
    )
    max_request_bytes: int = Field(default=20 * 1024 * 1024, ge=1024, description="Largest request body accepted.")
    min_body_rate: int = Field(
        default=64 * 1024,
        ge=1,
        description="Bytes a second a request body must keep arriving at, on average after a 10 s grace; else 408.",
    )
    max_wait_ms: float = Field(default=2.0, ge=0, description="Longest wait of a lone request for company.")
    max_queue: int = Field(default=64, ge=1, description="Queued images per model before 429.")
    request_timeout: float = Field(default=600.0, gt=0, description="Deadline of a request without X-Server-Timeout.")
    encode_workers: int = Field(default=2, ge=1, description="Threads encoding PNG and base64 off the event loop.")
    text_url: str = Field(
        default="", description="OpenAI-compatible chat server for text parts (e.g. http://127.0.0.1:8000/v1)."
    )
    text_model: str = Field(default="default", description="Model name sent to the chat server.")
    text_api_key: str = Field(default="", description="Bearer key for the chat server, if it wants one.")
    text_timeout: float = Field(default=60.0, gt=0, description="Seconds to wait for the chat server.")
    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("plantain", appauthor=False)),
        description="Folder for what the server keeps (images served by URL).",
    )
    public_url: str = Field(
        default="", description="Base URL clients reach this server at, for image URLs; default: the request's own."
    )
    database_url: str = Field(
        default="", description="SQLAlchemy URL of the store (postgresql://...); default: SQLite in data_dir."
    )
    ledger: bool = Field(default=True, description="Write a usage ledger row per request and enforce key quotas.")
    file_ttl_hours: float = Field(default=48.0, gt=0, description="Hours an uploaded file is kept (Files API).")
    max_file_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest file accepted by the Files API.")
    batch_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a batch job stays with a server that stops renewing it."
    )
    device_memory: ByteSize = Field(
        default=ByteSize(0),
        description="Memory the loaded models' weights may take together (e.g. 20GiB); past it the least recently "
        "used idle model is unloaded. 0: no limit.",
    )
    fit_batch: bool = Field(
        default=True,
        description="At a model's load, time each batch size on this device and batch at the fastest, up to the "
        "catalog's max_batch.",
    )
    log_format: str = Field(
        default="text", pattern="^(text|json)$", description="'json': one JSON object a log line (with request_id)."
    )
    preload: str = Field(
        default="", description="Model IDs loaded at startup, comma separated; /readyz answers 503 until they are."
    )
    drain_seconds: float = Field(
        default=30.0, ge=0, description="On SIGTERM, how long requests in flight may take to finish."
    )
    webhook_hosts: str = Field(
        default="",
        description="Hosts (host or host:port, comma separated) that batch jobs' webhook notices may be sent to; "
        "none by default.",
    )
    webhook_secret: str = Field(default="", description="Key that signs webhook notices (Standard Webhooks, v1).")
    image_url_ttl: float = Field(default=3600.0, gt=0, description="Seconds an image URL stays valid.")
    default_model: str = Field(default="", description="Model of requests naming none (default: the catalog's first).")
    prompt_blocklist: str = Field(
        default="",
        description="File of terms a prompt may not hold, one a line; default: the packaged list; 'off': none.",
    )
    prompt_policy: str = Field(
        default="", description="A prompt policy hook as module:attribute, in place of the blocklist."
    )
    image_classifier: str = Field(
        default="", description="An image classifier hook as module:attribute, judging each image before it is sent."
    )
    watermark: bool = Field(default=True, description="Embed the invisible watermark in every image made.")
    content_credentials: bool = Field(
        default=True, description="Embed a signed C2PA manifest (generator, model) in every image made."
    )
    c2pa_cert: Path | None = Field(
        default=None,
        description="PEM certificate chain (signer first) that signs the C2PA manifests; default: a CA and signer "
        "made once in data_dir/credentials.",
    )
    c2pa_key: Path | None = Field(default=None, description="PEM private key of PLANTAIN_C2PA_CERT's signer.")
    c2pa_tsa_url: str = Field(default="", description="RFC 3161 time-stamp authority for the C2PA signatures.")
    signature_secret: str = Field(
        default_factory=lambda: secrets.token_hex(32), description="Key of the thoughtSignature HMAC."
    )

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.api_keys.split(",") if k.strip())

    @property
    def preload_models(self) -> list[str]:
        return [m.strip() for m in self.preload.split(",") if m.strip()]

    @property
    def webhook_allowed(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.webhook_hosts.split(",") if h.strip())


def environment() -> list[tuple[str, str, str]]:
    """Every setting as (environment variable, default, what it does), in declaration order."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = {"data_dir": "the user's data folder (platformdirs)", "signature_secret": "random per process"}[
                name
            ]
        elif field.default in (None, ""):
            default = ""
        else:
            default = str(field.default)
        rows.append((f"PLANTAIN_{name.upper()}", default, field.description or ""))
    return rows


def get_settings() -> Settings:
    return Settings()
