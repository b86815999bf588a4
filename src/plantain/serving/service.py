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
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from functools import partial

import anyio
from PIL import Image

from plantain.backends.base import Backend, BackendUnavailable, PromptReading
from plantain.backends.registry import BackendRegistry, Loaded, check_catalog
from plantain.core.cancel import CancelToken
from plantain.core.catalog import UPSCALE_FACTORS, Catalog, ModelEntry
from plantain.core.errors import (
    ErrorKind,
    ServiceError,
    cancelled_error,
    deadline_error,
    invalid_argument,
    not_found,
    unavailable,
)
from plantain.core.jobs import ImageJob, Priority
from plantain.core.requests import GenerationRequest, UpscaleRequest
from plantain.core.results import Event, ImageOut, Preview, Result, Thought, Usage, Verdict
from plantain.core.settings import Settings
from plantain.core.sizes import pixel_size, tier_area, tier_for_pixels
from plantain.core.tokens import PromptTokens, check_token_limit, count_prompt_tokens
from plantain.core.tokens import text_tokens as text_tokens_of
from plantain.engine.fit import fit_batch_size
from plantain.engine.scheduler import Engine, PipelineQueue
from plantain.engine.tickets import Ticket
from plantain.imaging.decode import decode_image
from plantain.imaging.encode import encode_image, upscale
from plantain.imaging.mask import apply_mask
from plantain.serving.accounting import Account, admit, check_model_allowed, estimate, settle
from plantain.serving.answers import compose, plan_panels, text_call, text_only
from plantain.serving.plan import Plan, instruction, plan_generation
from plantain.serving.provenance import Provenance
from plantain.serving.safety import Safety
from plantain.store.ledger import Charge, Ledger
from plantain.text.base import TextBackend
from plantain.text.factory import make_text_backend

log = logging.getLogger("plantain.serving")

# Called from the engine's worker thread after each denoising step: (step index, total steps).
Progress = Callable[[int, int], None]
# Called on the event loop with each thought and preview, in order, before the result returns.
Events = Callable[[Event], None]
# Called with (job index within the request, step, total steps, image) for each preview taken.
PreviewHook = Callable[[int, int, int, Image.Image], None]


@dataclass(frozen=True)
class Drawn:
    """A request's images, in job order, and the size of the device batch that drew them."""

    images: list[Image.Image]
    batch_size: int


def span(name: str, attributes: dict[str, str | int]) -> AbstractContextManager[object]:
    """A trace span when OpenTelemetry is installed (a no-op until a tracer provider is set)."""
    try:
        from opentelemetry import trace
    except ImportError:
        return nullcontext()
    return trace.get_tracer("plantain.serving").start_as_current_span(name, attributes=attributes)


def warmed_up(backend: Backend, fit: Callable[[Backend], tuple[int, dict[int, float]]] | None, limit: int
              ) -> tuple[int, dict[int, float]]:  # fmt: skip
    """The catalog's warm-up draw, then the batch size fitted (or the catalog's bound): both on the
    model's worker thread, before its first batch."""
    seconds = backend.warm_up()
    log.info("warmed up in %.1f s", seconds)
    return fit(backend) if fit is not None else (limit, {})


