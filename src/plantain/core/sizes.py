"""Output pixel sizes by aspect ratio and size tier: Google's table for its Gemini 3 image models.

The 512 tier and the four extreme ratios follow the same rule (about the tier's pixel count, sides
that are multiples of 8); see the Gemini wire-format notes in docs/.
"""

from __future__ import annotations

import math

ASPECT_RATIOS: tuple[str, ...] = (
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1", "1:8", "8:1",
)  # fmt: skip
SIZE_TIERS: tuple[str, ...] = ("512", "1K", "2K", "4K")
SIZE_ALIASES = {"0.5K": "512"}

_TABLE: dict[str, dict[str, tuple[int, int]]] = {
    "1:1": {"512": (512, 512), "1K": (1024, 1024), "2K": (2048, 2048), "4K": (4096, 4096)},
    "2:3": {"512": (424, 632), "1K": (848, 1264), "2K": (1696, 2528), "4K": (3392, 5056)},
    "3:2": {"512": (632, 424), "1K": (1264, 848), "2K": (2528, 1696), "4K": (5056, 3392)},
    "3:4": {"512": (448, 600), "1K": (896, 1200), "2K": (1792, 2400), "4K": (3584, 4800)},
    "4:3": {"512": (600, 448), "1K": (1200, 896), "2K": (2400, 1792), "4K": (4800, 3584)},
    "4:5": {"512": (464, 576), "1K": (928, 1152), "2K": (1856, 2304), "4K": (3712, 4608)},
    "5:4": {"512": (576, 464), "1K": (1152, 928), "2K": (2304, 1856), "4K": (4608, 3712)},
    "9:16": {"512": (384, 688), "1K": (768, 1376), "2K": (1536, 2752), "4K": (3072, 5504)},
    "16:9": {"512": (688, 384), "1K": (1376, 768), "2K": (2752, 1536), "4K": (5504, 3072)},
    "21:9": {"512": (792, 336), "1K": (1584, 672), "2K": (3168, 1344), "4K": (6336, 2688)},
    "1:4": {"512": (256, 1024), "1K": (512, 2048), "2K": (1024, 4096), "4K": (2048, 8192)},
    "4:1": {"512": (1024, 256), "1K": (2048, 512), "2K": (4096, 1024), "4K": (8192, 2048)},
    "1:8": {"512": (192, 1536), "1K": (384, 3072), "2K": (768, 6144), "4K": (1536, 12288)},
    "8:1": {"512": (1536, 192), "1K": (3072, 384), "2K": (6144, 768), "4K": (12288, 1536)},
}


def pixel_size(aspect_ratio: str, tier: str) -> tuple[int, int]:
    """(width, height) for a ratio and a tier; both must be valid names."""
    return _TABLE[aspect_ratio][SIZE_ALIASES.get(tier, tier)]


def closest_ratio(width: int, height: int, allowed: tuple[str, ...] | list[str]) -> str:
    """The allowed ratio nearest to an image's own (compared in log space, so 2:1 and 1:2 are alike far)."""
    target = math.log(width / height)

    def distance(r: str) -> float:
        w, h = (int(v) for v in r.split(":"))
        return abs(math.log(w / h) - target)

    return min(allowed, key=distance)


def tier_area(tier: str) -> int:
    """The most pixels an image of this tier has, over every aspect ratio."""
    tier = SIZE_ALIASES.get(tier, tier)
    return max(w * h for sizes in _TABLE.values() for w, h in [sizes[tier]])


def tier_for_pixels(width: int, height: int, tiers: list[str] | tuple[str, ...]) -> str | None:
    """The smallest of `tiers` whose images are at least this many pixels (its price tier), or None
    when the size is beyond every one of them."""
    fitting = [t for t in tiers if tier_area(t) >= width * height]
    return min(fitting, key=tier_area) if fitting else None
