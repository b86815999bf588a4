"""The safety stage against a real `plantain serve`: a prompt blocklist and an image classifier hook
(tests/safety_hooks.py), answered in each dialect's own shape through the real SDKs, and never charged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from google import genai
from google.genai import errors, types

from tests.server_process import API_KEY, ledger_rows, server_process

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::google.genai._common.ExperimentalWarning")]

MODEL = "gemini-3.1-flash-lite-image"
HEADERS = {"x-goog-api-key": API_KEY}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("safety")
    blocklist = folder / "blocklist.txt"
    blocklist.write_text("# the operator's own list\nforbidden fruit\n", encoding="utf-8")
    env = {
        "PLANTAIN_DATA_DIR": str(folder / "data"),
        "PLANTAIN_PROMPT_BLOCKLIST": str(blocklist),
        "PLANTAIN_IMAGE_CLASSIFIER": "tests.safety_hooks:WithholdRed",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    with server_process(env, log=folder / "server.log") as server:
        yield server.base, folder / "data"


@pytest.fixture(scope="module")
def gemini(served: tuple[str, Path]) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=served[0]))


@pytest.fixture(scope="module")
def oai(served: tuple[str, Path]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{served[0]}/v1", api_key=API_KEY, max_retries=0)


def outcomes(data: Path) -> list[tuple[str, int]]:
    return [(r.outcome, r.cost_micro_usd) for r in sorted(ledger_rows(data), key=lambda r: r.id)]


def test_a_blocked_prompt_is_prompt_feedback_and_free(gemini: genai.Client, served: tuple[str, Path]) -> None:
    before = len(outcomes(served[1]))
    r = gemini.models.generate_content(model=MODEL, contents="A Forbidden-Fruit, on a table")
    assert r.prompt_feedback is not None and r.prompt_feedback.block_reason == types.BlockedReason.BLOCKLIST
    assert r.prompt_feedback.block_reason_message
    assert not r.candidates
    assert r.usage_metadata is not None and (r.usage_metadata.prompt_token_count or 0) > 0
    assert not r.usage_metadata.candidates_token_count
    # Earlier turns are judged too, and the streamed answer says the same.
    history = [
        types.Content(role="user", parts=[types.Part(text="draw the forbidden fruit")]),
        types.Content(role="model", parts=[types.Part(text="ok")]),
        types.Content(role="user", parts=[types.Part(text="now a blue square")]),
    ]
    (chunk,) = list(gemini.models.generate_content_stream(model=MODEL, contents=history))
    assert chunk.prompt_feedback is not None and chunk.prompt_feedback.block_reason == types.BlockedReason.BLOCKLIST
    assert outcomes(served[1])[before:] == [("blocked", 0), ("blocked", 0)]


def test_a_withheld_image_is_image_safety_and_free(gemini: genai.Client, served: tuple[str, Path]) -> None:
    before = len(outcomes(served[1]))
    r = gemini.models.generate_content(model=MODEL, contents="a red circle")
    (candidate,) = r.candidates or []
    assert candidate.finish_reason == types.FinishReason.IMAGE_SAFETY
    assert not (candidate.content and candidate.content.parts)
    # The reason in words (finishMessage; google-genai's Developer API parser leaves it out).
    body = {"contents": [{"parts": [{"text": "a red circle"}]}]}
    raw = httpx.post(f"{served[0]}/v1beta/models/{MODEL}:generateContent", json=body, headers=HEADERS, timeout=60)
    assert raw.json()["candidates"][0]["finishMessage"] == "The image shows red, which this server withholds."
    # A stream shows no preview of an image it may withhold.
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    chunks = list(gemini.models.generate_content_stream(model=MODEL, contents="a red circle", config=config))
    parts = [p for c in chunks for cand in c.candidates or [] if cand.content for p in cand.content.parts or []]
    assert not any(p.inline_data for p in parts)
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY  # type: ignore[index]
    # What the classifier lets through is answered and charged as ever.
    ok = gemini.models.generate_content(model=MODEL, contents="a blue square")
    assert ok.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    assert any(p.inline_data for p in ok.candidates[0].content.parts)  # type: ignore[index,union-attr]
    rows = outcomes(served[1])[before:]
    assert rows[:3] == [("withheld", 0)] * 3
    assert rows[3][0] == "ok" and rows[3][1] > 0


def test_openai_content_policy_errors(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as blocked:
        oai.images.generate(model="gpt-image-1", prompt="the forbidden fruit")
    assert blocked.value.code == "content_policy_violation" and blocked.value.param == "prompt"
    with pytest.raises(openai.BadRequestError) as withheld:
        oai.images.generate(model="gpt-image-1", prompt="a red circle")
    assert withheld.value.code == "content_policy_violation"
    # Streamed: no partial image of it, an error event instead of a completed one.
    seen = []
    with pytest.raises(openai.APIError, match="withheld by the safety system"):
        for e in oai.images.generate(model="gpt-image-1", prompt="a red circle", stream=True, partial_images=2):
            seen.append(e.type)
    assert seen == []
    ok = oai.images.generate(model="gpt-image-1", prompt="a blue square")
    assert ok.data and ok.data[0].b64_json


def test_predict_rai_filtered_reason(served: tuple[str, Path]) -> None:
    client = genai.Client(vertexai=True, api_key=API_KEY, http_options=types.HttpOptions(base_url=served[0]))
    shown = client.models.generate_images(
        model="imagen-4.0-generate-001",
        prompt="a red circle",
        config=types.GenerateImagesConfig(number_of_images=1, include_rai_reason=True),
    )
    (image,) = shown.generated_images or []
    assert image.rai_filtered_reason and not (image.image and image.image.image_bytes)
    dropped = client.models.generate_images(model="imagen-4.0-generate-001", prompt="a red circle")
    assert not dropped.generated_images
    with pytest.raises(errors.ClientError) as blocked:
        client.models.generate_images(model="imagen-4.0-generate-001", prompt="forbidden fruit")
    assert blocked.value.code == 400 and "could not be submitted" in (blocked.value.message or "")


def test_a_batch_item_blocked_is_answered_and_not_charged(gemini: genai.Client, served: tuple[str, Path]) -> None:
    job = gemini.batches.create(
        model=MODEL,
        src=types.BatchJobSource(
            inlined_requests=[
                types.InlinedRequest(contents="forbidden fruit"),
                types.InlinedRequest(contents="a blue square"),
            ]
        ),
    )
    assert job.name
    for _ in range(600):
        job = gemini.batches.get(name=job.name)
        if job.state in (types.JobState.JOB_STATE_SUCCEEDED, types.JobState.JOB_STATE_FAILED):
            break
        import time

        time.sleep(0.1)
    assert job.state == types.JobState.JOB_STATE_SUCCEEDED
    answers = [r.response for r in job.dest.inlined_responses]  # type: ignore[union-attr]
    assert answers[0].prompt_feedback.block_reason == types.BlockedReason.BLOCKLIST  # type: ignore[union-attr]
    assert answers[1].candidates  # type: ignore[union-attr]
    charged = [
        r
        for r in ledger_rows(served[1])
        if r.dialect == "gemini-batch"
        and r.request_id.startswith(job.name.removeprefix("batches/").join(("batches/", "/")))
    ]
    assert len(charged) == 1 and charged[0].images == 1


def test_default_blocklist_and_a_policy_hook(tmp_path: Path) -> None:
    """The packaged list is on by default; PLANTAIN_PROMPT_POLICY replaces it."""
    env = {
        "PLANTAIN_PROMPT_POLICY": "tests.safety_hooks:no_dragons",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    with server_process(env) as server:
        body = {"contents": [{"parts": [{"text": "a green dragon"}]}]}
        r = httpx.post(
            f"{server.base}/v1beta/models/{MODEL}:generateContent",
            json=body,
            headers={"x-goog-api-key": API_KEY},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert r.json()["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
    with server_process({}) as server:
        body = {"contents": [{"parts": [{"text": "CSAM"}]}]}
        r = httpx.post(
            f"{server.base}/v1beta/models/{MODEL}:generateContent",
            json=body,
            headers={"x-goog-api-key": API_KEY},
            timeout=60,
        )
        assert json.loads(r.text)["promptFeedback"]["blockReason"] == "BLOCKLIST"
