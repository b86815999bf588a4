"""Keys made in the store open every dialect's routes, until they are revoked."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from plantain.store.keys import KeyStore, Limits
from plantain.store.models import LedgerRow


def test_a_stored_key_works_until_it_is_revoked(client: TestClient) -> None:
    keys: KeyStore = client.app.state.keys  # type: ignore[attr-defined]
    _, secret = keys.create("route-test")
    google = {"x-goog-api-key": secret}
    openai = {"authorization": f"Bearer {secret}", "x-goog-api-key": ""}
    assert client.get("/v1beta/models", headers=google).status_code == 200
    r = client.post("/v1/images/generations", json={"prompt": "a boat", "size": "64x64"}, headers=openai)
    assert r.status_code == 200, r.text
    keys.revoke("route-test")
    refused = client.get("/v1beta/models", headers=google)
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["reason"] == "API_KEY_INVALID"
    r = client.post("/v1/images/generations", json={"prompt": "a boat"}, headers=openai)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def ledger_rows(client: TestClient) -> list[LedgerRow]:
    keys: KeyStore = client.app.state.keys  # type: ignore[attr-defined]
    with keys.db.session() as session:
        return list(session.scalars(select(LedgerRow).order_by(LedgerRow.id)))


def test_each_request_leaves_one_ledger_row_that_agrees_with_its_reply(client: TestClient) -> None:
    keys: KeyStore = client.app.state.keys  # type: ignore[attr-defined]
    info, secret = keys.create("ledger-test")
    r = client.post(
        "/v1beta/models/tiny-sana:generateContent",
        json={"contents": [{"parts": [{"text": "a kite"}]}], "generationConfig": {"imageConfig": {"imageSize": "512"}}},
        headers={"x-goog-api-key": secret, "x-request-id": "ledger-1"},
    )
    assert r.status_code == 200, r.text
    (row,) = [row for row in ledger_rows(client) if row.request_id == "ledger-1"]
    usage = r.json()["usageMetadata"]
    assert row.key_id == info.id and row.dialect == "gemini" and row.outcome == "ok" and row.images == 1
    assert row.prompt_text_tokens + row.prompt_image_tokens == usage["promptTokenCount"]
    assert row.output_image_tokens + row.output_text_tokens == usage["candidatesTokenCount"]
    assert r.headers["x-plantain-cost-usd"] == f"{row.cost_micro_usd / 1e6:.6f}"
    r = client.post(
        "/v1/images/generations",
        json={"prompt": "two kites", "model": "tiny-sana", "size": "512x512", "n": 2},
        headers={"authorization": f"Bearer {secret}", "x-goog-api-key": "", "x-request-id": "ledger-3"},
    )
    (row,) = [row for row in ledger_rows(client) if row.request_id == "ledger-3"]
    used = r.json()["usage"]
    assert row.dialect == "openai" and row.images == 2 and row.size_tier == "512"
    assert used["input_tokens"] == row.prompt_text_tokens + row.prompt_image_tokens
    assert used["output_tokens_details"]["image_tokens"] == row.output_image_tokens
    assert r.headers["x-plantain-cost-usd"] == f"{row.cost_micro_usd / 1e6:.6f}" and row.cost_micro_usd > 0
    bad = client.post(
        "/v1beta/models/tiny-sana:generateContent",
        json={"contents": [{"parts": [{"text": "a kite"}]}], "generationConfig": {"candidateCount": 9}},
        headers={"x-goog-api-key": secret, "x-request-id": "ledger-2"},
    )
    assert bad.status_code == 400  # refused while planning: before admission, so no row at all
    assert not [row for row in ledger_rows(client) if row.request_id == "ledger-2"]


def test_quotas_answer_429_in_each_dialects_words(client: TestClient) -> None:
    keys: KeyStore = client.app.state.keys  # type: ignore[attr-defined]
    _, secret = keys.create("quota-test", Limits(images_per_day=1, models=("tiny-sana",)))
    body = {"contents": [{"parts": [{"text": "a kite"}]}], "generationConfig": {"imageConfig": {"imageSize": "512"}}}
    google = {"x-goog-api-key": secret}
    assert client.post("/v1beta/models/tiny-sana:generateContent", json=body, headers=google).status_code == 200
    r = client.post("/v1beta/models/tiny-sana:generateContent", json=body, headers=google)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    error = r.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    kinds = {d["@type"].rsplit(".", 1)[1]: d for d in error["details"]}
    assert kinds["QuotaFailure"]["violations"][0]["quotaId"] == "images_per_day"
    assert kinds["RetryInfo"]["retryDelay"].endswith("s")
    openai = {"authorization": f"Bearer {secret}", "x-goog-api-key": ""}
    r = client.post(
        "/v1/images/generations", json={"prompt": "a", "model": "tiny-sana", "size": "64x64"}, headers=openai
    )
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limit_exceeded"
    r = client.post("/v1/images/generations", json={"prompt": "a", "model": "tiny-klein"}, headers=openai)
    assert r.status_code == 403 and "may not use" in r.json()["error"]["message"]
