"""Schemathesis against our own /openapi.json, authenticated: no 5xx, every error a problem+json body.

CI runs a few examples per operation; DINECARD_FUZZ_EXAMPLES raises it for the full run.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

EXAMPLES = int(os.environ.get("DINECARD_FUZZ_EXAMPLES", "8"))


def test_no_operation_answers_with_a_server_error(client: TestClient) -> None:
    # given a store and a member so that some generated requests reach real data
    store = client.post("/api/v1/stores", json={"code": "F001", "name": "fuzz"}).json()["id"]
    member = client.post("/api/v1/members", json={"phone": "13900000000", "store_id": store}).json()["id"]
    client.post(
        f"/api/v1/members/{member}/recharges", json={"amount": "500", "payment_method": "cash", "store_id": store}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    auth = {"Authorization": client.headers["Authorization"]}
    failures: list[str] = []
    calls = 0
    operations = 0

    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=auth)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:200]}")
            elif response.status_code >= 400:
                header = response.headers.get("content-type") or [""]
                content_type = header[0] if isinstance(header, list) else header
                if not content_type.startswith("application/problem+json"):
                    failures.append(f"{case.method} {case.formatted_path} → {response.status_code} as {content_type}")

        run()

    assert operations >= 20 and calls >= operations, (operations, calls)  # the run really exercised the API
    assert not failures, "\n".join(failures[:20])


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
