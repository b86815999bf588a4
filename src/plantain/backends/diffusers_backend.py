"""`DiffusersBackend`: any diffusers text-to-image or edit pipeline, by repo id or local folder.
The built-in mini model's backend (`backends/mini.py`) is this class with its own loader and words."""

from __future__ import annotations

import copy
import importlib.util
import os
import time
from collections.abc import Hashable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from plantain.backends.base import BackendUnavailable, Capabilities, Interrupted, PromptReading, Step, StepHook
from plantain.backends.families import Family, family_of
from plantain.core.catalog import ModelEntry, Speed
from plantain.core.jobs import ImageJob
from plantain.core.settings import Settings
from plantain.imaging.encode import upscale


def pick_device() -> tuple[str, torch.dtype]:
    """CUDA with bf16 when present, else CPU float32."""
    if torch.cuda.is_available():
        return "cuda", torch.bfloat16
    return "cpu", torch.float32


def offline(settings: Settings) -> bool:
    return settings.offline or os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false", "False")


def quiet_libraries() -> None:
    """Loading messages and progress bars belong to the caller's own display."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def first_line(exc: BaseException, limit: int = 300) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else exc.__class__.__name__)[:limit]


def prepare_torch(settings: Settings) -> tuple[str, torch.dtype]:
    """Quiet the libraries, set torch's threads, and pick the device and dtype to load onto."""
    quiet_libraries()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    return pick_device()


def check_packages(family: Family) -> None:
    missing = [name for name in family.needs if importlib.util.find_spec(name) is None]
    if missing:
        raise BackendUnavailable(f"the {family.name} family needs the Python package {', '.join(missing)}")


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def load_pipeline(
    family: Family, checkpoint: str, pipeline_class: str | None, settings: Settings, speed: Speed | None = None
) -> Any:
    """The pipeline for a checkpoint; BackendUnavailable (with the reason) when it cannot be loaded here."""
    check_packages(family)
    speed = speed or Speed()
    device, dtype = prepare_torch(settings)
    dtype = DTYPES.get(speed.dtype, dtype)
    import diffusers

    cls = getattr(diffusers, pipeline_class or family.pipeline_class)
    local = Path(checkpoint).expanduser()
    source = str(local) if local.exists() else checkpoint
    try:
        pipe = cls.from_pretrained(source, torch_dtype=dtype, local_files_only=offline(settings) or local.exists())
    except (OSError, ValueError) as exc:  # not downloaded and offline, no such repo, not a pipeline folder
        raise BackendUnavailable(f"cannot load {checkpoint}: {first_line(exc)}") from exc
    return made_fast(pipe, device, speed)


def on_device(pipe: Any, device: str) -> Any:
    """A loaded pipeline moved to its device, its own progress bars off (the caller has its display)."""
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def denoiser(pipe: Any) -> Any:
    """The pipeline's denoising network (a transformer or a UNet), where the time goes."""
    components = getattr(pipe, "components", {})
    return components.get("transformer") or components.get("unet")


def made_fast(pipe: Any, device: str, speed: Speed) -> Any:
    """The pipeline on its device with the entry's speed options applied (catalog `speed`)."""
    if speed.dtype != "auto":
        pipe.to(dtype=DTYPES[speed.dtype])
    if speed.offload != "none":
        if device != "cuda":
            raise BackendUnavailable(f"speed.offload = {speed.offload!r} needs a GPU; this machine has none")
        pipe.set_progress_bar_config(disable=True)
        if speed.offload == "model":
            pipe.enable_model_cpu_offload()
        else:
            pipe.enable_sequential_cpu_offload()
    else:
        on_device(pipe, device)
    net = denoiser(pipe)
    if speed.channels_last:
        for module in getattr(pipe, "components", {}).values():
            if isinstance(module, torch.nn.Module) and any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
                module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    if speed.attention is not None:
        if net is None or not hasattr(net, "set_attention_backend"):
            raise BackendUnavailable("speed.attention: this pipeline's denoiser has no attention backends to pick")
        try:
            net.set_attention_backend(speed.attention)
        except (ValueError, RuntimeError, ImportError) as exc:  # unknown name, or its kernels not installed
            raise BackendUnavailable(f"speed.attention = {speed.attention!r}: {first_line(exc)}") from exc
    if speed.compile:
        if net is None:
            raise BackendUnavailable("speed.compile: this pipeline has no denoiser to compile")
        # In place: the pipeline keeps its module (and its config), which now runs compiled.
        net.compile(mode=speed.compile_mode)
    return pipe