class Service:
    def __init__(self, settings: Settings, catalog: Catalog, ledger: Ledger | None = None) -> None:
        check_catalog(catalog)
        self.ledger = ledger
        self.settings = settings
        self.catalog = catalog
        self.backends = BackendRegistry(catalog, settings)
        self.text: TextBackend = make_text_backend(settings)
        self.engine = Engine(settings.max_wait_ms / 1000, settings.max_queue)
        self.pool = ThreadPoolExecutor(settings.encode_workers, thread_name_prefix="plantain-encode")
        self.safety = Safety.from_settings(settings)
        self.provenance = Provenance(settings)
        # Loads, unloads and the memory budget, one at a time.
        self._load_lock = threading.Lock()

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
            return await anyio.to_thread.run_sync(self._load, entry)
        except BackendUnavailable as exc:
            raise unavailable(f"Model {entry.id} is unavailable: {exc}") from exc

    def _load(self, entry: ModelEntry) -> Backend:
        if self.backends.has(entry.id):  # loaded and within the budget: the common case, no lock
            return self.backends.get(entry)
        with self._load_lock:
            fresh = not self.backends.has(entry.id)
            backend = self.backends.get(entry)
            if fresh and self.settings.device_memory:
                self._make_room(entry)
        return backend

    @property
    def batch_sizes(self) -> dict[str, int]:
        """The device batch size of each model in use (fitted to the device when it was first used)."""
        return self.engine.limits()

    def queue(self, entry: ModelEntry, backend: Backend) -> PipelineQueue:
        """The entry's queue; made on first use, when its worker first fits the batch size to the
        device (PLANTAIN_FIT_BATCH): each power of two up to the catalog's max_batch timed on one
        denoising step at the model's default size."""
        fit = None
        if self.settings.fit_batch and entry.max_batch > 1:
            ratio = "1:1" if "1:1" in entry.aspect_ratios else entry.aspect_ratios[0]
            width, height = pixel_size(ratio, "1K" if "1K" in entry.sizes else entry.sizes[0])
            probe = ImageJob("a red circle", 0, width, height, steps=1)
            fit = partial(fit_batch_size, probe=probe, limit=entry.max_batch)
        if entry.speed.warmup:
            fit = partial(warmed_up, fit=fit, limit=entry.max_batch)
        return self.engine.queue_for(entry.id, backend, entry.max_batch, fit)

    async def warm(self, entry: ModelEntry) -> None:
        """Load a model and fit its batch size now (PLANTAIN_PRELOAD), not on its first request."""
        queue = self.queue(entry, await self.backend(entry))
        await anyio.to_thread.run_sync(queue.fitted.wait)

    def warm_now(self, entry: ModelEntry) -> None:
        """`warm`, blocking the calling thread (a Ray Serve replica's constructor)."""
        self.queue(entry, self._load(entry)).fitted.wait()

    async def generate(
        self,
        request: GenerationRequest,
        cancel: CancelToken,
        progress: Progress | None = None,
        events: Events | None = None,
        account: Account | None = None,
    ) -> Result:
        """The answer to a request. With `events`, a thinking request's plan and each image's
        previews (`request.previews`) are handed to it as they come, all before this returns.
        With `account` (and a ledger), the request is admitted under its key's quotas before any
        work and leaves one ledger row, whatever its outcome; the result carries its cost."""
        entry = self.entry(request.model)
        with span("plantain.generate", {"plantain.model": entry.id, "plantain.candidates": request.candidate_count}):
            return await self._generate(entry, request, cancel, progress, events, account)

    def _make_room(self, entry: ModelEntry) -> None:
        """Unload idle models, least recently used first, until the weights fit the budget; a model
        with work queued or on the device is never unloaded. When they cannot fit, the model just
        loaded goes again and the request is refused (retryable, or not when it alone is too big)."""
        budget = int(self.settings.device_memory)
        keep = self.backends.key_of(entry)
        resident = self.backends.resident()
        total = sum(p.bytes for p in resident)
        for pipe in resident:
            if total <= budget:
                return
            if pipe.key != keep and self._unload_if_idle(pipe):
                total -= pipe.bytes
                log.info("unloaded %s (%d MB) to fit the device memory budget", ", ".join(pipe.entries),
                         pipe.bytes >> 20)  # fmt: skip
        if total <= budget:
            return
        mine = next(p for p in resident if p.key == keep)
        self._unload_if_idle(mine)
        if mine.bytes > budget:
            raise BackendUnavailable(
                f"its weights take {mine.bytes:,} bytes, more than PLANTAIN_DEVICE_MEMORY ({budget:,})"
            )
        raise ServiceError(
            ErrorKind.UNAVAILABLE,
            f"Model {entry.id} cannot be loaded now: the device memory budget is taken by models at work; retry.",
            retry_after=5,
        )

    def _unload_if_idle(self, pipe: Loaded) -> bool:
        """Retire the queues of the pipeline's entries and drop it, if none has work; else False."""
        if not self.engine.retire(pipe.entries):
            return False
        self.backends.unload(pipe.key)
        return True

    def unload(self, entry: ModelEntry) -> bool:
        """Unload the entry's pipeline (and the entries sharing it) if idle; False when it is at work."""
        key = self.backends.key_of(entry)
        with self._load_lock:
            found = [p for p in self.backends.resident() if p.key == key]
            return not found or self._unload_if_idle(found[0])

    async def _generate(
        self,
        entry: ModelEntry,
        request: GenerationRequest,
        cancel: CancelToken,
        progress: Progress | None,
        events: Events | None,
        account: Account | None,
    ) -> Result:
        check_model_allowed(account, request.model, entry)
        batch = request.priority is Priority.BATCH
        verdict = self.safety.check_prompt(request)
        if verdict is not None:
            return await self._refused(entry, request, verdict, account, batch)
        reading = self.backends.read_prompt(entry, instruction(request))
        # Decoding and checking input images is CPU work: off the loop, like generation.
        plan = await anyio.to_thread.run_sync(
            plan_generation,
            entry,
            request,
            self.settings.max_input_pixels,
            reading.needs_image,
            self.backends.pixel_step(entry),
        )
        charge = estimate(entry, plan.tier, len(plan.jobs), plan.prompt_tokens.total, batch)
        return await self._accounted(
            account, entry, charge, batch, lambda: self._answer(entry, plan, request, reading, cancel, progress, events)
        )

    async def _refused(
        self, entry: ModelEntry, request: GenerationRequest, verdict: Verdict, account: Account | None, batch: bool
    ) -> Result:
        """A prompt the policy blocks: nothing planned or drawn, a ledger row that costs nothing."""
        log.info("prompt blocked (%s) for %s", verdict.reason, entry.id)
        tokens = count_prompt_tokens(entry, request)
        result = Result(entry.id, [], Usage(tokens.text, tokens.image), blocked=verdict)
        if account is not None and self.ledger is not None:
            result.cost_micro_usd = await anyio.to_thread.run_sync(
                settle, self.ledger, account, None, entry, None, batch, "blocked"
            )
        return result

    async def _accounted(
        self,
        account: Account | None,
        entry: ModelEntry,
        charge: Charge,
        batch: bool,
        work: Callable[[], Awaitable[Result]],
    ) -> Result:
        if account is None or self.ledger is None:
            return await work()
        ledger = self.ledger
        reservation = await anyio.to_thread.run_sync(admit, ledger, account, charge)
        try:
            result = await work()
        except BaseException as exc:
            # Failed or cancelled: a row that costs nothing. Written here, on the loop, because a
            # cancelled task cannot await a thread; it is one short transaction.
            outcome = exc.kind.value if isinstance(exc, ServiceError) else "cancelled"
            settle(ledger, account, reservation, entry, None, batch, outcome)
            raise
        # Every image withheld by the classifier: nothing delivered, nothing charged.
        outcome = "withheld" if result.nothing_delivered else "ok"
        result.cost_micro_usd = await anyio.to_thread.run_sync(
            settle, ledger, account, reservation, entry, result.usage, batch, outcome
        )
        return result

    async def _answer(
        self,
        entry: ModelEntry,
        plan: Plan,
        request: GenerationRequest,
        reading: PromptReading,
        cancel: CancelToken,
        progress: Progress | None,
        events: Events | None,
    ) -> Result:
        if plan.text_only:
            candidates, text_tokens = await text_only(plan, request, self.text, reading.description)
            return Result(entry.id, candidates, self._usage(plan, text_tokens))
        thought = await self._think(plan, request, reading.plan, events)
        panels = await plan_panels(plan, self.text)
        # With a classifier, no preview leaves: it would show an image before it is judged.
        previews = (
            Previews(self, plan, events)
            if events is not None and request.previews and self.safety.classifier is None
            else None
        )
        try:
            drawn = await self.draw(
                entry, plan.jobs, request.priority, cancel, progress, previews.from_worker if previews else None
            )
        finally:
            if previews is not None:
                await previews.flush()
        # Watermarked as drawn, before a mask puts back the input's own pixels around the edit.
        images = await self._marked(drawn.images)
        if plan.mask is not None:
            images = await self._masked(images, plan)
        verdicts = await self._judged(images, plan)
        kept = [i for i, v in enumerate(verdicts) if v is None]
        # What is shown: the plan narrowed to the images let through (their usage is what is charged).
        shown = plan if len(kept) == len(images) else replace(plan, jobs=[plan.jobs[i] for i in kept])
        shown_images = [images[i] for i in kept]
        outs = await self._encode(shown_images, shown)
        describe = partial(self.backends.describe, entry)
        shown_panels = [panels[i] for i in kept] if panels is not None else None
        candidates, text_tokens = await compose(shown, shown_images, outs, shown_panels, self.text, describe)
        withheld = {i: v for i, v in enumerate(verdicts) if v is not None}
        if withheld and panels is not None:
            withheld = {0: next(iter(withheld.values()))}  # one candidate of panels, some withheld
        elif withheld:
            rest = iter(candidates)
            candidates = [[] if i in withheld else next(rest) for i in range(len(images))]
        usage = self._usage(shown, text_tokens, text_tokens_of(thought) if thought else 0)
        return Result(
            entry.id, candidates, usage, batch_size=drawn.batch_size, thought=thought, prompt=plan.jobs[0].prompt,
            withheld=withheld,
        )  # fmt: skip

    async def _marked(self, images: list[Image.Image]) -> list[Image.Image]:
        if not self.provenance.watermark:
            return images
        loop = asyncio.get_running_loop()
        return list(await asyncio.gather(*(loop.run_in_executor(self.pool, self.provenance.mark, im) for im in images)))

    async def _judged(self, images: list[Image.Image], plan: Plan) -> list[Verdict | None]:
        """The classifier's verdict on each image (None: let through), off the loop."""
        if self.safety.classifier is None:
            return [None] * len(images)
        loop = asyncio.get_running_loop()
        verdicts = await asyncio.gather(
            *(
                loop.run_in_executor(self.pool, self.safety.check_image, im, job.prompt)
                for im, job in zip(images, plan.jobs, strict=True)
            )
        )
        for verdict in verdicts:
            if verdict is not None:
                log.info("image withheld (%s) for %s", verdict.reason, plan.entry.id)
        return list(verdicts)

    async def draw(
        self,
        entry: ModelEntry,
        jobs: list[ImageJob],
        priority: Priority,
        cancel: CancelToken,
        progress: Progress | None = None,
        preview: PreviewHook | None = None,
    ) -> Drawn:
        """One request's jobs drawn on the device: the model loaded, the jobs queued into a device
        batch, waited for under the token. The one step that needs the weights; under Ray Serve it
        runs in the model's replica (serving.ray_serve)."""
        backend = await self.backend(entry)
        queue = self.queue(entry, backend)
        ticket = queue.submit(jobs, priority, cancel.deadline, asyncio.get_running_loop(), progress, preview)
        images = await self._wait(ticket, cancel)
        return Drawn(images, ticket.batch_size)

    async def upscale_image(self, entry: ModelEntry, image: Image.Image, factor: int) -> Image.Image:
        """`image` enlarged by the entry's own upscaler (off the loop)."""
        backend = await self.backend(entry)
        return await anyio.to_thread.run_sync(backend.upscale, image, factor)

    def loaded(self) -> list[str]:
        """The IDs of the catalog entries whose weights are loaded, ready to draw."""
        return self.backends.loaded()

    def resident(self) -> list[Loaded]:
        """The pipelines in memory, least recently used first."""
        return self.backends.resident()

    async def _think(
        self, plan: Plan, request: GenerationRequest, reading: str | None, events: Events | None
    ) -> str | None:
        """Plan before drawing, when asked: the text backend's rewrite becomes the prompt of a new
        picture (an edit's instruction stays as it came) and its thought is handed on at once."""
        if not request.thinking:
            return None
        planned = await text_call(self.text.plan, plan.prompt, reading)
        if not plan.is_edit and planned.prompt.strip():
            for job in plan.jobs:
                job.prompt = planned.prompt
        if events is not None:
            events(Thought(planned.thought))
        return planned.thought

    async def _masked(self, images: list[Image.Image], plan: Plan) -> list[Image.Image]:
        assert plan.original is not None and plan.mask is not None
        original, mask = plan.original, plan.mask
        loop = asyncio.get_running_loop()
        return list(
            await asyncio.gather(*(loop.run_in_executor(self.pool, apply_mask, original, im, mask) for im in images))
        )

    async def upscale(self, request: UpscaleRequest, cancel: CancelToken, account: Account | None = None) -> Result:
        """An image enlarged by the entry's upscaler (Imagen's upscale_image)."""
        entry = self.entry(request.model)
        check_model_allowed(account, request.model, entry)
        if not entry.upscale_factors:
            raise invalid_argument(
                f"models/{entry.id} is not an upscaler; upscale with a model that lists upscale_factors"
            )
        if request.factor not in entry.upscale_factors:
            raise invalid_argument(
                f"upscaleFactor {request.factor!r} is not offered by models/{entry.id}; "
                f"offered: {', '.join(entry.upscale_factors)}",
                "upscale_factor",
            )
        image = await anyio.to_thread.run_sync(
            decode_image, request.image.data, self.settings.max_input_pixels, f"the image at {request.image.where}"
        )
        factor = UPSCALE_FACTORS[request.factor]
        width, height = image.width * factor, image.height * factor
        tier = tier_for_pixels(width, height, entry.sizes)
        if tier is None:
            raise invalid_argument(
                f"{image.width}x{image.height} upscaled {request.factor} is {width}x{height}, more pixels than "
                f"models/{entry.id} makes (at most {max(tier_area(t) for t in entry.sizes):,})",
                "image",
            )
        charge = estimate(entry, tier, 1, entry.image_input_tokens, False)
        return await self._accounted(
            account, entry, charge, False, lambda: self._upscale(entry, request, image, factor, tier, cancel)
        )

    async def _upscale(
        self,
        entry: ModelEntry,
        request: UpscaleRequest,
        image: Image.Image,
        factor: int,
        tier: str,
        cancel: CancelToken,
    ) -> Result:
        if cancel.cancelled:
            raise cancelled_error()
        big = await self.upscale_image(entry, image, factor)

        def encode() -> bytes:
            marked = self.provenance.mark(big)
            data = encode_image(
                marked, request.output_mime_type, request.output_quality, self.settings.png_compress_level
            )
            return self.provenance.sign(data, request.output_mime_type, entry.id)

        data = await anyio.to_thread.run_sync(encode)
        out = ImageOut(data, request.output_mime_type, big.width, big.height, 0, self.signature(data, entry.id))
        usage = Usage(
            prompt_text_tokens=0,
            prompt_image_tokens=entry.image_input_tokens,
            output_image_tokens=entry.image_output_tokens[tier],
            images=1,
            size_tier=tier,
        )
        return Result(entry.id, [[out]], usage)

    def _usage(self, plan: Plan, text_tokens: int, thought_tokens: int = 0) -> Usage:
        return Usage(
            prompt_text_tokens=plan.prompt_tokens.text,
            prompt_image_tokens=plan.prompt_tokens.image,
            output_image_tokens=plan.image_output_tokens,
            output_text_tokens=text_tokens,
            images=len(plan.jobs),
            size_tier=plan.tier if plan.jobs else "",
            thought_tokens=thought_tokens,
        )

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
            # The answer, not its previews, carries the signed manifest.
            data = self.provenance.sign(self.encode(image, plan), plan.output_mime_type, plan.entry.id)
            return ImageOut(
                data, plan.output_mime_type, image.width, image.height, seed, self.signature(data, plan.entry.id)
            )

        jobs = plan.jobs
        return list(
            await asyncio.gather(
                *(loop.run_in_executor(self.pool, one, im, job.seed) for im, job in zip(images, jobs, strict=True))
            )
        )

    def encode(self, image: Image.Image, plan: Plan) -> bytes:
        return encode_image(image, plan.output_mime_type, plan.output_quality, self.settings.png_compress_level)

    def signature(self, png: bytes, model_id: str) -> bytes:
        """A thoughtSignature: HMAC of the image and the model, so a returning image can be told ours."""
        digest = hashlib.sha256(png).digest() + model_id.encode()
        return hmac.new(self.settings.signature_secret.encode(), digest, hashlib.sha256).digest()


