"""The server's logs: one line a record, JSON (PLANTAIN_LOG_FORMAT=json) or text, each carrying
the id of the request it belongs to (the x-request-id of its reply). API keys never reach a log:
a key sent as `?key=` is masked in every line (uvicorn's access log prints the URL), and nothing
logs headers or bodies, so neither keys sent as headers nor image bytes appear."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
KEY_IN_URL = re.compile(r"([?&]key=)[^&\s\"']+")


def redact(text: str) -> str:
    return KEY_IN_URL.sub(r"\1[redacted]", text)


class Context(logging.Filter):
    """Adds the request id, and masks keys in the message (formatted once, here)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.msg, record.args = redact(record.getMessage()), None
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", ""):
            line["request_id"] = record.request_id  # type: ignore[attr-defined]
        if record.exc_info:
            line["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(fmt: str) -> None:
    """Route every logger (uvicorn's included) to one stderr handler in the chosen format."""
    handler = logging.StreamHandler()
    handler.addFilter(Context())
    if fmt == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
