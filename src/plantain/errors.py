"""The one error type of the service, rendered once per dialect (CLI, Gemini, OpenAI) at the edge."""

from __future__ import annotations


class ApiError(Exception):
    """A client's mistake or a refusal: HTTP code, Google-style status, and a message for people."""

    def __init__(self, http_code: int, status: str, message: str) -> None:
        super().__init__(message)
        self.http_code = http_code
        self.status = status
        self.message = message


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)
