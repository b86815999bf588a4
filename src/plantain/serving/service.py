"""The use case, dialect-neutral: one entry point from a core request to a core result.

`Service.generate(request, cancel)` plans the request against the catalog (everything checked before
anything is queued), answers text-only requests from the text backend, otherwise submits the jobs to
the engine, waits under the caller's cancellation token and deadline, encodes the images off the
event loop, and composes text and image parts. Every router (plain and streamed alike) and the CLI
call it; none of them plans, queues or encodes on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import anyio
from PIL import Image

from plantain.backends.base import Backend, BackendUnavailable
from plantain.backends.registry import BackendRegistry, check_catalog
from plantain.core.cancel import CancelToken
from plantain.core.catalog import Catalog, ModelEntry
from plantain.core.errors import ServiceError, cancelled_error, deadline_error, not_found, unavailable
from plantain.core.requests import GenerationRequest
from plantain.core.results import ImageOut, Result, Usage
from plantain.core.settings import Settings
from plantain.core.tokens import PromptTokens, check_token_limit, count_prompt_tokens
from plantain.engine.scheduler import Engine
from plantain.engine.tickets import Ticket
from plantain.imaging.encode import encode_png
from plantain.serving.answers import compose, plan_panels, text_only
from plantain.serving.plan import Plan, instruction, plan_generation
from plantain.text.base import TextBackend
from plantain.text.factory import make_text_backend

# Called from the engine's worker thread after each denoising step: (step index, total steps).
Progress = Callable[[int, int], None]


class Service:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        check_catalog(catalog)
        self.settings = settings
        self.catalog = catalog
        self.backends = BackendRegistry(catalog, settings)
        self.text: TextBackend = make_text_backend(settings)
        self.engine = Engine(settings.max_wait_ms / 1000, settings.max_queue)
        self.pool = ThreadPoolExecutor(settings.encode_workers, thread_name_prefix="plantain-encode")

    def close(self, wait: float = 0.0) -> None:
        """Stop the engine's workers (waiting up to `wait` seconds for each: a process about to exit
        must not leave one inside torch) and the encoders."""
        self.engine.close(wait)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def entry(self, model: str) -> ModelEntry:
        entry = self.catalog.get(model)
        if entry is None:
            raise not_found(f"models/{model.removeprefix('models/')} is not in the catalog")
        return entry

    def count_tokens(self, request: GenerationRequest) -> PromptTokens:
        entry = self.entry(request.model)
        tokens = count_prompt_tokens(entry, request)
        check_token_limit(entry, tokens)
        return tokens

    async def backend(self, entry: ModelEntry) -> Backend:
        """The entry's backend, loaded on first use (slow work: off the event loop)."""
        try:
            return await anyio.to_thread.run_sync(self.backends.get, entry)
        except BackendUnavailable as exc:
            raise unavailable(f"Model {entry.id} is unavailable: {exc}") from exc

    async def generate(
        self, request: GenerationRequest, cancel: CancelToken, progress: Progress | None = None
    ) -> Result:
        entry = self.entry(request.model)
        reading = self.backends.read_prompt(entry, instruction(request))
        # Decoding and checking input images is CPU work: off the loop, like generation.
        plan = await anyio.to_thread.run_sync(
            plan_generation, entry, request, self.settings.max_input_pixels, reading.needs_image
        )
        if plan.text_only:
            candidates, text_tokens = await text_only(plan, request, self.text, reading.description)
            return Result(entry.id, candidates, self._usage(plan, text_tokens))
        panels = await plan_panels(plan, self.text)
        backend = await self.backend(entry)
        ticket = self._submit(plan, backend, request, cancel, progress)
        images = await self._wait(ticket, cancel)
        outs = await self._encode(images, plan)
        candidates, text_tokens = await compose(plan, images, outs, panels, self.text, backend.describe)
        return Result(entry.id, candidates, self._usage(plan, text_tokens), batch_size=ticket.batch_size)

    def _usage(self, plan: Plan, text_tokens: int) -> Usage:
        return Usage(
            prompt_text_tokens=plan.prompt_tokens.text,
            prompt_image_tokens=plan.prompt_tokens.image,
            output_image_tokens=plan.image_output_tokens,
            output_text_tokens=text_tokens,
            images=len(plan.jobs),
            size_tier=plan.tier if plan.jobs else "",
        )

    def _submit(
        self,
        plan: Plan,
        backend: Backend,
        request: GenerationRequest,
        cancel: CancelToken,
        progress: Progress | None,
    ) -> Ticket:
        queue = self.engine.queue_for(plan.entry.id, backend, plan.entry.max_batch)
        return queue.submit(plan.jobs, request.priority, cancel.deadline, asyncio.get_running_loop(), progress)

    async def _wait(self, ticket: Ticket, cancel: CancelToken) -> list[Image.Image]:
        """The ticket's images; the ticket is cancelled when the token is, or its deadline passes."""
        loop = asyncio.get_running_loop()
        stopped: asyncio.Future[list[Image.Image]] = loop.create_future()

        def stop() -> None:
            if not stopped.done():
                stopped.set_result([])

        def on_cancel() -> None:
            ticket.cancel()
            loop.call_soon_threadsafe(stop)

        cancel.on_cancel(on_cancel)
        try:
            done, _ = await asyncio.wait(
                {ticket.future, stopped}, timeout=cancel.remaining(), return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            ticket.cancel()
            raise
        if cancel.cancelled:
            raise cancelled_error()
        if ticket.future in done:
            error = ticket.future.exception()
            if isinstance(error, ServiceError):
                raise error
            if error is not None:
                raise cancelled_error()  # cancelled in the queue
            return ticket.future.result()
        ticket.cancel()
        raise deadline_error()

    async def _encode(self, images: list[Image.Image], plan: Plan) -> list[ImageOut]:
        loop = asyncio.get_running_loop()

        def one(image: Image.Image, seed: int) -> ImageOut:
            png = encode_png(image, self.settings.png_compress_level)
            return ImageOut(png, "image/png", image.width, image.height, seed, self.signature(png, plan.entry.id))

        jobs = plan.jobs
        return list(
            await asyncio.gather(
                *(loop.run_in_executor(self.pool, one, im, job.seed) for im, job in zip(images, jobs, strict=True))
            )
        )

    def signature(self, png: bytes, model_id: str) -> bytes:
        """A thoughtSignature: HMAC of the image and the model, so a returning image can be told ours."""
        digest = hashlib.sha256(png).digest() + model_id.encode()
        return hmac.new(self.settings.signature_secret.encode(), digest, hashlib.sha256).digest()
