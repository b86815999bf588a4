"""What a request costs at the catalog's price table, in integer micro-dollars.

Images are priced by the image at their size tier (the batch price for batch work); prompt tokens at
the input price and text written (captions, replies, thoughts) at the output price. The image tokens
of the answer are what the per-image price pays for, so they are not charged again. Fractions of a
micro-dollar are rounded once per request, half up, so a request's cost is the same integer in its
reply and in the ledger.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from plantain.core.catalog import ModelEntry
from plantain.core.results import Usage

MICRO = Decimal(1_000_000)


def image_price_micro(entry: ModelEntry, tier: str, batch: bool) -> Decimal:
    table = entry.prices.batch_per_1000_images if batch and entry.prices.batch_per_1000_images else None
    table = table or entry.prices.per_1000_images
    return Decimal(str(table.get(tier, 0.0))) * MICRO / 1000


def cost_micro_usd(entry: ModelEntry, usage: Usage, batch: bool = False) -> int:
    images = image_price_micro(entry, usage.size_tier, batch) * usage.images if usage.images else Decimal(0)
    prompt = Decimal(str(entry.prices.input_per_million_tokens)) * usage.prompt_tokens
    written = Decimal(str(entry.prices.output_per_million_tokens)) * (usage.output_text_tokens + usage.thought_tokens)
    return int((images + prompt + written).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def usd(micro: int) -> str:
    """Micro-dollars as a dollar amount with every digit ("0.000034")."""
    return f"{Decimal(micro) / MICRO:.6f}"
