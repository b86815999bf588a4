"""Google's other doors in-process: thinking and previews on generateContent, Vertex express paths,
aliases in the model list, and Imagen's :predict."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.routes.test_gemini_routes import body, google_error, image_of, png

THINK = {"thinkingConfig": {"includeThoughts": True}}


def parts(reply: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = reply["candidates"][0]["content"]["parts"]
    return result


def test_thinking_leads_with_a_thought_part_and_counts_its_tokens(client: TestClient) -> None:
    plain = client.post("/v1beta/models/tiny-sana:generateContent", json=body("a lighthouse", seed=3)).json()
    assert not any(p.get("thought") for p in parts(plain))
    assert "thoughtsTokenCount" not in plain["usageMetadata"]
    r = client.post("/v1beta/models/tiny-sana:generateContent", json=body("a lighthouse", seed=3, **THINK))
    reply = r.json()
    thought, *rest = parts(reply)
    assert thought["thought"] is True and "a lighthouse" in thought["text"]
    assert not any(p.get("thought") for p in rest) and any("inlineData" in p for p in rest)
    usage = reply["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0
    assert (
        usage["totalTokenCount"]
        == usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage["thoughtsTokenCount"]
    )


def sse_chunks(text: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_a_thinking_stream_sends_the_plan_and_previews_as_thoughts_before_the_image(client: TestClient) -> None:
    r = client.post(
        "/v1beta/models/tiny-sana:streamGenerateContent?alt=sse",
        json=body("a lighthouse", imageConfig={"imageSize": "512"}, **THINK),
    )
    chunks = sse_chunks(r.text)
    first = [p for c in chunks[:-1] for p in c["candidates"][0]["content"]["parts"]]
    assert all(p["thought"] for p in first)
    assert "text" in first[0] and any("inlineData" in p for p in first[1:])
    final = parts(chunks[-1])
    assert not any(p.get("thought") for p in final) and chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    preview = next(p for p in first if "inlineData" in p)
    assert Image.open(io.BytesIO(base64.b64decode(preview["inlineData"]["data"]))).size == (512, 512)
    # Without the flag the stream is as before: one chunk.
    plain = client.post("/v1beta/models/tiny-sana:streamGenerateContent?alt=sse", json=body("a lighthouse"))
    assert len(sse_chunks(plain.text)) == 1


def test_vertex_express_paths_answer_as_the_developer_api_does(client: TestClient) -> None:
    base = "/v1beta1/publishers/google/models"
    listed = client.get(base).json()
    assert listed["models"][0]["name"] == "publishers/google/models/tiny-sana"
    assert client.get(f"{base}/tiny-klein").json()["baseModelId"] == "tiny-klein"
    reply = client.post(f"{base}/tiny-sana:generateContent", json=body(imageConfig={"imageSize": "512"})).json()
    assert image_of(reply).size == (512, 512) and reply["modelVersion"] == "tiny-sana"
    assert client.post(f"{base}/tiny-sana:countTokens", json=body()).json()["totalTokens"] > 0
    google_error(client.post(f"{base}/nope:generateContent", json=body()), 404, "NOT_FOUND")


def test_the_model_list_is_also_an_openai_list(client: TestClient) -> None:
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list"
    assert [m["id"] for m in listed["data"]] == [m["name"].removeprefix("models/") for m in listed["models"]]


# -- Imagen :predict ------------------------------------------------------------------------------


def predict(client: TestClient, model: str, payload: dict[str, Any], base: str = "/v1beta/models") -> Any:
    return client.post(f"{base}/{model}:predict", json=payload)


def prediction_images(reply: dict[str, Any]) -> list[Image.Image]:
    out = []
    for p in reply["predictions"]:
        assert "-" not in p["bytesBase64Encoded"] and "_" not in p["bytesBase64Encoded"]  # standard base64
        out.append(Image.open(io.BytesIO(base64.b64decode(p["bytesBase64Encoded"]))))
    return out


def test_predict_generates_with_imagens_parameters(client: TestClient) -> None:
    payload = {
        "instances": [{"prompt": "a harbour"}],
        "parameters": {"sampleCount": 2, "aspectRatio": "16:9", "sampleImageSize": "1K", "seed": 7,
                       "outputOptions": {"mimeType": "image/jpeg", "compressionQuality": 60},
                       "negativePrompt": "blur", "personGeneration": "allow_adult", "addWatermark": False},
    }  # fmt: skip
    r = predict(client, "tiny-sana", payload, "/v1beta1/publishers/google/models")
    assert r.status_code == 200, r.text
    images = prediction_images(r.json())
    assert [im.size for im in images] == [(1376, 768)] * 2 and images[0].format == "JPEG"
    assert {p["mimeType"] for p in r.json()["predictions"]} == {"image/jpeg"}
    assert "prompt" not in r.json()["predictions"][0]


def test_predict_takes_open_webuis_object_instances_and_litellms_image_size(client: TestClient) -> None:
    payload = {"instances": {"prompt": "a kite"}, "parameters": {"sampleCount": 1, "imageSize": "512",
               "outputOptions": {"mimeType": "image/png"}}}  # fmt: skip
    images = prediction_images(predict(client, "tiny-sana", payload).json())
    assert [im.size for im in images] == [(512, 512)]


def test_predict_makes_four_images_by_default_and_returns_an_enhanced_prompt(client: TestClient) -> None:
    r = predict(client, "tiny-sana", {"instances": [{"prompt": "a kite"}], "parameters": {"enhancePrompt": True,
                "sampleImageSize": "512"}})  # fmt: skip
    reply = r.json()
    assert len(reply["predictions"]) == 4
    assert all(p["prompt"] for p in reply["predictions"])


def test_predict_edits_with_a_white_mask_keeping_the_rest(client: TestClient) -> None:
    source = Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    buf = io.BytesIO()
    source.save(buf, format="PNG")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    mbuf = io.BytesIO()
    mask.save(mbuf, format="PNG")
    raw = {"bytesBase64Encoded": base64.b64encode(buf.getvalue()).decode(), "mimeType": "image/png"}
    refs = [
        {"referenceImage": raw, "referenceId": 1, "referenceType": "REFERENCE_TYPE_RAW"},
        {"referenceImage": {"bytesBase64Encoded": base64.b64encode(mbuf.getvalue()).decode()}, "referenceId": 2,
         "referenceType": "REFERENCE_TYPE_MASK", "maskImageConfig": {"maskMode": "MASK_MODE_USER_PROVIDED"}},
        {"referenceImage": raw, "referenceId": 3, "referenceType": "REFERENCE_TYPE_STYLE",
         "styleImageConfig": {"style_description": "watercolor"}},
    ]  # fmt: skip
    r = predict(client, "tiny-klein", {"instances": [{"prompt": "a boat", "referenceImages": refs}],
                "parameters": {"sampleCount": 1, "editMode": "EDIT_MODE_INPAINT_INSERTION"}})  # fmt: skip
    assert r.status_code == 200, r.text
    (out,) = prediction_images(r.json())
    got = np.asarray(out.convert("RGB"))
    keep = np.asarray(mask) == 0
    assert got.shape == (64, 64, 3) and np.array_equal(got[keep], np.asarray(source)[keep])


@pytest.mark.parametrize(
    ("model", "payload", "needle"),
    [
        ("tiny-sana", {"instances": [{"prompt": "a"}, {"prompt": "b"}]}, "one per request"),
        ("tiny-sana", {"instances": [{"prompt": "a"}], "parameters": {"storageUri": "gs://b"}}, "Cloud Storage"),
        ("tiny-sana", {"instances": [{"prompt": "a"}], "parameters": {"sampleCount": 9}}, "between 1 and 4"),
        ("tiny-sana", {"instances": [{}]}, "prompt is missing"),
        ("tiny-sana", {"instances": [{"prompt": "a"}], "parameters": {"outputOptions": {"mimeType": "image/gif"}}},
         "image/gif"),
        ("tiny-klein", {"instances": [{"prompt": "a", "referenceImages": [
            {"referenceId": 1, "referenceType": "REFERENCE_TYPE_RAW",
             "referenceImage": {"bytesBase64Encoded": png((32, 32))}},
            {"referenceId": 2, "referenceType": "REFERENCE_TYPE_MASK",
             "maskImageConfig": {"maskMode": "MASK_MODE_BACKGROUND"}}]}]}, "automatic segmentation"),
        ("tiny-klein", {"instances": [{"prompt": "a", "referenceImages": [
            {"referenceId": 1, "referenceType": "REFERENCE_TYPE_CONTROL",
             "referenceImage": {"bytesBase64Encoded": png((32, 32))},
             "controlImageConfig": {"controlType": "CONTROL_TYPE_CANNY", "computeControl": True}}]}]},
         "control images"),
        ("tiny-sana", {"instances": [{"image": {"bytesBase64Encoded": png((32, 32))}}],
                       "parameters": {"mode": "upscale", "upscaleConfig": {"upscaleFactor": "x2"}}}, "not an upscaler"),
        ("tiny-sana", {"instances": [{"prompt": "a"}], "parameters": {"bogus": 1}}, "Unknown name"),
    ],
)  # fmt: skip
def test_predict_refuses_what_it_cannot_do_in_googles_words(
    client: TestClient, model: str, payload: dict[str, Any], needle: str
) -> None:
    err = google_error(predict(client, model, payload), 400, "INVALID_ARGUMENT")
    assert needle in err["message"]


def test_predict_of_an_unknown_model_is_404(client: TestClient) -> None:
    google_error(predict(client, "imagen-9", {"instances": [{"prompt": "a"}]}), 404, "NOT_FOUND")


@pytest.mark.parametrize("route", ["/v1beta/models", "/v1beta/files", "/v1beta/batches"])
@pytest.mark.parametrize("token", ["!!!", "bm90IGEgbnVtYmVy", "LTU"])
def test_a_page_token_that_cannot_be_read_is_400_on_every_list(client: TestClient, route: str, token: str) -> None:
    google_error(client.get(route, params={"pageToken": token}), 400, "INVALID_ARGUMENT")
