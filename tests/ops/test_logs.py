"""Structured logs: JSON lines with a request id, and never a phone number (the issue's log scan)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.platform.logging import JsonFormatter, RequestIdFilter, configure_logging
from dinecard.platform.worker import WorkerState, run_iteration
from tests.api.helpers import API, checkout, recharge, refund, register

PHONE = "13812345678"
CLIENT_LOGGERS = ("httpx", "httpcore")


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the JSON formatter writes while the test runs, as production would see it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


def parsed(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_request_id_sent_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "till-7.req-42"})
    assert response.headers["X-Request-ID"] == "till-7.req-42"


def test_a_request_without_an_id_gets_a_new_one(client: TestClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32 and first != second
    int(first, 16)


def test_an_unusable_request_id_is_replaced(client: TestClient) -> None:
    for bad in ("has spaces in it", "x" * 65, "line\\nbreak"):
        answered = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert answered != bad and len(answered) == 32


def test_every_json_line_names_time_level_logger_message_and_request_id(
    client: TestClient, json_lines: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = client.get(f"{API}/members/01NOSUCHMEMBER0000000000000", headers={"X-Request-ID": "scan-1"})
    assert response.status_code == 404
    lines = parsed(json_lines)
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= line.keys()
    access = [line for line in lines if line["logger"] == "dinecard.access"]
    assert access[-1]["request_id"] == "scan-1"
    assert access[-1]["route"] == "/api/v1/members/{member_id}"
    assert access[-1]["status"] == 404
    assert "01NOSUCHMEMBER" not in access[-1]["message"]


def test_no_phone_number_reaches_the_logs_or_the_metrics_after_a_full_scenario(
    client: TestClient,
    container: Container,
    store_id: str,
    json_lines: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given everything logs, down to DEBUG
    caplog.set_level(logging.DEBUG)
    # when a member goes through a whole visit, mistakes included
    member_id = register(client, PHONE, store_id=store_id)["id"]
    assert client.post(f"{API}/members", json={"phone": PHONE}).status_code == 409
    assert client.get(f"{API}/members", params={"phone": PHONE}).status_code == 200
    assert client.get(f"{API}/members", params={"phone": PHONE[:-1] + "x"}).status_code in (404, 422)
    assert client.get(f"{API}/members/{PHONE}").status_code == 404
    recharge(client, member_id, store_id, "500.00")
    paid = checkout(client, member_id, store_id, "100.00")
    refund(client, paid["order_no"], "10.00")
    run_iteration(container, WorkerState())  # delivers the notifications to the log channel
    # then: the test's own HTTP client (httpx, playing the till) logs the URLs it calls; the server must not
    records = [record for record in caplog.records if not record.name.startswith(CLIENT_LOGGERS)]
    assert any(record.name == "dinecard.notifications" for record in records)
    server_lines = [line for line in parsed(json_lines) if not str(line["logger"]).startswith(CLIENT_LOGGERS)]
    texts = [
        json.dumps(server_lines, ensure_ascii=False),
        *(caplog.handler.format(record) for record in records),
        *(record.getMessage() for record in records),
        *(repr(record.args) for record in records),
        client.get("/metrics").text,
    ]
    for text in texts:
        assert PHONE not in text
    assert all(line["request_id"] for line in server_lines if line["logger"] == "dinecard.access")


def test_configure_logging_writes_json_lines_through_the_root_logger() -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    client_levels = {name: logging.getLogger(name).level for name in CLIENT_LOGGERS}
    stream = io.StringIO()
    try:
        configure_logging("json", "INFO", stream)
        logging.getLogger("dinecard.test").info("member %s called", PHONE)
        logging.getLogger("uvicorn.error").info("uvicorn speaks JSON too")
        logging.getLogger("httpx").info("HTTP Request: GET https://hooks.example/?phone=%s", PHONE)
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        for name, level in client_levels.items():
            logging.getLogger(name).setLevel(level)
    lines = parsed(stream)
    assert [line["logger"] for line in lines] == ["dinecard.test", "uvicorn.error"]
    assert lines[0]["message"] == "member 138****5678 called"
    assert lines[0]["request_id"] is None


def test_text_format_is_chosen_for_a_terminal_only() -> None:
    from dinecard.platform.logging import resolved_format

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolved_format("auto", Terminal()) == "text"
    assert resolved_format("auto", io.StringIO()) == "json"
    assert resolved_format("json", Terminal()) == "json"


def test_uvicorn_access_log_stays_off_once_logging_is_configured(json_lines: io.StringIO) -> None:
    # uvicorn turns its access logger on when any handler exists; ours logs each request once.
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /api/v1/stores HTTP/1.1" 200')

    assert [line for line in parsed(json_lines) if line["logger"] == "uvicorn.access"] == []
