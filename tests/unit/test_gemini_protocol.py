from __future__ import annotations

import base64

import pytest

from plantain.errors import ApiError
from plantain.protocol.gemini import b64decode_lenient, parse_count, parse_generate, to_core, usage_metadata


def test_camel_and_snake_case_at_any_depth() -> None:
    data = base64.urlsafe_b64encode(b"\xfb\xff\xbe").decode()
    body = {
        "contents": [{"parts": [{"inlineData": {"mime_type": "image/png", "data": data}}, {"text": "make it blue"}]}],
        "system_instruction": {"role": "user", "parts": [{"text": "be exact"}]},
        "generationConfig": {
            "response_modalities": ["Image", "text"],
            "imageConfig": {"aspect_ratio": "16:9", "imageSize": "2K"},
            "candidate_count": 2,
            "seed": 7,
            "thinkingConfig": {"include_thoughts": True, "thinking_level": "HIGH"},
        },
    }
    req = to_core("m", parse_generate(body))
    assert req.images[0].data == b"\xfb\xff\xbe"
    assert req.system == "be exact"
    assert req.modalities == frozenset({"IMAGE", "TEXT"})
    assert (req.aspect_ratio, req.image_size, req.candidate_count, req.seed) == ("16:9", "2K", 2, 7)


def test_legacy_integer_enums() -> None:
    req = to_core(
        "m",
        parse_generate({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"responseModalities": [2, 1]}}),
    )
    assert req.modalities == frozenset({"IMAGE", "TEXT"})


@pytest.mark.parametrize("encoded", ["+/+/c2lnLTE=", "-_-_c2lnLTE=", "-_-_c2lnLTE", "+/+/c2lnLTE"])
def test_base64_is_decoded_leniently(encoded: str) -> None:
    assert b64decode_lenient(encoded, "x") == b"\xfb\xff\xbfsig-1"


def test_unknown_field_names_the_field() -> None:
    with pytest.raises(ApiError) as info:
        parse_generate({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"foo": 1}})
    assert info.value.http_code == 400
    assert "Unknown name \"foo\" at 'generation_config'" in info.value.message
    assert info.value.details[0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"


def test_count_tokens_takes_exactly_one_form() -> None:
    parse_count({"contents": [{"parts": [{"text": "x"}]}]})
    parse_count({"generateContentRequest": {"contents": [{"parts": [{"text": "x"}]}]}})
    with pytest.raises(ApiError):
        parse_count({})


def test_thought_parts_are_not_part_of_the_prompt() -> None:
    body = {"contents": [{"role": "model", "parts": [{"text": "thinking...", "thought": True}, {"text": "done"}]}]}
    assert to_core("m", parse_generate(body)).turns[0].texts == ["done"]


def test_usage_adds_up() -> None:
    u = usage_metadata(7, 1120, 2240)
    assert u["promptTokenCount"] == 1127 and u["candidatesTokenCount"] == 2240 and u["totalTokenCount"] == 3367
