"""The built-in pipeline behind LitServe with its batching (max_batch_size, batch_timeout).

    python -m bench.peers.litserve_app --port 8000 [--threads 2] [--max-batch 16]

POST /predict {"prompt": ..., "seed": ...} -> {"image": base64 PNG}.
"""

from __future__ import annotations

from typing import Annotated, Any

import litserve as ls
import typer
from PIL import Image

from bench.peers.common import b64_png, load
from plantain.core.jobs import ImageJob


class MiniAPI(ls.LitAPI):  # type: ignore[misc]
    def __init__(self, threads: int, **options: Any) -> None:
        super().__init__(**options)
        self.threads = threads

    def setup(self, device: str) -> None:
        self.backend = load(self.threads)

    # Unannotated: LitServe builds its route from this parameter's annotation, and reads a JSON
    # body only when there is none.
    def decode_request(self, request) -> ImageJob:  # type: ignore[no-untyped-def]
        return ImageJob(str(request["prompt"]), int(request["seed"]))

    def predict(self, jobs: list[ImageJob]) -> list[Image.Image]:
        return self.backend.generate(jobs)

    def encode_response(self, image: Image.Image) -> dict[str, str]:
        return {"image": b64_png(image)}


def main(
    port: Annotated[int, typer.Option()] = 8000,
    threads: Annotated[int, typer.Option()] = 2,
    max_batch: Annotated[int, typer.Option()] = 16,
    batch_timeout: Annotated[float, typer.Option(help="Seconds a batch waits to fill.")] = 0.05,
) -> None:
    api = MiniAPI(threads, max_batch_size=max_batch, batch_timeout=batch_timeout)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, timeout=600)
    server.run(host="127.0.0.1", port=port, generate_client_file=False)


if __name__ == "__main__":
    typer.run(main)
