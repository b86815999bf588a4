"""Google's Files and Batch APIs and OpenAI's share two paths, /v1/files and /v1/batches. This
middleware sends OpenAI clients' requests to the OpenAI routes, which live under /openai/v1 (a base
URL that OpenAI clients may also use directly, with no guessing).

A request is OpenAI's when it names an OpenAI id ("file-...", "batch_..."), when it is a POST to
the collection itself (Google creates files by resumable upload and batches under models/), or when
it carries a bearer token and no mark of a Google client (x-goog-api-key, x-goog-api-client, ?key=).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from plantain.protocol.openai_batches import BATCH_PREFIX, FILE_PREFIX

OPENAI_ROOT = "/openai/v1"
SHARED = ("files", "batches")


def is_openai(scope: Scope) -> bool:
    path: str = scope["path"]
    if not path.startswith("/v1/"):
        return False
    segments = path[len("/v1/") :].split("/")
    if segments[0] not in SHARED:
        return False
    if len(segments) > 1 and segments[1].startswith((FILE_PREFIX, BATCH_PREFIX)):
        return True
    if len(segments) == 1 and scope["method"] == "POST":
        return True
    headers = dict(scope["headers"])
    if b"x-goog-api-key" in headers or b"x-goog-api-client" in headers:
        return False
    if "key" in parse_qs(scope.get("query_string", b"").decode("latin-1")):
        return False
    auth: bytes = headers.get(b"authorization", b"")
    return auth.lower().startswith(b"bearer ")


class DialectPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_openai(scope):
            # In place: the middlewares outside this one read the routed scope (its route) too.
            scope["path"] = OPENAI_ROOT + scope["path"][len("/v1") :]
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)
