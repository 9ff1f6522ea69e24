"""Structured logs: one JSON object a line, each carrying the request id of the request it belongs to.

`RequestContextMiddleware` takes the caller's `X-Request-ID` (or makes one), puts it on
`request.state.request_id` and on the response, and writes one access line per request with
the route template, never the URL: query strings carry phone numbers (`?phone=`). Request
bodies are never logged. As a last guard both formatters mask any mobile number in a line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dinecard.platform.metrics import route_template
from dinecard.platform.outbox import redact_phones

access_log = logging.getLogger("dinecard.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only if it is short and plain, so it cannot forge log lines.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,32}")  # fits audit_log.request_id
# Probes and scrapes would drown the access log; they are logged at DEBUG.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
# Extra record attributes the JSON formatter copies (passed with `extra=`).
EXTRA_FIELDS = ("method", "route", "status", "duration_ms")

current_request_id: ContextVar[str | None] = ContextVar("dinecard_request_id", default=None)


def accepted_request_id(incoming: str | None) -> str:
    """The caller's request id when it is acceptable, otherwise a new one (32 hex digits)."""
    if incoming is not None and _ACCEPTED_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestContextMiddleware:
    """Gives every HTTP request an id (logs, response header) and writes one access line for it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accepted_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        # Not reset afterwards: each request runs in its own task (its own context), and the
        # error handler outside this middleware still logs with the id.
        current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope)
            fields = {
                "method": scope.get("method"),
                "route": route,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            level = logging.DEBUG if route in _QUIET_ROUTES and status < 400 else logging.INFO
            access_log.log(level, "%s %s %s", fields["method"], route, status, extra=fields)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id (and access fields, exception)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_phones(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = redact_phones(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """For a person at a terminal: time, level, logger, request id, message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return redact_phones(super().format(record))


def resolved_format(log_format: str, stream: TextIO) -> str:
    """`auto` means text on a terminal and JSON everywhere else (services, containers, files)."""
    if log_format != "auto":
        return log_format
    return "text" if stream.isatty() else "json"


def configure_logging(log_format: str = "auto", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Send every log line (uvicorn's too) through one handler on the root logger, JSON or text."""
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if resolved_format(log_format, stream) == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    # Our request log line (RequestContextMiddleware) replaces uvicorn's access log. uvicorn turns
    # its access logger on whenever any handler exists, `access_log=False` or not: silence it here.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every URL it calls at INFO; a webhook URL may carry personal data in its query.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
