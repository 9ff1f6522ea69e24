"""The full-size fuzz and property runs, only with DINECARD_RELIABILITY_FULL=1 (skipped otherwise).

CI already runs the small versions: tests/fuzz/test_openapi_fuzz.py (a few examples per operation) and
tests/integration/test_ledger_state_machine.py (15 examples of 30 steps). These run the very same tests with
more examples, on SQLite and on PostgreSQL, and prove the size: at least 5,000 generated requests per database.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient

import tests.fuzz.test_openapi_fuzz as fuzz
import tests.integration.test_ledger_state_machine as state_machine
from dinecard.platform.container import Container

FUZZ_REQUESTS_MIN = 5_000
FUZZ_EXAMPLES = int(os.environ.get("DINECARD_RELIABILITY_FUZZ_EXAMPLES", "90"))  # per operation
STATE_MACHINE_EXAMPLES = int(os.environ.get("DINECARD_RELIABILITY_STATE_MACHINE_EXAMPLES", "150"))

# Collected only with DINECARD_RELIABILITY_FULL=1 (tests/reliability/conftest.py).
pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_fuzz_full_run_sends_at_least_5000_requests_without_a_server_error(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the fuzz test of tests/fuzz with many more examples per operation, counting what it sends
    sent = 0
    call = schemathesis.Case.call

    def counted(case: schemathesis.Case, *args: object, **kwargs: object) -> object:
        nonlocal sent
        sent += 1
        return call(case, *args, **kwargs)

    monkeypatch.setattr(schemathesis.Case, "call", counted)
    monkeypatch.setattr(fuzz, "EXAMPLES", FUZZ_EXAMPLES)

    # when it runs, then it finds no 5xx and no error without a problem+json body (its own assertions)
    fuzz.test_no_operation_answers_with_a_server_error(client)

    # and it really sent the full run's requests (operations without parameters generate one case only)
    print(f"\nfuzz: {sent} generated requests at {FUZZ_EXAMPLES} examples per operation")
    assert sent >= FUZZ_REQUESTS_MIN, f"only {sent} requests: raise DINECARD_RELIABILITY_FUZZ_EXAMPLES"


def test_state_machine_full_run(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    # the hypothesis state machine of the core issue at STATE_MACHINE_EXAMPLES examples instead of 15
    monkeypatch.setattr(state_machine, "EXAMPLES", STATE_MACHINE_EXAMPLES)
    state_machine.test_random_operations_keep_the_ledger_reconciled_and_equal_to_the_model(container)
    outcomes = ", ".join(f"{k} x{v}" for k, v in sorted(state_machine.OUTCOMES.items()))
    print(f"\nstate machine: {STATE_MACHINE_EXAMPLES} examples of {state_machine.STEPS} steps: {outcomes}")
