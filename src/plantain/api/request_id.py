"""Every response carries `x-request-id` (the OpenAI SDK exposes it as `_request_id`): the client's
own when it sent one, else a new random one, so a user's report can be matched to the server's log."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plantain.api.logs import REQUEST_ID


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"")
        # A client's id is kept only when it is short and printable: it ends up in logs and headers.
        printable = 0 < len(sent) <= 128 and all(33 <= c < 127 for c in sent)
        rid = sent if printable else f"req_{secrets.token_hex(12)}".encode()
        scope.setdefault("state", {})["request_id"] = rid.decode()
        REQUEST_ID.set(rid.decode())  # for the logs of everything this request does

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
            await send(message)

        await self.app(scope, receive, with_id)
