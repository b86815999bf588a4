"""The one error type of the service, rendered once per dialect (CLI, Gemini, OpenAI) at the edge."""

from __future__ import annotations


class ApiError(Exception):
    """A client's mistake or a refusal: HTTP code, Google-style status, and a message for people."""

    def __init__(
        self,
        http_code: int,
        status: str,
        message: str,
        details: list[dict[str, object]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.http_code = http_code
        self.status = status
        self.message = message
        # google.rpc detail objects (ErrorInfo, BadRequest, RetryInfo), each with an "@type".
        self.details = details or []
        self.headers = headers or {}


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)
