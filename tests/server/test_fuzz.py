"""Schemathesis over the server's own OpenAPI document, on a real server (open and keyed).

Generated strings may hold NUL bytes and lone surrogates. Every check runs on valid and
invalid data: no 5xx, every status and content type documented, every body matching its
schema. Bounded (a few cases per operation and mode); benchmarks/fuzz_api.py runs the long
version.
"""

from __future__ import annotations

import pytest

from parley.server.auth import hash_key
from parley.server.settings import ServerSettings
from tests.server.fuzzing import fuzz

pytest.importorskip("schemathesis")


@pytest.mark.parametrize("keyed", [False, True], ids=["open", "keyed"])
def test_the_api_keeps_its_openapi_promises(make_server, keyed):
    server = make_server(
        ServerSettings(
            api_keys=[hash_key("fuzz-key")] if keyed else [],
            rate_limit_per_minute=0,
            auth_failures_per_minute=0,
            max_queued_generations=10_000,
        )
    )
    result = fuzz(server.url, keyed, examples=15)
    assert result["cases"] > 100
    assert result["server_errors"] == 0, result
    assert result["failed_checks"] == {}, result["failure_examples"]
