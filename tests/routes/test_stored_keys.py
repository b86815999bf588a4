"""Keys made in the store open every dialect's routes, until they are revoked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from plantain.store.keys import KeyStore


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
