"""One text state per word (text_encoder.word_slots): a word's WordPiece pieces averaged into one slot."""

from __future__ import annotations

import pytest
import torch

from plantain.mini.text_encoder import HIDDEN, encode_texts, load_text_encoder, word_slots
from plantain.mini.train import all_edit_instructions


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    return load_text_encoder()


def test_a_split_word_becomes_the_mean_of_its_pieces_and_the_rest_is_untouched(encoder) -> None:  # type: ignore[no-untyped-def]
    model, tokenizer = encoder
    texts = ["make the square cyan", "make the square blue"]
    tokens, token_mask = encode_texts(model, tokenizer, texts)
    words, word_mask = encode_texts(model, tokenizer, texts, per_word=True)
    # [CLS] make the square cy ##an [SEP] -> [CLS] make the square cyan [SEP]
    assert token_mask[0].sum() == 7 and word_mask[0].sum() == 6
    assert torch.equal(word_mask[0], word_mask[1])
    assert torch.allclose(words[0, :4], tokens[0, :4])
    assert torch.allclose(words[0, 4], tokens[0, 4:6].mean(0), atol=1e-6)
    assert torch.allclose(words[0, 5], tokens[0, 6])
    assert words[0, 6].abs().max() == 0  # the freed slot is empty and masked out
    # a text whose words are all single pieces keeps its states
    assert torch.allclose(words[1, :6], tokens[1, :6]) and torch.equal(word_mask[1], token_mask[1])


def test_every_instruction_of_the_world_has_one_slot_per_word(encoder) -> None:  # type: ignore[no-untyped-def]
    model, tokenizer = encoder
    texts = [*[t for t in all_edit_instructions() if "cyan" in t][:64], "four cyan diamonds on a sky background"]
    states, mask = encode_texts(model, tokenizer, texts, word_embeddings=True, per_word=True)
    assert states.shape[-1] == 2 * HIDDEN
    assert mask.sum(1).tolist() == [len(t.split()) + 2 for t in texts]


def test_word_slots_on_hand_made_states() -> None:
    states = torch.arange(2 * 5 * 2, dtype=torch.float32).view(2, 5, 2)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    # text 0: special, word 0 in three pieces, special; text 1: special, word 0, special, padding
    pooled, out_mask = word_slots(states, mask, [[None, 0, 0, 0, None], [None, 0, None, None, None]])
    assert out_mask.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0]]
    assert torch.equal(pooled[0, 1], states[0, 1:4].mean(0)) and torch.equal(pooled[0, 2], states[0, 4])
    assert torch.equal(pooled[1, :3], states[1, :3]) and pooled[:, 3:].abs().max() == 0
