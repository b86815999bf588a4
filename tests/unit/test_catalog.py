from __future__ import annotations

from pathlib import Path

import pytest

from plantain.backends.families import check_entry
from plantain.core.catalog import CatalogError, load_catalog
from plantain.core.sizes import ASPECT_RATIOS, closest_ratio, pixel_size

ROOT = Path(__file__).resolve().parents[2]


def test_packaged_catalog_serves_the_hosted_ids_and_prices() -> None:
    catalog = load_catalog()
    lite = catalog.get("models/gemini-3.1-flash-lite-image")
    full = catalog.get("gemini-3.1-flash-image-preview")
    assert lite is not None and full is not None and catalog.get("plantain-mini") is not None
    assert lite.sizes == ["1K"] and full.sizes == ["512", "1K", "2K", "4K"]
    assert lite.prices.per_1000_images["1K"] == 0.034
    assert full.prices.per_1000_images == {"512": 0.067, "1K": 0.067, "2K": 0.101, "4K": 0.151}
    assert full.prices.batch_per_1000_images["4K"] == 0.076
    assert lite.input_token_limit == 65536 and lite.output_token_limit == 4096
    assert catalog.get("unknown") is None


def test_example_catalog_maps_real_checkpoints() -> None:
    catalog = load_catalog(ROOT / "docs" / "catalog.example.toml")
    assert catalog.models["gemini-3.1-flash-lite-image"].checkpoint == "black-forest-labs/FLUX.2-klein-4B"
    assert catalog.models["gemini-3.1-flash-image-preview"].family == "sana"
    for entry in catalog.models.values():
        check_entry(entry.id, entry.family, entry.can_edit)
        assert entry.licence


def test_bad_catalogs_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "c.toml"
    bad.write_text('[models.x]\ndisplay_name = "x"\nfamily = "mini"\ncheckpoint = "c"\nsizes = ["3K"]\n'
                   "[models.x.prices]\ninput_per_million_tokens = 0\noutput_per_million_tokens = 0\n")  # fmt: skip
    with pytest.raises(CatalogError, match="unknown size"):
        load_catalog(bad)
    bad.write_text('[models.x]\ndisplay_name = "x"\nfamily = "mini"\ncheckpoint = "c"\nedit_guidance_scale = -1\n'
                   "[models.x.prices]\ninput_per_million_tokens = 0\noutput_per_million_tokens = 0\n")  # fmt: skip
    with pytest.raises(CatalogError, match="edit_guidance_scale"):
        load_catalog(bad)
    bad.write_text("not toml [")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")
    with pytest.raises(ValueError, match="cannot edit"):
        check_entry("x", "sana", True)


def test_google_size_table() -> None:
    assert pixel_size("1:1", "1K") == (1024, 1024)
    assert pixel_size("16:9", "4K") == (5504, 3072)
    assert pixel_size("9:16", "0.5K") == (384, 688)
    for ratio in ASPECT_RATIOS:
        w, h = (int(v) for v in ratio.split(":"))
        for tier in ("512", "1K", "2K", "4K"):
            pw, ph = pixel_size(ratio, tier)
            assert pw % 8 == 0 and ph % 8 == 0
            assert abs((pw / ph) / (w / h) - 1) < 0.05
    assert closest_ratio(300, 200, list(ASPECT_RATIOS)) == "3:2"
