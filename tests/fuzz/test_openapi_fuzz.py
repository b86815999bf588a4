"""Fuzzing: schemathesis generates requests from the server's own OpenAPI document for every
operation of every dialect (Gemini, Vertex, :predict, OpenAI, files, batches, admin) and sends them
to a real `plantain serve`. No reply may be a 5xx, and every reply must be what the document says:
its status, its content type, and its body's schema (errors in the route's own format).

PLANTAIN_FUZZ_EXAMPLES sets hypothesis' examples per operation (default 5); with schemathesis' own
coverage and example phases that is about 20,000 cases in all, in two minutes on 2 cores."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.server_process import API_KEY, server_process

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

EXAMPLES = int(os.environ.get("PLANTAIN_FUZZ_EXAMPLES", "5"))
MINIMUM_CASES = 2_000
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
HEADERS = {"x-goog-api-key": API_KEY, "authorization": f"Bearer {API_KEY}"}
SENT: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("fuzz")
    env = {"PLANTAIN_DATA_DIR": str(folder), "PLANTAIN_MAX_QUEUE": "256", "PLANTAIN_AUTH_FAILURES_PER_MINUTE": "0"}
    with server_process(env, log=folder / "server.log") as server:
        yield server.base


@pytest.fixture(scope="module")
def api_schema(base: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case, base: str) -> None:
    SENT[case.operation.label] += 1
    started = time.monotonic()
    try:
        case.call_and_validate(base_url=base, headers=HEADERS, checks=CHECKS, timeout=120)
    finally:
        SECONDS[case.operation.label] += time.monotonic() - started


def test_enough_cases_were_sent() -> None:
    """Runs after the operations (pytest keeps file order): the fuzzing above sent its cases."""
    if not SENT:
        pytest.skip("the fuzzing test did not run in this session")
    slowest = [(k, round(v, 1)) for k, v in SECONDS.most_common(5)]
    print(f"{sum(SENT.values())} cases over {len(SENT)} operations; slowest (s): {slowest}")
    assert sum(SENT.values()) >= MINIMUM_CASES, dict(SENT)
    assert len(SENT) >= 60, sorted(SENT)