class Previews:
    """A request's previews on their way from the engine's worker to the caller: each is fitted to
    its image's size (and mask), encoded off the loop, and handed on in the order it was taken."""

    def __init__(self, service: Service, plan: Plan, events: Events) -> None:
        self.service = service
        self.plan = plan
        self.events = events
        self.loop = asyncio.get_running_loop()
        self.last: asyncio.Future[None] | None = None

    def from_worker(self, index: int, step: int, total: int, image: Image.Image) -> None:
        self.loop.call_soon_threadsafe(self._start, index, step, total, image)

    def _start(self, index: int, step: int, total: int, image: Image.Image) -> None:
        self.last = asyncio.ensure_future(self._deliver(self.last, index, step, total, image))

    async def _deliver(
        self, before: asyncio.Future[None] | None, index: int, step: int, total: int, image: Image.Image
    ) -> None:
        job, plan = self.plan.jobs[index], self.plan

        def encode() -> ImageOut:
            fitted = upscale(image, (job.width, job.height), "nearest")
            if plan.mask is not None and plan.original is not None:
                fitted = apply_mask(plan.original, fitted, plan.mask)
            data = self.service.encode(fitted, plan)
            return ImageOut(data, plan.output_mime_type, fitted.width, fitted.height, job.seed)

        out = await self.loop.run_in_executor(self.service.pool, encode)
        if before is not None:
            await before
        self.events(Preview(index, step, total, out))

    async def flush(self) -> None:
        """Wait until every preview taken so far has been handed on."""
        while self.last is not None and not self.last.done():
            await asyncio.shield(self.last)
