"""The built-in pipeline behind Ray Serve with its batching (`@serve.batch`), on a local Ray.

    python -m bench.peers.rayserve_app --port 8000 [--threads 2] [--max-batch 16]

POST / {"prompt": ..., "seed": ...} -> {"image": base64 PNG}.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Any

import typer
from starlette.requests import Request

from bench.peers.common import b64_png, load
from plantain.core.jobs import ImageJob


def main(
    port: Annotated[int, typer.Option()] = 8000,
    threads: Annotated[int, typer.Option()] = 2,
    max_batch: Annotated[int, typer.Option()] = 16,
    batch_wait: Annotated[float, typer.Option(help="Seconds a batch waits to fill.")] = 0.01,
) -> None:
    import ray
    from ray import serve

    @serve.deployment(max_ongoing_requests=4 * max_batch, ray_actor_options={"num_cpus": threads})
    class Mini:
        def __init__(self) -> None:
            self.backend = load(threads)

        @serve.batch(max_batch_size=max_batch, batch_wait_timeout_s=batch_wait)  # type: ignore[misc]
        async def draw(self, jobs: list[ImageJob]) -> list[str]:
            return [b64_png(im) for im in self.backend.generate(jobs)]

        async def __call__(self, request: Request) -> dict[str, Any]:
            body = await request.json()
            return {"image": await self.draw(ImageJob(str(body["prompt"]), int(body["seed"])))}

    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False, log_to_driver=False)
    serve.start(http_options={"host": "127.0.0.1", "port": port}, logging_config={"enable_access_log": False})
    serve.run(Mini.bind(), name="mini", route_prefix="/")  # type: ignore[attr-defined]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    serve.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    typer.run(main)
