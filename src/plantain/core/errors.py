"""Errors as values of the domain: what went wrong, in words and by kind, never in a wire format.

Every layer raises `ServiceError`; each dialect renders it once, at the edge, in its own shape
(Google's `{"error": {code, message, status}}`, OpenAI's `{"error": {message, type, param}}`, the
CLI's one line on stderr).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "invalid"  # the request is wrong: fix it and send again
    TOO_LARGE = "too_large"  # the body is over the size limit
    SLOW_BODY = "slow_body"  # the body did not arrive in time (a stalled or trickling client)
    UNAUTHENTICATED = "unauthenticated"  # no key
    KEY_INVALID = "key_invalid"  # a key, but not one we know
    PERMISSION_DENIED = "permission_denied"  # a known key that may not do this
    NOT_FOUND = "not_found"  # no such model, route or object
    EXHAUSTED = "exhausted"  # a queue or quota is full: retry later
    CANCELLED = "cancelled"  # the caller went away or cancelled
    DEADLINE = "deadline"  # the request ran out of time
    UNAVAILABLE = "unavailable"  # a model or a dependency cannot serve now
    UNIMPLEMENTED = "unimplemented"  # a method this server does not offer
    METHOD_NOT_ALLOWED = "method_not_allowed"  # a route that exists, called with the wrong HTTP method
    INTERNAL = "internal"  # our bug; the message says nothing more


@dataclass(frozen=True)
class FieldViolation:
    field: str  # a dotted path into the request, snake_case ("generation_config.temperature")
    description: str


class ServiceError(Exception):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        field: str | None = None,
        retry_after: float | None = None,
        violations: list[FieldViolation] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        # The request field at fault, when one is (OpenAI's `param`, Google's BadRequest violation).
        self.field = field
        # Seconds after which a retry may succeed (Retry-After, Google's RetryInfo).
        self.retry_after = retry_after
        # Every field at fault, for a body with several mistakes.
        self.violations = violations or []
        # A machine-readable reason, for dialects that name one (OpenAI's "unknown_parameter").
        self.code = code
        # The quota a 429 is about, as (subject, quota name): Google's QuotaFailure.
        self.quota: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"ServiceError({self.kind.value}, {self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Whole across processes (a Ray replica's error reaches the ingress as it was raised);
        # Exception's own pickling would keep only the message.
        args = (self.kind, self.message, self.field, self.retry_after, self.violations, self.code)
        return (ServiceError, args, {"quota": self.quota})


def invalid_argument(message: str, field: str | None = None) -> ServiceError:
    return ServiceError(ErrorKind.INVALID, message, field)


def not_found(message: str) -> ServiceError:
    return ServiceError(ErrorKind.NOT_FOUND, message)


def unavailable(message: str) -> ServiceError:
    return ServiceError(ErrorKind.UNAVAILABLE, message)


def deadline_error() -> ServiceError:
    return ServiceError(ErrorKind.DEADLINE, "The request did not finish before its deadline.")


def cancelled_error() -> ServiceError:
    return ServiceError(ErrorKind.CANCELLED, "The request was cancelled.")
