"""Webhook notices for batch jobs: a POST to each of the job's `webhookConfig.uris` when it ends.

Notices go only to hosts the operator lists in PLANTAIN_WEBHOOK_HOSTS (none by default): a job's
creator names the URLs, and an image server must not become a way to send requests into the
operator's network. Other URLs are kept with the job and never contacted. Delivery is at least
once: a job is marked notified only when every allowed URL answered 2xx; until then the runner
retries with backoff, for up to a day. Notices follow Standard Webhooks: `webhook-id`,
`webhook-timestamp` and, when PLANTAIN_WEBHOOK_SECRET is set, `webhook-signature` (v1, HMAC-SHA256
of "id.timestamp.body").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from plantain.core.settings import Settings
from plantain.store.batches import BatchStore
from plantain.store.models import Batch

log = logging.getLogger("plantain.webhooks")
EVENTS = {
    "BATCH_STATE_SUCCEEDED": "batch.succeeded",
    "BATCH_STATE_FAILED": "batch.failed",
    "BATCH_STATE_CANCELLED": "batch.cancelled",
    "BATCH_STATE_EXPIRED": "batch.expired",
}
GIVE_UP_AFTER = timedelta(days=1)


def allowed(uri: str, hosts: frozenset[str]) -> bool:
    """Whether `uri`'s host (any port) or host:port is one the operator listed."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("http", "https"):
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return host in hosts or f"{host}:{port}" in hosts


def signing_key(secret: str) -> bytes:
    # Standard Webhooks secrets are "whsec_" and base64; any other string is used as it is.
    return base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()


def notice(batch: Batch, config: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": f"batches/{batch.id}", "name": f"batches/{batch.id}", "state": batch.state}
    if batch.output_file:
        data["output_file"] = f"files/{batch.output_file}"
    if config.get("user_metadata") is not None:
        data["user_metadata"] = config["user_metadata"]
    ended = batch.end_at or datetime.now(UTC)
    return {"type": EVENTS.get(batch.state, "batch.updated"), "timestamp": ended.isoformat(), "data": data}


class Notifier:
    def __init__(self, batches: BatchStore, settings: Settings) -> None:
        self.batches = batches
        self.hosts = settings.webhook_allowed
        self.secret = signing_key(settings.webhook_secret) if settings.webhook_secret else None
        self.retry: dict[str, tuple[int, float]] = {}  # job id -> (attempts, next try, monotonic)

    def headers(self, message_id: str, body: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        headers = {"content-type": "application/json", "webhook-id": message_id, "webhook-timestamp": stamp}
        if self.secret is not None:
            mac = hmac.new(self.secret, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
            headers["webhook-signature"] = "v1," + base64.b64encode(mac).decode()
        return headers

    async def send_due(self) -> None:
        for batch in await anyio.to_thread.run_sync(self.batches.due_notices):
            attempts, when = self.retry.get(batch.id, (0, 0.0))
            if time.monotonic() < when:
                continue
            ended = batch.end_at.replace(tzinfo=batch.end_at.tzinfo or UTC) if batch.end_at else datetime.now(UTC)
            if await self.deliver(batch) or datetime.now(UTC) - ended > GIVE_UP_AFTER:
                await anyio.to_thread.run_sync(self.batches.mark_notified, batch.id)
                self.retry.pop(batch.id, None)
            else:
                self.retry[batch.id] = (attempts + 1, time.monotonic() + min(600.0, 2.0**attempts))

    async def deliver(self, batch: Batch) -> bool:
        """POST the notice to every allowed URL; True when each answered 2xx."""
        config = json.loads(batch.webhook or "{}")
        targets = [u for u in config.get("uris", []) if allowed(u, self.hosts)]
        body = json.dumps(notice(batch, config), separators=(",", ":")).encode()
        delivered = True
        # No redirects: an allowed host must not send the notice on to one that is not.
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=False, trust_env=False) as client:
            for uri in targets:
                try:
                    reply = await client.post(
                        uri, content=body, headers=self.headers(f"{batch.id}.{batch.state}", body)
                    )
                    delivered &= reply.is_success
                except httpx.HTTPError as exc:
                    log.warning("webhook notice for batches/%s to %s failed: %s", batch.id, uri, exc)
                    delivered = False
        return delivered
