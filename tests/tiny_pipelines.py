"""Tiny random-weight copies of real pipeline families (SANA, FLUX.2 klein, FLUX.1 Kontext), built
from configs alone (no download).

Each builder saves a complete diffusers folder with `save_pretrained`, so the server loads it with
`from_pretrained` exactly as it loads a real checkpoint. Tokenizers are built from a byte-level
vocabulary (every string encodes), with the chat template that Klein's encoder asks for.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import (
    AutoencoderDC,
    AutoencoderKL,
    AutoencoderKLFlux2,
    FlowMatchEulerDiscreteScheduler,
    Flux2KleinPipeline,
    Flux2Transformer2DModel,
    FluxKontextPipeline,
    FluxTransformer2DModel,
    SanaPipeline,
    SanaTransformer2DModel,
)
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    Gemma2Config,
    Gemma2Model,
    GemmaTokenizer,
    Qwen2Tokenizer,
    Qwen3Config,
    Qwen3ForCausalLM,
    T5Config,
    T5EncoderModel,
    T5TokenizerFast,
)
from transformers.convert_slow_tokenizer import bytes_to_unicode

from plantain.core.catalog import Catalog

BYTE_SYMBOLS = list(bytes_to_unicode().values())
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_sana(folder: Path) -> Path:
    torch.manual_seed(0)
    transformer = SanaTransformer2DModel(
        patch_size=1, in_channels=4, out_channels=4, num_layers=1, num_attention_heads=2, attention_head_dim=4,
        num_cross_attention_heads=2, cross_attention_head_dim=4, cross_attention_dim=8, caption_channels=8,
        sample_size=32,
    )  # fmt: skip
    vae = AutoencoderDC(
        in_channels=3, latent_channels=4, attention_head_dim=2,
        encoder_block_types=("ResBlock", "EfficientViTBlock"), decoder_block_types=("ResBlock", "EfficientViTBlock"),
        encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8),
        encoder_qkv_multiscales=((), (5,)), decoder_qkv_multiscales=((), (5,)),
        encoder_layers_per_block=(1, 1), decoder_layers_per_block=(1, 1),
        downsample_block_type="conv", upsample_block_type="interpolate",
        decoder_norm_types="rms_norm", decoder_act_fns="silu", scaling_factor=0.41407,
    )  # fmt: skip
    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    tokenizer = GemmaTokenizer(vocab={t: i for i, t in enumerate(specials + BYTE_SYMBOLS)}, merges=[])
    text_encoder = Gemma2Model(
        Gemma2Config(
            head_dim=16, hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=1,
            num_key_value_heads=2, vocab_size=len(tokenizer), attn_implementation="eager",
        )
    )  # fmt: skip
    pipe = SanaPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
    )  # fmt: skip
    pipe.save_pretrained(folder)
    return folder


def build_klein(folder: Path) -> Path:
    torch.manual_seed(0)
    transformer = Flux2Transformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=16, timestep_guidance_channels=256,
        axes_dims_rope=[4, 4, 4, 4], guidance_embeds=False,
    )  # fmt: skip
    vae = AutoencoderKLFlux2(
        sample_size=32, in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), block_out_channels=(4,), layers_per_block=1, latent_channels=1,
        norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False,
    )  # fmt: skip
    vocab = {t: i for i, t in enumerate([*BYTE_SYMBOLS, "<|endoftext|>", "<|im_start|>", "<|im_end|>"])}
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=[], unk_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    text_encoder = Qwen3ForCausalLM(
        Qwen3Config(
            intermediate_size=16, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
            vocab_size=len(tokenizer), max_position_embeddings=512,
        )
    )  # fmt: skip
    pipe = Flux2KleinPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder=text_encoder, tokenizer=tokenizer,
        transformer=transformer, vae=vae,
    )  # fmt: skip
    pipe.save_pretrained(folder)
    return folder


def build_kontext(folder: Path) -> Path:
    """FLUX.1 Kontext: CLIP and T5 encoders, a FLUX transformer and a one-block VAE."""
    torch.manual_seed(0)
    specials = ["<|startoftext|>", "<|endoftext|>"]
    clip_vocab = {t: i for i, t in enumerate([*BYTE_SYMBOLS, *(b + "</w>" for b in BYTE_SYMBOLS), *specials])}
    tokenizer = CLIPTokenizer(vocab=clip_vocab, merges=[], model_max_length=77)
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=1,
            vocab_size=len(tokenizer), projection_dim=8, max_position_embeddings=77,
        )
    )  # fmt: skip
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(c, -1.0) for c in "abcdefghijklmnopqrstuvwxyz▁"]
    tokenizer_2 = T5TokenizerFast(vocab=pieces, extra_ids=0, model_max_length=512)
    text_encoder_2 = T5EncoderModel(
        T5Config(d_model=8, d_ff=16, d_kv=4, num_heads=2, num_layers=1, vocab_size=len(tokenizer_2))
    )
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=8, pooled_projection_dim=8, axes_dims_rope=[4, 4, 8],
    )  # fmt: skip
    vae = AutoencoderKL(
        sample_size=32, in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",), block_out_channels=(4,), layers_per_block=1, latent_channels=1,
        norm_num_groups=1, use_quant_conv=False, use_post_quant_conv=False, shift_factor=0.0609,
        scaling_factor=1.5035,
    )  # fmt: skip
    pipe = FluxKontextPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer,
    )  # fmt: skip
    pipe.save_pretrained(folder)
    return folder


def tiny_catalog(root: Path) -> Catalog:
    sana, klein = build_sana(root / "sana"), build_klein(root / "klein")
    # Prices like the hosted models', so that costs in tests are not all zero.
    prices = {
        "input_per_million_tokens": 0.25,
        "output_per_million_tokens": 1.50,
        "per_1000_images": {"512": 0.034, "1K": 0.067, "2K": 0.101, "4K": 0.151},
    }
    common = {"licence": "test weights", "steps": 2, "max_render_side": 64, "prices": prices}
    return Catalog.model_validate(
        {
            "models": {
                "tiny-sana": {
                    **common,
                    "display_name": "tiny SANA",
                    "family": "sana",
                    "checkpoint": str(sana),
                    "sizes": ["512", "1K"],
                    "can_edit": False,
                    "call_options": {"complex_human_instruction": []},
                },
                "tiny-klein": {
                    **common,
                    "display_name": "tiny FLUX.2 klein",
                    "family": "flux2-klein",
                    "checkpoint": str(klein),
                    "call_options": {"text_encoder_out_layers": [1]},
                },
                "tiny-klein-2": {
                    **common,
                    "display_name": "the same weights under a second ID",
                    "family": "flux2-klein",
                    "checkpoint": str(klein),
                    "call_options": {"text_encoder_out_layers": [1]},
                },
            }
        }
    )


def build_tiny_preview_decoder(folder: Path) -> Path:
    """A random-weight AutoencoderTiny (TAESD's class) for the tiny SANA's 4-channel latents, at its
    VAE's 2x spatial compression."""
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    AutoencoderTiny(
        encoder_block_out_channels=(8, 8), decoder_block_out_channels=(8, 8), latent_channels=4,
        num_encoder_blocks=(1, 1), num_decoder_blocks=(1, 1),
    ).save_pretrained(folder)  # fmt: skip
    return folder
