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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, cast

import numpy as np
import torch
import typer
from diffusers import FlowMatchEulerDiscreteScheduler, UNet2DConditionModel
from diffusers.models.attention_processor import Attention, AttnProcessor
from tqdm import tqdm

from plantain.mini.edits import RERENDER_INSTRUCTIONS, EditSpec, edit_text
from plantain.mini.extracolours import draw_renaming, rename_example, rename_word, renamed_texts, repaint
from plantain.mini.grammar import PromptSpec, normalise, prompt_text
from plantain.mini.heldout import (
    edit_held_out,
    scene_held_out,
    training_edit_example,
    training_prompt_spec,
    training_scene,
)
from plantain.mini.offpalette import repaint_unnamed
from plantain.mini.pipeline import (
    PREDICTIONS,
    WEIGHTS_DIR,
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


@dataclass(frozen=True)
class Recipe:
    seed: int = 0
    steps: int = 10000
    batch_size: int = 32
    lr: float = 6e-4
    warmup: int = 300
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    edit_fraction: float = 0.4
    uncond_fraction: float = 0.1
    rerender_fraction: float = 0.05  # of edit samples: "render this at 4k" and the like, source = target
    # What the UNet outputs (pipeline.PREDICTIONS): "dual" is a velocity head for generating and a
    # residual head (clean image - source) for editing; docs/mini-model.md compares all four.
    prediction: str = "dual"
    prompt_pool: int = 24000
    # How a training scene places what its prompt leaves open (sampling.LAYOUTS).
    layout: str = "anchored"
    resolution: int = 32
    channels: tuple[int, ...] = (32, 64, 128)
    layers_per_block: int = 1
    heads: int = 4
    coords: bool = True
    attn_levels: int = 2  # resolutions with cross-attention, counted from the coarsest
    # Of those, how many (counted from the finest) drop self-attention over pixels and read only the
    # prompt (diffusers' only_cross_attention; the middle block keeps it). Meant to buy steps while
    # the prompt is still read at 16x16; on the 2-core CPU the saving is within its noise (docs).
    cross_only_levels: int = 0
    transformer_layers: int = 1  # transformer blocks per attention layer
    pooled: bool = True  # the masked mean of the token states as a class embedding
    # Each token's MiniLM input embedding beside its state (text_encoder.encode_texts).
    word_embeddings: bool = True
    # One state per word: a word's WordPiece pieces averaged into one slot (text_encoder.word_slots).
    per_word: bool = True
    # Cross-attention values read only the context-free half of each state (needs word_embeddings):
    # a word then hands a pixel the same value wherever it stands, so the colour a generation prompt
    # paints with "cyan" is the colour an edit that ends in "cyan" paints; keys still read both halves,
    # which is how a pixel finds the word its role needs (contextual_values).
    word_values: bool = True
    # With word_values, how many of each cross-attention layer's heads read values from words alone
    # (0: every head); the others read both halves, so a pixel can still read what role a word plays.
    word_value_heads: int = 0
    # Chance that an object an edit leaves unnamed is repainted off the world's palette (offpalette).
    off_palette: float = 0.0
    # Chance that a training example has one of its colours renamed, in its text and its pixels, to a
    # colour word the world lacks ("make the red square brown"; extracolours): more recolour targets
    # than the seven training may ask for, so that painting the colour a word names is learnt as one
    # operation, which is what carries over to the held-out cyan.
    extra_colours: float = 0.0
    # For generation, the share of the prompt pool that gains a renamed copy ("two navy circles");
    # None: the same share as extra_colours. Kept apart because a renamed prompt spends training on
    # painting new colours from nothing, which edits do not need.
    extra_colour_prompts: float | None = None
    # Share of each batch given to edit samples that always have a colour renamed, beside the world's
    # edit share rather than in its place (taken from generation). Renaming in place (extra_colours)
    # thins the world's own recolour targets: a recolour that names only the shape has one colour
    # word, its target, so at 0.4 "make the circle blue" fell to 0.6 of its count and its paint
    # drifted off the world's blue; added beside, every world edit keeps its count.
    renamed_edits: float = 0.16
    # How the UNet's attention is computed in training (ATTENTIONS): "explicit", softmax(QK^T)V written
    # out (use_explicit_attention), which the shipped weights use because it makes a CPU step a sixth to
    # a third cheaper and so buys the longer schedule edits need; or "sdpa", torch's kernel (diffusers'
    # default). The same sums, so the same model; not the same bits, so a rebuild must use the value its
    # weights were made with.
    attention: str = "explicit"
    # Train through `torch.compile` (inductor): fused kernels make a CPU step about an eighth cheaper
    # (`bench/mini_train_step.py`), after a compile of a minute or two. Like `attention`, the same
    # sums in other bits, so a rebuild uses the value its weights were made with.
    compile: bool = False
    # How the shipped UNet's weights are stored: "float16" halves the folder (the package ships at
    # most 40 MB), and `from_pretrained` reads them back into float32, the precision sampling runs in.
    storage: str = "float32"


def norm_groups(channels: tuple[int, ...]) -> int:
    """GroupNorm's group count for these widths; every width must be a multiple of it."""
    return min(16, channels[0])


def build_unet(r: Recipe) -> UNet2DConditionModel:
    levels = len(r.channels)
    first = levels - r.attn_levels  # the finest level with attention (levels are finest first)
    attn = [i >= first for i in range(levels)]
    cross_only = tuple(first <= i < first + r.cross_only_levels for i in range(levels))
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
        # False when no level drops it, so configs of such recipes are what they always were.
        only_cross_attention=cross_only if any(cross_only) else False,
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


def prompt_renaming(r: Recipe) -> float:
    """The share of the prompt pool that gains a renamed copy."""
    return r.extra_colours if r.extra_colour_prompts is None else r.extra_colour_prompts


class Batches:
    """An endless, seeded stream of (target, source, text) training batches."""

    def __init__(self, r: Recipe, rng: np.random.Generator, device: str = "cpu") -> None:
        self.r, self.rng = r, rng
        specs: dict[str, PromptSpec] = {}
        while len(specs) < r.prompt_pool:
            spec = training_prompt_spec(rng)
            specs.setdefault(normalise(prompt_text(spec)), spec)
        # (text, spec, renaming): renaming is (world colour, extra colour) for a renamed copy.
        self.prompts: list[tuple[str, PromptSpec, tuple[str, str] | None]] = [(t, s, None) for t, s in specs.items()]
        instructions = all_edit_instructions()
        if (share := prompt_renaming(r)) > 0:
            # Drawn after the pool, so the pool's own prompts are those of a recipe without renaming.
            for text, spec, _ in list(self.prompts):
                if rng.random() < share and (renaming := draw_renaming(text, (), rng)):
                    self.prompts.append((rename_word(text, *renaming), spec, renaming))
        if r.extra_colours > 0 or r.renamed_edits > 0:
            instructions += sorted({v for t in instructions for v in renamed_texts(t)})
        texts = [""] + [t for t, _, _ in self.prompts] + instructions
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
                rename_chance = 1.0 if kind >= r.edit_fraction else r.extra_colours
                edit: EditSpec | None = None
                if rng.random() < r.rerender_fraction:
                    source = target = random_scene(rng)
                    while scene_held_out(target):
                        source = target = random_scene(rng)
                    text = RERENDER_INSTRUCTIONS[int(rng.integers(len(RERENDER_INSTRUCTIONS)))]
                else:
                    source, edit, target = training_edit_example(rng)
                    text = edit_text(edit)
                src, tgt = render(source, r.resolution), render(target, r.resolution)
                repaint_unnamed(source, edit, target, src, tgt, rng, r.off_palette)
                text = rename_example(text, [(source, src), (target, tgt)], rng, rename_chance)
            else:
                text, spec, renaming = self.prompts[int(rng.integers(len(self.prompts)))]
                scene = training_scene(spec, rng, r.layout)
                tgt = render(scene, r.resolution)
                if renaming:
                    repaint(scene, tgt, *renaming)
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


STORAGES = {"float32": torch.float32, "float16": torch.float16}


def save(model: UNet2DConditionModel, out: Path, recipe: Recipe, extra: dict[str, object]) -> None:
    if model.dtype != STORAGES[recipe.storage]:
        model = model.to(STORAGES[recipe.storage])
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    text_units = "word" if recipe.per_word else "token"
    MiniPipeline(unet=model, scheduler=scheduler, prediction=recipe.prediction, text_units=text_units).save_pretrained(
        out, safe_serialization=True
    )
    (out / "training.json").write_text(json.dumps({"recipe": asdict(recipe), **extra}, indent=2) + "\n")


ATTENTIONS = ("sdpa", "explicit")


def use_explicit_attention(model: UNet2DConditionModel) -> None:
    """Attention through diffusers' `AttnProcessor` (softmax(QK^T)V written out).

    torch's CPU flash-attention backward is slow for heads this small (16 channels): a CPU training
    step takes a sixth to a third less this way (`bench/mini_train_step.py`). The saved model is the same
    kind either way, and sampling keeps the default processor."""
    model.set_attn_processor(AttnProcessor())


def cross_attention_layers(model: UNet2DConditionModel) -> list[Attention]:
    """Every attention layer that reads the prompt: the second of each transformer block, and the first
    too where a level drops self-attention (cross_only_levels)."""
    return [m for m in model.modules() if isinstance(m, Attention) and m.is_cross_attention]


def contextual_values(model: UNet2DConditionModel, heads: int = 0) -> list[torch.Tensor]:
    """The value weights that read the contextual half of each state (its first HIDDEN values), as views
    of the model's own parameters, so zeroing them zeroes the model's weights. With `heads`, only the
    first that many heads' (a head's values are a block of rows of `to_v`); 0 means every head.

    With values from words, train() zeroes them after building and again after every update: the
    update writes there (their gradient is not zero), and the next forward pass must not read it. So
    every forward pass, the EMA copy and the saved model see zeros, and the saved folder is a plain UNet
    whose values read the word embeddings alone."""
    views = []
    for m in cross_attention_layers(model):
        rows = m.to_v.weight.shape[0] // m.heads * heads if heads else m.to_v.weight.shape[0]
        views.append(m.to_v.weight.detach()[:rows, :HIDDEN])
    return views


def compiled(model: UNet2DConditionModel) -> UNet2DConditionModel:
    """The model through `torch.compile`; its parameters are the model's own."""
    return cast(UNet2DConditionModel, torch.compile(model))


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
    torch.set_num_threads(threads)
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    t0 = time.time()
    if recipe.attention not in ATTENTIONS:
        raise ValueError(f"attention must be one of {', '.join(ATTENTIONS)}, not {recipe.attention!r}")
    if recipe.storage not in STORAGES:
        raise ValueError(f"storage must be one of {', '.join(STORAGES)}, not {recipe.storage!r}")
    if recipe.word_values and not recipe.word_embeddings:
        raise ValueError("word_values reads the word-embedding half of each state: it needs word_embeddings")
    if not 0 <= recipe.word_value_heads <= recipe.heads or (recipe.word_value_heads and not recipe.word_values):
        raise ValueError(f"word_value_heads is 0 to {recipe.heads} (heads), and needs word_values")
    if not 0 <= recipe.cross_only_levels <= recipe.attn_levels:
        raise ValueError(f"cross_only_levels is 0 to {recipe.attn_levels} (attn_levels)")
    if not 0 <= recipe.extra_colours <= 1:
        raise ValueError(f"extra_colours is a chance, 0 to 1, not {recipe.extra_colours}")
    if not 0 <= prompt_renaming(recipe) <= 1:
        raise ValueError(f"extra_colour_prompts is a share, 0 to 1, not {recipe.extra_colour_prompts}")
    if recipe.renamed_edits < 0 or overfills_batch(recipe.edit_fraction, recipe.renamed_edits):
        raise ValueError(
            f"renamed_edits is a share of the batch, 0 to {1 - recipe.edit_fraction:g} (1 - edit_fraction),"
            f" not {recipe.renamed_edits}"
        )
    model = build_unet(recipe).to(device)
    # Found once: the layer walk stays out of the step loop.
    blind_values = contextual_values(model, recipe.word_value_heads) if recipe.word_values else []
    for weight in blind_values:
        weight.zero_()
    if recipe.attention == "explicit":
        use_explicit_attention(model)
    ema = copy.deepcopy(model).requires_grad_(False)
    # The compiled wrapper shares the model's parameters; the EMA copy and what is saved stay eager.
    forward = compiled(model) if recipe.compile else model
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
        value = training_step(forward, opt, recipe, batches.next(), device)
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
    # under the key bench/_machine.py gives them.
    cpu_capability = torch.backends.cpu.get_cpu_capability()
    save(
        ema.cpu(),
        out,
        recipe,
        {"step": recipe.steps, "seconds": seconds, "threads": threads, "cpu_capability": cpu_capability},
    )
    print(f"saved {out} after {seconds:.0f} s")


def main(
    out: Annotated[Path, typer.Option(help="Folder to write the pipeline to.")] = WEIGHTS_DIR,
    seed: Annotated[int, typer.Option(help="Seed for weights, data and noise.")] = Recipe.seed,
    steps: Annotated[int, typer.Option(help="Optimiser steps.")] = Recipe.steps,
    batch_size: Annotated[int, typer.Option(help="Samples per step.")] = Recipe.batch_size,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.")] = 2,
    log: Annotated[Path, typer.Option(help="CSV loss log.")] = Path("bench/results/mini_train_log.csv"),
    checkpoint_every: Annotated[int, typer.Option(help="Also save EMA weights every N steps (0: never).")] = 0,
    device: Annotated[str, typer.Option(help="torch device: the shipped weights come from 'cpu'.")] = "cpu",
    prediction: Annotated[
        str, typer.Option(help="What the UNet outputs: dual (shipped), velocity, residual or edit-residual.")
    ] = Recipe.prediction,
    layout: Annotated[
        str, typer.Option(help="Cells for what a prompt leaves open: anchored (shipped), canonical, lines or any.")
    ] = Recipe.layout,
    word_embeddings: Annotated[
        bool, typer.Option(help="Read each token's MiniLM input embedding beside its state.")
    ] = Recipe.word_embeddings,
    per_word: Annotated[
        bool, typer.Option(help="One text state per word: a word's WordPiece pieces averaged into one slot.")
    ] = Recipe.per_word,
    word_values: Annotated[
        bool, typer.Option(help="Cross-attention values read only the word embeddings (needs --word-embeddings).")
    ] = Recipe.word_values,
    word_value_heads: Annotated[
        int,
        typer.Option(
            min=0, max=Recipe.heads, help="With --word-values, how many heads read values from words alone (0: all)."
        ),
    ] = Recipe.word_value_heads,
    edit_fraction: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of each batch that is edit examples.")
    ] = Recipe.edit_fraction,
    attention: Annotated[
        str, typer.Option(help="Attention in training: explicit (the shipped weights', faster on a CPU) or sdpa.")
    ] = Recipe.attention,
    compile: Annotated[
        bool, typer.Option("--compile/--no-compile", help="Train through torch.compile (faster after a compile).")
    ] = Recipe.compile,
    channels: Annotated[str, typer.Option(help="UNet channels per level, finest first, as 32/64/128.")] = "/".join(
        map(str, Recipe.channels)
    ),
    attn_levels: Annotated[
        int, typer.Option(min=0, help="Resolutions with cross-attention to the prompt, counted from the coarsest.")
    ] = Recipe.attn_levels,
    cross_only_levels: Annotated[
        int,
        typer.Option(
            min=0, help="Of the attention levels, how many (from the finest) read only the prompt, no self-attention."
        ),
    ] = Recipe.cross_only_levels,
    storage: Annotated[
        str, typer.Option(help="How the saved weights are stored: float32 or float16 (half the size).")
    ] = Recipe.storage,
    off_palette: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Chance that an object an edit leaves unnamed is repainted off the palette."
        ),
    ] = Recipe.off_palette,
    extra_colours: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Chance that an example has a colour renamed to a word outside the world."),
    ] = Recipe.extra_colours,
    extra_colour_prompts: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Share of the prompt pool that gains a renamed copy (default: --extra-colours)."
        ),
    ] = Recipe.extra_colour_prompts,
    renamed_edits: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of each batch that is renamed edit samples beside the world's edits."
        ),
    ] = Recipe.renamed_edits,
) -> None:
    """Rebuild the built-in mini model's weights from a seed."""
    if prediction not in PREDICTIONS:
        raise typer.BadParameter(f"one of {', '.join(PREDICTIONS)}", param_hint="--prediction")
    if layout not in LAYOUTS:
        raise typer.BadParameter(f"one of {', '.join(LAYOUTS)}", param_hint="--layout")
    if attention not in ATTENTIONS:
        raise typer.BadParameter(f"one of {', '.join(ATTENTIONS)}", param_hint="--attention")
    if storage not in STORAGES:
        raise typer.BadParameter(f"one of {', '.join(STORAGES)}", param_hint="--storage")
    try:
        widths = tuple(int(c) for c in channels.split("/"))
    except ValueError:
        widths = ()
    if len(widths) < 2 or min(widths) < 1 or any(w % norm_groups(widths) for w in widths):
        raise typer.BadParameter(
            f"{channels!r}: two or more widths like 32/64/128, each a multiple of min(16, the first)",
            param_hint="--channels",
        )
    if word_values and not word_embeddings:
        raise typer.BadParameter("needs --word-embeddings", param_hint="--word-values")
    if word_value_heads and not word_values:
        raise typer.BadParameter("needs --word-values", param_hint="--word-value-heads")
    if attn_levels > len(widths):
        raise typer.BadParameter(f"at most the {len(widths)} levels of --channels", param_hint="--attn-levels")
    if cross_only_levels > attn_levels:
        raise typer.BadParameter(f"at most the {attn_levels} of --attn-levels", param_hint="--cross-only-levels")
    if overfills_batch(edit_fraction, renamed_edits):
        raise typer.BadParameter(
            f"at most {1 - edit_fraction:g}: with --edit-fraction it fills at most the batch",
            param_hint="--renamed-edits",
        )
    recipe = Recipe(
        seed=seed,
        steps=steps,
        batch_size=batch_size,
        prediction=prediction,
        layout=layout,
        word_embeddings=word_embeddings,
        per_word=per_word,
        word_values=word_values,
        word_value_heads=word_value_heads,
        edit_fraction=edit_fraction,
        off_palette=off_palette,
        extra_colours=extra_colours,
        extra_colour_prompts=extra_colour_prompts,
        renamed_edits=renamed_edits,
        attention=attention,
        compile=compile,
        channels=widths,
        attn_levels=attn_levels,
        cross_only_levels=cross_only_levels,
        storage=storage,
    )
    train(recipe, out, log, threads, checkpoint_every, device)


if __name__ == "__main__":
    typer.run(main)