def load_preview_decoder(checkpoint: str, settings: Settings) -> Any:
    """A tiny autoencoder (diffusers' AutoencoderTiny, e.g. TAESD) for cheap previews."""
    from diffusers import AutoencoderTiny

    device, dtype = prepare_torch(settings)
    local = Path(checkpoint).expanduser()
    source = str(local) if local.exists() else checkpoint
    try:
        tiny = AutoencoderTiny.from_pretrained(
            source, torch_dtype=dtype, local_files_only=offline(settings) or local.exists()
        )
    except (OSError, ValueError) as exc:
        raise BackendUnavailable(f"cannot load the preview decoder {checkpoint}: {first_line(exc)}") from exc
    return tiny.to(device).eval()


def tensor_images(x: torch.Tensor) -> list[Image.Image]:
    """(B, 3, H, W) in [-1, 1] as RGB images."""
    arrays = ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return [Image.fromarray(a, mode="RGB") for a in arrays]


class DiffusersBackend:
    # Loaded by the registry beside the pipeline when the entry names one (preview_decoder).
    preview_decoder: Any = None
    # torch CPU threads for its batches (0: whatever the drawing thread has).
    threads: int = 0
    # How long the warm-up at load took (catalog speed.warmup); None: none was drawn.
    warmup_seconds: float | None = None

    def __init__(self, pipe: Any, family: Family, entry: ModelEntry) -> None:
        self.pipe = pipe
        self.family = family
        self.max_render_side = entry.max_render_side
        self.call_options = dict(entry.call_options)
        native = (pipe.resolution, pipe.resolution) if family.fixed_native else (0, 0)
        self.capabilities = Capabilities(
            native_size=native,
            can_edit=family.edit_argument is not None and entry.can_edit,
            max_input_images=entry.max_input_images if family.edit_argument else 0,
            max_batch=entry.max_batch,
            steps=entry.steps or family.steps,
            resample=family.resample,
        )
        self.guidance_scale = entry.guidance_scale if entry.guidance_scale is not None else family.guidance_scale
        self.edit_guidance_scale = next(
            g for g in (entry.edit_guidance_scale, family.edit_guidance_scale, self.guidance_scale) if g is not None
        )

    @classmethod
    def load_pipe(cls, entry: ModelEntry, settings: Settings) -> Any:
        """The pipeline an entry names; entries whose weights are the same may share it."""
        family = family_of(entry.id, entry.family)
        return load_pipeline(family, entry.checkpoint, entry.pipeline_class, settings, entry.speed)

    @classmethod
    def load(cls, entry: ModelEntry, settings: Settings) -> DiffusersBackend:
        return cls.on_pipe(cls.load_pipe(entry, settings), entry, settings)

    @classmethod
    def on_pipe(cls, pipe: Any, entry: ModelEntry, settings: Settings) -> DiffusersBackend:
        """A backend for `entry` on an already loaded pipeline (entries may share one)."""
        backend = cls(pipe, family_of(entry.id, entry.family), entry)
        # torch's CPU threads are a setting of each calling thread (OpenMP's), and a worker thread
        # starts from OMP_NUM_THREADS (Ray sets it to the actor's CPUs): batches run at the count
        # chosen here, on whichever thread draws them.
        backend.threads = settings.threads or torch.get_num_threads()
        if entry.preview_decoder:
            backend.preview_decoder = load_preview_decoder(entry.preview_decoder, settings)
        return backend

    def warm_up(self) -> float:
        """Draw one image of two steps at 1024x1024 (compiling, picking kernels); its seconds. Run on
        the thread that will draw the batches (the engine's worker: Service.queue): on a CPU, torch
        run on a second thread of a process slows the first one's batches."""
        start = time.perf_counter()
        self.generate([ImageJob("warm-up", 0, 1024, 1024, steps=2)])
        self.warmup_seconds = time.perf_counter() - start
        return self.warmup_seconds

    @classmethod
    def read_prompt(cls, prompt: str) -> PromptReading:
        return PromptReading()

    @classmethod
    def pixel_step(cls, entry: ModelEntry) -> int:
        return family_of(entry.id, entry.family).multiple_of

    def upscale(self, image: Image.Image, factor: int) -> Image.Image:
        if self.family.upscaler is None:
            raise ValueError(f"the {self.family.name} family has no upscaler")
        return upscale(image, (image.width * factor, image.height * factor), self.family.upscaler)

    def batch_key(self, job: ImageJob) -> Hashable:
        return (self.render_size(job.width, job.height), job.steps, job.effort, job.guidance, bool(job.images))

    def weights_id(self) -> Hashable:
        return id(self.pipe)

    def twin(self) -> DiffusersBackend:
        # A diffusers pipeline keeps its call's state on itself (guidance, step counters, the
        # interrupt flag) and in its scheduler: the twin gets its own of both; the modules, and so
        # the weights in memory, are shared.
        pipe = copy.copy(self.pipe)
        if getattr(self.pipe, "scheduler", None) is not None:
            pipe.__dict__["scheduler"] = copy.deepcopy(self.pipe.scheduler)
        other = copy.copy(self)
        other.pipe = pipe
        return other

    @classmethod
    def describe(cls, image: Image.Image) -> str | None:
        return None

    def render_size(self, width: int, height: int) -> tuple[int, int]:
        """The size the pipeline renders at for an output of (width, height)."""
        if self.family.fixed_native:
            return self.capabilities.native_size
        scale = 1.0
        if self.max_render_side and max(width, height) > self.max_render_side:
            scale = self.max_render_side / max(width, height)
        m = self.family.multiple_of
        return (max(m, round(width * scale / m) * m), max(m, round(height * scale / m) * m))

    def generate(self, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
        if self.threads and torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        rendered = self.render(jobs, on_step)
        resample = self.capabilities.resample
        return [upscale(im, (job.width, job.height), resample) for im, job in zip(rendered, jobs, strict=True)]

    def render(self, jobs: Sequence[ImageJob], on_step: StepHook | None = None) -> list[Image.Image]:
        """One device batch at the pipeline's render sizes (before fitting to each job's size)."""
        out: dict[int, Image.Image] = {}
        indexed = list(enumerate(jobs))

        def key(item: tuple[int, ImageJob]) -> tuple[int, int, bool, int]:
            i, job = item
            # Pipelines that cannot mix input images in one call get one call per edit.
            solo = i if job.images and not self.family.batch_edits else -1
            return (*self.render_size(job.width, job.height), bool(job.images), solo)

        for (w, h, edit, _), group in groupby(sorted(indexed, key=key), key=key):
            items = list(group)
            positions = tuple(i for i, _ in items)
            images = self._call([job for _, job in items], positions, w, h, edit, on_step)
            out.update({i: im for (i, _), im in zip(items, images, strict=True)})
        return [out[i] for i in range(len(jobs))]

    def preview_images(self, latents: torch.Tensor) -> list[Image.Image]:
        """A step's latents as images: pixels as they are, latents through the tiny autoencoder when
        there is one, else through the pipeline's VAE (only for the few steps a preview is asked of)."""
        with torch.no_grad():
            if self.family.preview == "pixels":
                return tensor_images(latents)
            decoder = self.preview_decoder if self.preview_decoder is not None else self.pipe.vae
            config = decoder.config
            scaled = latents.to(decoder.dtype) / getattr(config, "scaling_factor", 1.0)
            if getattr(config, "shift_factor", None) is not None:
                scaled = scaled + config.shift_factor
            return tensor_images(decoder.decode(scaled, return_dict=False)[0])

    def _call(
        self,
        jobs: list[ImageJob],
        positions: tuple[int, ...],
        width: int,
        height: int,
        edit: bool,
        on_step: StepHook | None,
    ) -> list[Image.Image]:
        steps = jobs[0].steps or max(1, round(self.capabilities.steps * jobs[0].effort))
        default = self.edit_guidance_scale if edit else self.guidance_scale
        guidance = jobs[0].guidance if jobs[0].guidance is not None else default

        def callback(pipe: Any, i: int, t: Any, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            if on_step is None:
                return tensors
            latents = tensors.get("latents")
            decode = None
            if self.family.preview is not None and latents is not None and latents.dim() == 4:
                decode = lambda: self.preview_images(latents)  # noqa: E731  (bound to this step's latents)
            if on_step(Step(i, steps, positions, decode)) is False:
                pipe._interrupt = True
            return tensors

        kwargs: dict[str, Any] = {
            **self.family.call_defaults,
            **self.call_options,
            "num_inference_steps": steps,
            "guidance_scale": guidance,
            "generator": [torch.Generator().manual_seed(job.seed) for job in jobs],
            "callback_on_step_end": callback,
        }
        if not self.family.fixed_native:
            kwargs.update(height=height, width=width, output_type="pil")
        if self.family.area_argument:
            kwargs[self.family.area_argument] = width * height
        if edit:
            assert self.family.edit_argument is not None

            def fit(im: Image.Image) -> Image.Image:
                if self.family.resize_inputs and im.size != (width, height):
                    return im.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
                if min(im.size) < self.family.min_input_side:
                    scale = self.family.min_input_side / min(im.size)
                    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
                    return im.convert("RGB").resize(size, Image.Resampling.LANCZOS)
                return im

            if self.family.batch_edits:
                kwargs[self.family.edit_argument] = [fit(job.images[0]) for job in jobs]
            else:
                (job,) = jobs
                inputs = [fit(im) for im in job.images]
                kwargs[self.family.edit_argument] = inputs if len(inputs) > 1 else inputs[0]
        elif self.family.fixed_native:
            kwargs["image"] = None
        self.pipe._interrupt = False
        result = self.pipe(prompt=[job.prompt for job in jobs], **kwargs)
        if getattr(self.pipe, "_interrupt", False):
            raise Interrupted("stopped between denoising steps")
        return list(result.images)
