"""API keys, as Google checks them: `x-goog-api-key`, `?key=`, or `Authorization: Bearer`."""

from __future__ import annotations

import hmac

from fastapi import Request

from plantain.api.security import AuthFailures
from plantain.core.errors import ErrorKind, ServiceError
from plantain.core.settings import Settings
from plantain.store.keys import KeyInfo, KeyStore

MISSING_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)


def request_key(request: Request) -> str | None:
    key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def check_key(request: Request, settings: Settings, keys: KeyStore | None) -> KeyInfo | None:
    """The caller's key, or a core error: unauthenticated when none is given, key_invalid when wrong
    or revoked. Keys from PLANTAIN_API_KEYS have no limits and no row (None); keys made with
    `plantain keys create` are looked up in the store on every request, so a revoked key is refused
    at once by every process sharing the database."""
    if settings.auth == "off":
        return None
    failures: AuthFailures | None = getattr(request.app.state, "auth_failures", None)
    client = request.client.host if request.client else ""
    if failures is not None:
        failures.check(client)
    key = request_key(request)
    if key is None:
        raise ServiceError(ErrorKind.UNAUTHENTICATED, MISSING_KEY)
    if any(hmac.compare_digest(key, k) for k in settings.keys):
        return None
    info = keys.verify(key) if keys is not None else None
    if info is None:
        if failures is not None:
            failures.failed(client)
        raise ServiceError(ErrorKind.KEY_INVALID, "API key not valid. Please pass a valid API key.")
    return info
