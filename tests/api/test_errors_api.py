"""Authentication, RFC 9457 problem details, and the operational endpoints."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.helpers import API, PROBLEM_JSON, assert_problem, register


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer not-a-key",
        "Bearer dc_000000000000.wrong-secret",
        "Basic dXNlcjpwYXNz",
    ],
    ids=["no header", "empty", "no token", "malformed", "unknown key", "basic"],
)
def test_requests_without_a_valid_key_are_unauthenticated(client: TestClient, authorization: str | None) -> None:
    # given
    if authorization is None:
        del client.headers["Authorization"]
    else:
        client.headers["Authorization"] = authorization

    # when / then
    response = client.get(f"{API}/members/anyone")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(client.post(f"{API}/members", json={"phone": "13812341234"}), 401, "unauthenticated")
    assert_problem(client.get(f"{API}/stores"), 401, "unauthenticated")


def test_a_known_key_prefix_with_a_wrong_secret_is_unauthenticated(client: TestClient) -> None:
    token = client.headers["Authorization"].removeprefix("Bearer ")
    prefix = token.split(".", 1)[0]

    response = client.get(f"{API}/stores", headers={"Authorization": f"Bearer {prefix}.not-the-secret"})

    assert_problem(response, 401, "unauthenticated")


def test_the_bearer_scheme_is_case_insensitive(client: TestClient) -> None:
    token = client.headers["Authorization"].removeprefix("Bearer ")

    response = client.get(f"{API}/stores", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200, response.text


def test_a_problem_carries_every_field_in_both_languages(client: TestClient) -> None:
    response = client.get(f"{API}/members/nobody")

    body = assert_problem(response, 404, "member_not_found")
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "message_zh", "message_en"}
    assert body["type"] == "urn:dinecard:problem:member_not_found"
    assert body["instance"] == f"{API}/members/nobody"
    assert body["title"] == body["message_en"] and body["message_zh"] != body["message_en"]


def test_a_validation_problem_lists_what_is_wrong(client: TestClient) -> None:
    response = client.post(f"{API}/members", json={"name": "王芳"})

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["loc"] == ["body", "phone"]
    assert body["errors"][0]["type"] == "missing"


def test_a_body_that_is_not_json_is_a_validation_problem(client: TestClient) -> None:
    response = client.post(f"{API}/members", content=b"{phone: 138", headers={"Content-Type": "application/json"})

    assert_problem(response, 422, "validation_failed")


def test_an_unknown_path_is_a_not_found_problem(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/no-such-thing"), 404, "not_found")


def test_a_wrong_method_is_a_method_not_allowed_problem(client: TestClient) -> None:
    member_id = register(client)["id"]

    assert_problem(client.delete(f"{API}/members/{member_id}"), 405, "method_not_allowed")


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_a_history_page_size_out_of_range_is_a_validation_problem(client: TestClient, limit: str) -> None:
    member_id = register(client)["id"]

    response = client.get(f"{API}/members/{member_id}/transactions", params={"limit": limit})

    assert_problem(response, 422, "validation_failed")


def test_health_and_readiness_need_no_key(client: TestClient) -> None:
    del client.headers["Authorization"]

    healthz = client.get("/healthz")
    readyz = client.get("/readyz")

    assert healthz.status_code == 200 and healthz.json() == {"status": "ok"}
    assert readyz.status_code == 200 and readyz.json()["status"] == "ready"


def test_the_openapi_document_and_docs_page_are_served(client: TestClient) -> None:
    openapi = client.get("/openapi.json")
    docs = client.get("/docs")

    assert openapi.status_code == 200
    document = openapi.json()
    assert document["info"]["title"] == "DineCard API"
    for path in (
        "/api/v1/stores",
        "/api/v1/members",
        "/api/v1/members/{member_id}",
        "/api/v1/members/{member_id}/recharges",
        "/api/v1/members/{member_id}/checkouts",
        "/api/v1/orders/{order_no}/refunds",
        "/api/v1/members/{member_id}/close",
        "/api/v1/members/{member_id}/freeze",
        "/api/v1/members/{member_id}/unfreeze",
        "/api/v1/members/{member_id}/transactions",
        "/api/v1/members/{member_id}/points-history",
    ):
        assert path in document["paths"], path
    amount_schema = document["components"]["schemas"]["RechargeCreate"]["properties"]["amount"]
    assert amount_schema["type"] == "string"
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert PROBLEM_JSON not in docs.headers["content-type"]


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", f"{API}/dishes?category=%00", None),
        ("GET", f"{API}/dishes/D%00", None),
        ("POST", f"{API}/dishes", {"id": "D1", "name": "毛\u0000肚", "category": "涮菜", "price": "68.00"}),
    ],
)
def test_a_nul_character_is_refused_the_same_way_on_both_databases(
    client: TestClient, method: str, url: str, body: dict[str, str] | None
) -> None:
    # PostgreSQL cannot store NUL in text, SQLite can: refused at the edge, nothing is written.
    response = client.request(method, url, json=body)

    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["loc"] == ["request"]
    assert client.get(f"{API}/dishes").json() == []


def test_a_request_that_finds_no_free_database_connection_is_busy_not_broken(client: TestClient) -> None:
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    def exhausted() -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 20 reached")

    client.app.add_api_route("/api/v1/test-pool-exhausted", exhausted)  # type: ignore[attr-defined]

    response = client.get(f"{API}/test-pool-exhausted")

    assert_problem(response, 503, "service_busy")
    assert response.headers["Retry-After"] == "1"
