"""A schemathesis run over a live server's OpenAPI document, as counts (for the suite's bounded
run in test_fuzz.py and the long one in benchmarks/fuzz_api.py)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from contextlib import redirect_stdout, suppress
from typing import Any


def fuzz(url: str, keyed: bool, examples: int) -> dict[str, Any]:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    # Not `positive_data_acceptance`: business rules answer 400 to schema-valid requests on
    # purpose (the last message must be the user's, max_tokens over the server's cap, blank
    # text, another owner's session id...), and those answers are documented.
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    schema.config.generation.update(allow_x00=True, codec=None)
    headers = {"Authorization": "Bearer fuzz-key"} if keyed else {}
    statuses: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    examples_of_failures: list[str] = []
    cases = 0
    slowest = 0.0
    for result in schema.get_all_operations():
        operation = result.ok()
        label = operation.label
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @given(case=strategy)
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            )
            def run(case: Any) -> None:
                nonlocal cases, slowest
                cases += 1
                began = time.perf_counter()
                try:
                    response = case.call_and_validate(headers=headers, checks=checks, timeout=30)
                    statuses[str(response.status_code)] += 1
                except (Exception, BaseExceptionGroup) as exc:  # failed checks: count, go on
                    name = type(exc).__name__
                    for failure in getattr(exc, "exceptions", [exc]):
                        name = getattr(failure, "title", type(failure).__name__)
                        failures[name] += 1
                    if len(examples_of_failures) < 10:
                        shown = f"{label}: {str(exc)[:300]}"  # noqa: B023 - run() runs right here
                        examples_of_failures.append(shown)
                slowest = max(slowest, time.perf_counter() - began)

            # Unsatisfiable: no invalid input exists (an operation without parameters).
            # Hypothesis prints reproduction seeds to stdout; the JSON report owns stdout.
            with suppress(Unsatisfiable), redirect_stdout(sys.stderr):
                run()
    return {
        "cases": cases,
        "statuses": dict(sorted(statuses.items())),
        "server_errors": sum(n for code, n in statuses.items() if code.startswith("5")),
        "failed_checks": dict(failures),
        "failure_examples": examples_of_failures,
        "slowest_case_s": round(slowest, 3),
    }
