"""API keys, as Google checks them: `x-goog-api-key`, `?key=`, or `Authorization: Bearer`."""

from __future__ import annotations

import hmac

from fastapi import Request

from plantain.errors import ApiError
from plantain.settings import Settings

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


def check_key(request: Request, settings: Settings) -> str | None:
    """The caller's key, or ApiError: 403 when none is given, 400 API_KEY_INVALID when wrong."""
    if settings.auth == "off":
        return None
    key = request_key(request)
    if key is None:
        raise ApiError(403, "PERMISSION_DENIED", MISSING_KEY)
    if not any(hmac.compare_digest(key, k) for k in settings.keys):
        raise ApiError(
            400,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
            [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
            ],
        )
    return key
