"""Train the built-in mini model from a seed: `python -m plantain.mini.train`.

Data are drawn on the fly from the mini world (renderer + grammar), never from held-out
combinations. Text embeddings come from the frozen MiniLM encoder and are computed once for a fixed
pool of prompts and for every edit instruction. The recipe and the time it takes are in
docs/mini-model.md.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import Field, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import click
import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler, UNet2DConditionModel
from diffusers.models.attention_processor import Attention, AttnProcessor
from tqdm import tqdm

from plantain.machine import machine
from plantain.mini.edits import RERENDER_INSTRUCTIONS, EditSpec, edit_text
from plantain.mini.extracolours import rename_example, renamed_texts
from plantain.mini.grammar import PromptSpec, normalise, prompt_text
from plantain.mini.heldout import (
    edit_held_out,
    scene_held_out,
    training_edit_example,
    training_prompt_spec,
    training_scene,
)
from plantain.mini.pipeline import (
    PREDICTIONS,
    MiniPipeline,
    model_input,
    output_channels,
    pool_states,
    residual_samples,
    split_output,
)
from plantain.mini.render import render
from plantain.mini.sampling import LAYOUTS, random_scene
from plantain.mini.text_encoder import HIDDEN, MAX_TOKENS, encode_texts, load_text_encoder, state_width
from plantain.mini.world import BACKGROUNDS, COLOURS, SHAPES

ATTENTIONS = ("sdpa", "explicit")


def option(help: str, choices: tuple[str, ...] = ()) -> Any:
    """A recipe field's place on the command line: its help, and the values it may take."""
    return {"help": help, "choices": choices}


@dataclass(frozen=True)
class Recipe:
    """The shipped recipe is the defaults. Every field is an option of the training command
    (`python -m plantain.mini.train --help`), built from these fields in `command()`."""

    seed: int = field(default=0, metadata=option("Seed for weights, data and noise."))
    steps: int = field(default=10000, metadata=option("Optimiser steps."))
    batch_size: int = field(default=32, metadata=option("Samples per step."))
    lr: float = field(default=6e-4, metadata=option("Peak learning rate (AdamW)."))
    warmup: int = field(default=300, metadata=option("Warm-up steps before the cosine decay."))
    weight_decay: float = field(default=0.01, metadata=option("AdamW weight decay."))
    ema_decay: float = field(default=0.999, metadata=option("Decay of the saved moving average of the weights."))
    edit_fraction: float = field(default=0.4, metadata=option("Share of each batch that is edits of the world."))
    uncond_fraction: float = field(default=0.1, metadata=option("Share of texts dropped to the empty prompt."))
    # Of edit samples: "render this at 4k" and the like, whose target is the source.
    rerender_fraction: float = field(default=0.05, metadata=option("Share of edits that are re-renders."))
    # What the UNet outputs (pipeline.PREDICTIONS): "dual" is a velocity head for generating and a
    # residual head (clean image - source) for editing.
    prediction: str = field(default="dual", metadata=option("What the UNet outputs.", PREDICTIONS))
    prompt_pool: int = field(default=24000, metadata=option("Distinct training prompts drawn from the grammar."))
    # How a training scene places what its prompt leaves open (sampling.LAYOUTS).
    layout: str = field(default="anchored", metadata=option("Where unnamed objects go.", tuple(LAYOUTS)))
    resolution: int = field(default=32, metadata=option("Side of the images in pixels."))
    channels: tuple[int, ...] = field(
        default=(32, 64, 128), metadata=option("UNet channels per level, finest first, as 32/64/128.")
    )
    layers_per_block: int = field(default=1, metadata=option("ResNet layers per UNet block."))
    heads: int = field(default=4, metadata=option("Attention heads."))
    coords: bool = field(default=True, metadata=option("Give the UNet x and y coordinate channels."))
    attn_levels: int = field(
        default=2, metadata=option("Resolutions with cross-attention to the prompt, from the coarsest.")
    )
    transformer_layers: int = field(default=1, metadata=option("Transformer blocks per attention layer."))
    pooled: bool = field(default=True, metadata=option("The masked mean of the prompt as a class embedding."))
    # Each token's MiniLM input embedding beside its state (text_encoder.encode_texts).
    word_embeddings: bool = field(
        default=True, metadata=option("Read each word's MiniLM input embedding beside its state.")
    )
    # One state per word: a word's WordPiece pieces averaged into one slot (text_encoder.word_slots).
    per_word: bool = field(default=True, metadata=option("One text state per word, its pieces averaged."))
    # Cross-attention values read only the context-free half of each state (needs word_embeddings):
    # a word then hands a pixel the same value wherever it stands, so the colour a generation prompt
    # paints with "cyan" is the colour an edit that ends in "cyan" paints; keys still read both
    # halves, which is how a pixel finds the word its role needs (contextual_values).
    word_values: bool = field(default=True, metadata=option("Cross-attention values read the word embeddings alone."))
    # Share of each batch given to edit samples that always have a colour renamed to a colour word
    # the world lacks (extracolours), beside the world's edit share (taken from generation): more
    # recolour targets than the seven training may ask for, so that painting the colour a word names
    # is learnt as one operation, which is what carries over to the held-out cyan.
    renamed_edits: float = field(
        default=0.16, metadata=option("Share of each batch that is edits with a colour renamed.")
    )
    # How the UNet's attention is computed in training (ATTENTIONS): "explicit", softmax(QK^T)V
    # written out (use_explicit_attention), a sixth to a third cheaper on a CPU; or "sdpa", torch's
    # kernel (diffusers' default). The same sums in other bits, so a rebuild uses the value its
    # weights were made with.
    attention: str = field(default="explicit", metadata=option("Attention in training.", ATTENTIONS))

    def problems(self) -> list[tuple[str, str]]:
        """(field, what is wrong) for each field this recipe cannot train with; one list for
        train() and the command line, so the two cannot disagree."""
        out: list[tuple[str, str]] = []
        for f in fields(self):
            choices = f.metadata.get("choices")
            if choices and getattr(self, f.name) not in choices:
                out.append((f.name, f"{f.name} must be one of {', '.join(choices)}, not {getattr(self, f.name)!r}"))
        widths = self.channels
        if len(widths) < 2 or min(widths) < 1 or any(w % norm_groups(widths) for w in widths):
            out.append(
                ("channels", "channels: two or more widths like 32/64/128, each a multiple of min(16, the first)")
            )
        if not 0 <= self.attn_levels <= len(widths):
            out.append(("attn_levels", f"attn_levels is 0 to the {len(widths)} levels of channels"))
        if self.word_values and not self.word_embeddings:
            out.append(
                ("word_values", "word_values reads the word-embedding half of each state: it needs word_embeddings")
            )
        for name in ("edit_fraction", "uncond_fraction", "rerender_fraction"):
            if not 0 <= getattr(self, name) <= 1:
                out.append((name, f"{name} is a share, 0 to 1"))
        if self.renamed_edits < 0 or overfills_batch(self.edit_fraction, self.renamed_edits):
            out.append(
                (
                    "renamed_edits",
                    f"renamed_edits is a share of the batch, 0 to {1 - self.edit_fraction:g} (1 - edit_fraction),"
                    f" not {self.renamed_edits}",
                )
            )
        return out


