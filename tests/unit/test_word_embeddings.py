"""Token states with MiniLM's input embeddings beside them (text_encoder.encode_texts)."""

from __future__ import annotations

import pytest
import torch

from plantain.mini.text_encoder import HIDDEN, encode_texts, load_text_encoder


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    return load_text_encoder()


def test_the_contextual_half_is_the_plain_states_and_the_word_half_is_the_same_wherever_a_word_stands(
    encoder,  # type: ignore[no-untyped-def]
) -> None:
    model, tokenizer = encoder
    texts = ["a cyan square", "make the red circle cyan"]
    plain, mask = encode_texts(model, tokenizer, texts)
    both, mask2 = encode_texts(model, tokenizer, texts, word_embeddings=True)
    assert both.shape == (*plain.shape[:2], 2 * HIDDEN) and torch.equal(mask, mask2)
    assert torch.equal(both[..., :HIDDEN], plain)
    ids = tokenizer(texts, padding=True)["input_ids"]
    cy = tokenizer.convert_tokens_to_ids("cy")
    i, j = ids[0].index(cy), ids[1].index(cy)
    # "cyan" (two word pieces) reads differently in context, identically in the word half.
    assert not torch.allclose(plain[0, i], plain[1, j], atol=1e-3)
    assert torch.equal(both[0, i, HIDDEN:], both[1, j, HIDDEN:])
    assert torch.equal(both[0, i + 1, HIDDEN:], both[1, j + 1, HIDDEN:])
    # unit scale per token, like the states it sits beside rather than the raw table's
    assert both[0, i, HIDDEN:].std().item() == pytest.approx(1.0, rel=0.05)
