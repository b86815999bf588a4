"""Page tokens of the list routes (models, files, batches): the offset of the next page, opaque to
the client; one that cannot be read is the client's mistake (a 400)."""

from __future__ import annotations

import base64
import binascii

from plantain.core.errors import invalid_argument


def page_start(token: str) -> int:
    if not token:
        return 0
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise invalid_argument("Invalid page token.", "page_token") from exc
    if start < 0:
        raise invalid_argument("Invalid page token.", "page_token")
    return start


def next_token(start: int) -> str:
    return base64.urlsafe_b64encode(str(start).encode()).decode()