def norm_groups(channels: tuple[int, ...]) -> int:
    """GroupNorm's group count for these widths; every width must be a multiple of it."""
    return min(16, channels[0])


def build_unet(r: Recipe) -> UNet2DConditionModel:
    levels = len(r.channels)
    first = levels - r.attn_levels  # the finest level with attention (levels are finest first)
    attn = [i >= first for i in range(levels)]
    return UNet2DConditionModel(
        sample_size=r.resolution,
        # noisy image + edit source (zeros when generating) [+ x, y coordinates]
        in_channels=8 if r.coords else 6,
        out_channels=output_channels(r.prediction),
        # Cross-attention to the prompt at the coarser resolutions, convolution only at the finer.
        down_block_types=tuple("CrossAttnDownBlock2D" if a else "DownBlock2D" for a in attn),
        up_block_types=tuple("CrossAttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attn)),
        block_out_channels=r.channels,
        layers_per_block=r.layers_per_block,
        cross_attention_dim=state_width(r.word_embeddings),
        attention_head_dim=r.heads,  # diffusers reads this as the number of heads
        norm_num_groups=norm_groups(r.channels),
        transformer_layers_per_block=r.transformer_layers,
        # the pooled prompt, as a global condition
        class_embed_type="projection" if r.pooled else None,
        projection_class_embeddings_input_dim=state_width(r.word_embeddings) if r.pooled else None,
    )


def all_edit_instructions() -> list[str]:
    """Every instruction of the edit grammar that training may use."""
    edits: list[EditSpec] = []
    refs = [(c, s) for s in SHAPES for c in (None, *COLOURS)]
    for colour, shape in refs:
        edits += [EditSpec("recolour", shape, colour, new_colour=n) for n in COLOURS if n != colour]
        edits.append(EditSpec("remove", shape, colour))
        edits += [EditSpec("move", shape, colour, cell=c) for c in range(9)]
    for shape in SHAPES:
        for colour in COLOURS:
            edits += [EditSpec("add", shape, colour, cell=c) for c in (None, *range(9))]
    edits += [EditSpec("background", background=b) for b in BACKGROUNDS]
    return [edit_text(e) for e in edits if not edit_held_out(e)] + list(RERENDER_INSTRUCTIONS)


class TextBank:
    """Precomputed MiniLM token states for a fixed list of texts, looked up by text."""

    def __init__(
        self, texts: list[str], word_embeddings: bool, per_word: bool = False, batch: int = 256, device: str = "cpu"
    ) -> None:
        model, tokenizer = load_text_encoder()
        model.to(device)
        self.index = {t: i for i, t in enumerate(texts)}
        lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
        self.length = min(max(lengths), MAX_TOKENS)
        self.states = torch.zeros(len(texts), self.length, state_width(word_embeddings), dtype=torch.bfloat16)
        self.mask = torch.zeros(len(texts), self.length, dtype=torch.bool)
        for start in tqdm(range(0, len(texts), batch), desc="encoding prompts", unit="batch"):
            chunk = texts[start : start + batch]
            states, mask = encode_texts(model, tokenizer, chunk, self.length, word_embeddings, per_word)
            self.states[start : start + len(chunk), : states.shape[1]] = states.to("cpu", torch.bfloat16)
            self.mask[start : start + len(chunk), : mask.shape[1]] = mask.cpu().bool()

    def lookup(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.tensor([self.index[t] for t in texts])
        return self.states[idx].float(), self.mask[idx].long()


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def overfills_batch(edit_fraction: float, renamed_edits: float) -> bool:
    """Whether world and renamed edits together ask for more than the whole batch. The sum is what
    Batches draws against, and train() and the CLI both ask here, so they cannot disagree by a
    rounding (0.32 + 0.68 is 1, while 1 - 0.32 is under 0.68)."""
    return edit_fraction + renamed_edits > 1


class Batches:
    """An endless, seeded stream of (target, source, text) training batches."""

    def __init__(self, r: Recipe, rng: np.random.Generator, device: str = "cpu") -> None:
        self.r, self.rng = r, rng
        specs: dict[str, PromptSpec] = {}
        while len(specs) < r.prompt_pool:
            spec = training_prompt_spec(rng)
            specs.setdefault(normalise(prompt_text(spec)), spec)
        self.prompts: list[tuple[str, PromptSpec]] = list(specs.items())
        instructions = all_edit_instructions()
        if r.renamed_edits > 0:
            instructions += sorted({v for t in instructions for v in renamed_texts(t)})
        texts = [""] + [t for t, _ in self.prompts] + instructions
        self.bank = TextBank(texts, r.word_embeddings, r.per_word, device=device)

    def next(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(target, source, token states, mask, editing)."""
        r, rng = self.r, self.rng
        targets, sources, texts = [], [], []
        blank = np.zeros((r.resolution, r.resolution, 3), dtype=np.uint8)
        for _ in range(r.batch_size):
            # One draw picks world edit, renamed edit or generation; with renamed_edits at 0 it is the
            # draw a recipe without them makes, so their data are unchanged.
            kind = rng.random()
            if kind < r.edit_fraction + r.renamed_edits:
                if rng.random() < r.rerender_fraction:
                    source = target = random_scene(rng)
                    while scene_held_out(target):
                        source = target = random_scene(rng)
                    text = RERENDER_INSTRUCTIONS[int(rng.integers(len(RERENDER_INSTRUCTIONS)))]
                else:
                    source, edit, target = training_edit_example(rng)
                    text = edit_text(edit)
                src, tgt = render(source, r.resolution), render(target, r.resolution)
                if kind >= r.edit_fraction:  # a renamed edit
                    text = rename_example(text, [(source, src), (target, tgt)], rng, 1.0)
            else:
                text, spec = self.prompts[int(rng.integers(len(self.prompts)))]
                tgt = render(training_scene(spec, rng, r.layout), r.resolution)
                src = blank
            targets.append(tgt)
            sources.append(src)
            texts.append("" if rng.random() < r.uncond_fraction else text)
        states, mask = self.bank.lookup(texts)
        # Blank sources are -1 after scaling; generation conditions on exact zeros instead.
        src_t = to_tensor(sources)
        is_blank = torch.tensor([s is blank for s in sources])
        src_t[is_blank] = 0.0
        return to_tensor(targets), src_t, states, mask, ~is_blank


def lr_at(step: int, r: Recipe) -> float:
    if step < r.warmup:
        return r.lr * (step + 1) / r.warmup
    progress = (step - r.warmup) / max(1, r.steps - r.warmup)
    return r.lr * 0.5 * (1 + math.cos(math.pi * progress))


def save(model: UNet2DConditionModel, out: Path, recipe: Recipe, extra: dict[str, object]) -> None:
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    text_units = "word" if recipe.per_word else "token"
    MiniPipeline(unet=model, scheduler=scheduler, prediction=recipe.prediction, text_units=text_units).save_pretrained(
        out, safe_serialization=True
    )
    (out / "training.json").write_text(json.dumps({"recipe": asdict(recipe), **extra}, indent=2) + "\n")


def use_explicit_attention(model: UNet2DConditionModel) -> None:
    """Attention through diffusers' `AttnProcessor` (softmax(QK^T)V written out).

    torch's CPU flash-attention backward is slow for heads this small (16 channels): a CPU training
    step takes a sixth to a third less this way (docs/experiments.md). The saved model is the same
    kind either way, and sampling keeps the default processor."""
    model.set_attn_processor(AttnProcessor())


def cross_attention_layers(model: UNet2DConditionModel) -> list[Attention]:
    """Every attention layer that reads the prompt: the second of each transformer block, and the first
    too where a level drops self-attention (cross_only_levels)."""
    return [m for m in model.modules() if isinstance(m, Attention) and m.is_cross_attention]


def contextual_values(model: UNet2DConditionModel) -> list[torch.Tensor]:
    """The value weights that read the contextual half of each state (its first HIDDEN values), as views
    of the model's own parameters, so zeroing them zeroes the model's weights.

    With values from words, train() zeroes them after building and again after every update: the
    update writes there (their gradient is not zero), and the next forward pass must not read it. So
    every forward pass, the EMA copy and the saved model see zeros, and the saved folder is a plain UNet
    whose values read the word embeddings alone."""
    return [m.to_v.weight.detach()[:, :HIDDEN] for m in cross_attention_layers(model)]


def training_loss(
    model: UNet2DConditionModel,
    recipe: Recipe,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    device: str,
) -> torch.Tensor:
    """One batch's loss (`Batches.next()`'s output), drawing its noise from torch's global generator."""
    target, source, states, mask, editing = batch
    # Noise is drawn on the CPU whatever the device, so a seed means the same data everywhere.
    noise = torch.randn_like(target)
    # Logit-normal noise levels (rectified flow): most samples near the middle of the path.
    sigma = torch.sigmoid(torch.randn(target.shape[0]))
    target, source, states, mask, editing, noise, sigma = (
        t.to(device) for t in (target, source, states, mask, editing, noise, sigma)
    )
    s = sigma.view(-1, 1, 1, 1)
    noisy = (1 - s) * target + s * noise
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
        pred = model(
            model_input(noisy, source, model.config.in_channels),
            sigma * 1000,
            encoder_hidden_states=states,
            encoder_attention_mask=mask,
            class_labels=pool_states(states, mask),
            return_dict=False,
        )[0]
    velocity, residual = split_output(pred.float(), recipe.prediction)
    # Every sample's loss is its velocity error. Through a residual it is the clean-image error /
    # sigma, with sigma floored so the rare near-clean samples do not dominate a batch.
    v_err = velocity - (noise - target)
    x0_err = (source + residual - target) / s.clamp(min=0.05)
    loss = torch.where(residual_samples(recipe.prediction, editing), x0_err, v_err).pow(2).mean()
    if recipe.prediction == "dual":
        # The velocity head learns from edit samples too: redrawing a scene from noise beside its
        # source is drawing practice that the residual head, which only copies and changes, skips.
        loss = loss + (v_err.pow(2) * editing.view(-1, 1, 1, 1)).mean()
    return loss


def optimiser(model: UNet2DConditionModel, recipe: Recipe) -> torch.optim.AdamW:
    return torch.optim.AdamW(model.parameters(), lr=recipe.lr, betas=(0.9, 0.99), weight_decay=recipe.weight_decay)


def training_step(
    model: UNet2DConditionModel,
    opt: torch.optim.Optimizer,
    recipe: Recipe,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    device: str,
) -> float:
    """One optimiser update on one batch (its learning rate already set); the batch's loss."""
    loss = training_loss(model, recipe, batch, device)
    opt.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return loss.item()


def train(recipe: Recipe, out: Path, log_path: Path, threads: int, checkpoint_every: int, device: str = "cpu") -> None:
    problems = recipe.problems()
    if problems:
        raise ValueError(problems[0][1])
    torch.set_num_threads(threads)
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    t0 = time.time()
    model = build_unet(recipe).to(device)
    # Found once: the layer walk stays out of the step loop.
    blind_values = contextual_values(model) if recipe.word_values else []
    for weight in blind_values:
        weight.zero_()
    if recipe.attention == "explicit":
        use_explicit_attention(model)
    ema = copy.deepcopy(model).requires_grad_(False)
    batches = Batches(recipe, rng, device)
    opt = optimiser(model, recipe)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    log.write("step,loss,lr,seconds\n")
    ema_params, model_params = list(ema.parameters()), list(model.parameters())
    bar = tqdm(range(recipe.steps), desc="training", unit="step")
    running = None
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, recipe)
        value = training_step(model, opt, recipe, batches.next(), device)
        for weight in blind_values:
            weight.zero_()
        decay = min(recipe.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema_params, model_params, 1 - decay)
        running = value if running is None else 0.98 * running + 0.02 * value
        bar.set_postfix(loss=f"{running:.4f}")
        log.write(f"{step},{value:.5f},{lr_at(step, recipe):.6g},{time.time() - t0:.1f}\n")
        if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < recipe.steps:
            log.flush()
            save(copy.deepcopy(ema).cpu(), out.parent / f"{out.name}-step{step + 1}", recipe, {"step": step + 1})
    log.close()
    seconds = round(time.time() - t0, 1)
    # The time is the machine's as much as the recipe's (a step took 0.68 s on one 2-core VM and 0.36 s
    # on another whose CPU has AVX512 with bf16, which the autocast uses), so it names the kernels used,
    # under the key plantain.machine gives them.
    cpu_capability = machine()["cpu_capability"]
    save(
        ema.cpu(),
        out,
        recipe,
        {"step": recipe.steps, "seconds": seconds, "threads": threads, "cpu_capability": cpu_capability},
    )
    print(f"saved {out} after {seconds:.0f} s")


def recipe_option(f: Field[Any]) -> click.Option:
    """A recipe field as a command-line option: its name, type, default and help from the field."""
    flag = "--" + f.name.replace("_", "-")
    help_text = f.metadata["help"]
    default: Any = getattr(Recipe(), f.name)
    if isinstance(default, bool):
        return click.Option([f"{flag}/--no-{flag[2:]}"], default=default, show_default=True, help=help_text)
    if isinstance(default, tuple):
        return click.Option([flag], default="/".join(map(str, default)), show_default=True, help=help_text)
    kind: Any = click.Choice(f.metadata["choices"]) if f.metadata["choices"] else type(default)
    return click.Option([flag], type=kind, default=default, show_default=True, help=help_text)


def recipe_from_options(values: dict[str, Any]) -> Recipe:
    """The recipe the options name; a bad value is the option's usage error (exit code 2)."""
    given = {f.name: values.pop(f.name) for f in fields(Recipe)}
    try:
        given["channels"] = tuple(int(c) for c in str(given["channels"]).split("/"))
    except ValueError as exc:
        raise click.BadParameter(f"{given['channels']!r}: widths like 32/64/128", param_hint="--channels") from exc
    recipe = Recipe(**given)
    for name, message in recipe.problems():
        raise click.BadParameter(message, param_hint="--" + name.replace("_", "-"))
    return recipe


def run(out: Path, log: Path | None, threads: int, checkpoint_every: int, device: str, **options: Any) -> None:
    """Train the built-in mini model from a seed (the defaults are the shipped recipe) into --out."""
    recipe = recipe_from_options(options)
    train(recipe, out, log or out.with_suffix(".csv"), threads, checkpoint_every, device)


def command() -> click.Command:
    """`python -m plantain.mini.train`: the run's own options, then one option per recipe field."""
    own = [
        click.Option(["--out"], type=click.Path(path_type=Path), default=Path("runs/mini"), show_default=True,
                     help="Folder to write the pipeline to (copy it over src/plantain/mini/weights/ to ship it)."),
        click.Option(["--log"], type=click.Path(path_type=Path), default=None,
                     help="CSV loss log.  [default: OUT.csv]"),
        click.Option(["--threads"], type=int, default=2, show_default=True, help="CPU threads for torch."),
        click.Option(["--checkpoint-every"], type=int, default=0, show_default=True,
                     help="Also save EMA weights every N steps (0: never)."),
        click.Option(["--device"], default="cpu", show_default=True,
                     help="torch device: the shipped weights come from 'cpu'."),
    ]  # fmt: skip
    return click.Command(
        "train",
        callback=run,
        params=[*own, *(recipe_option(f) for f in fields(Recipe))],
        help=run.__doc__,
    )


if __name__ == "__main__":
    command()()
