from __future__ import annotations

import base64

import pytest

from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.results import Usage
from plantain.protocol.gemini import (
    b64decode_lenient,
    error_body,
    parse_count,
    parse_generate,
    to_core,
    usage_metadata,
)


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
    with pytest.raises(ServiceError) as info:
        parse_generate({"contents": [{"parts": [{"text": "x"}]}], "generationConfig": {"foo": 1}})
    assert info.value.kind is ErrorKind.INVALID and info.value.field == "generation_config.foo"
    assert "Unknown name \"foo\" at 'generation_config'" in info.value.message
    body = error_body(info.value)["error"]
    assert body["code"] == 400 and body["status"] == "INVALID_ARGUMENT"
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.BadRequest"
    assert body["details"][0]["fieldViolations"][0]["field"] == "generation_config.foo"


@pytest.mark.parametrize(
    ("error", "code", "status", "detail"),
    [
        (ServiceError(ErrorKind.EXHAUSTED, "full", retry_after=3), 429, "RESOURCE_EXHAUSTED", "RetryInfo"),
        (ServiceError(ErrorKind.KEY_INVALID, "bad key"), 400, "INVALID_ARGUMENT", "ErrorInfo"),
        (ServiceError(ErrorKind.UNAUTHENTICATED, "no key"), 403, "PERMISSION_DENIED", None),
        (ServiceError(ErrorKind.DEADLINE, "late"), 504, "DEADLINE_EXCEEDED", None),
        (ServiceError(ErrorKind.UNAVAILABLE, "down"), 503, "UNAVAILABLE", None),
    ],
)
def test_core_errors_render_in_googles_shape(error: ServiceError, code: int, status: str, detail: str | None) -> None:
    body = error_body(error)["error"]
    assert (body["code"], body["status"], body["message"]) == (code, status, error.message)
    types = [d["@type"].rsplit(".", 1)[-1] for d in body.get("details", [])]
    assert types == ([detail] if detail else [])
    if detail == "RetryInfo":
        assert body["details"][0]["retryDelay"] == "3s"


def test_count_tokens_takes_exactly_one_form() -> None:
    parse_count({"contents": [{"parts": [{"text": "x"}]}]})
    parse_count({"generateContentRequest": {"contents": [{"parts": [{"text": "x"}]}]}})
    with pytest.raises(ServiceError):
        parse_count({})


def test_thought_parts_are_not_part_of_the_prompt() -> None:
    body = {"contents": [{"role": "model", "parts": [{"text": "thinking...", "thought": True}, {"text": "done"}]}]}
    assert to_core("m", parse_generate(body)).turns[0].texts == ["done"]


def test_usage_adds_up() -> None:
    u = usage_metadata(Usage(7, 1120, 2240))
    assert u["promptTokenCount"] == 1127 and u["candidatesTokenCount"] == 2240 and u["totalTokenCount"] == 3367
