"""Prometheus metrics (R-OPS-3): request latency and responses per route, and business counters.

Every metric lives in one registry per process (`REGISTRY`, not the client's global one), created
once at import, so tests that build many apps never register a metric twice. `/metrics` serves
it without authentication: firewall it so only Prometheus reaches it. Each API process counts
on its own: scrape every process, or switch to the client's multiprocess mode (not built).

Business counters move only when a write transaction commits: the session collects what the
transaction wrote (new business records, the ledger's points postings, raised risk events)
in `session.info`, and a hook after commit adds it up. A rolled-back transaction counts nothing.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics import MetricWrapperBase
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dinecard.ledger.domain import AccountKind, Entry
from dinecard.ledger.service import RECORDED_TRANSACTIONS
from dinecard.members.models import Member
from dinecard.wallet.models import Recharge, Refund

# The `_created` series double what is exposed and nobody graphs them.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

# Never the raw path: it can carry a phone number or a member id; the template cannot.
UNMATCHED_ROUTE = "<unmatched>"
# Any other method is counted as OTHER, so a client cannot invent label values.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_SECONDS = Histogram(
    "dinecard_http_request_duration_seconds",
    "Time to answer a request, by route template and method",
    ["route", "method"],
    registry=REGISTRY,
)
RESPONSES = Counter(
    "dinecard_http_responses",
    "Responses by route template, method and status class (2xx, 4xx, 5xx)",
    ["route", "method", "status_class"],
    registry=REGISTRY,
)
RECHARGES = Counter("dinecard_recharges", "Recharges committed", registry=REGISTRY)
RECHARGE_AMOUNT = Counter("dinecard_recharge_amount_fen", "Principal recharged, in fen", registry=REGISTRY)
CHECKOUTS = Counter("dinecard_checkouts", "Checkouts committed", registry=REGISTRY)
CHECKOUT_PAYABLE = Counter(
    "dinecard_checkout_payable_fen",
    "Amount payable at checkouts, after discounts and points, in fen",
    registry=REGISTRY,
)
REFUNDS = Counter("dinecard_refunds", "Refunds committed, by kind", ["kind"], registry=REGISTRY)
REFUND_AMOUNT = Counter("dinecard_refund_amount_fen", "Amount refunded, by kind, in fen", ["kind"], registry=REGISTRY)
MEMBERS_REGISTERED = Counter("dinecard_members_registered", "Members registered", registry=REGISTRY)
POINTS_ISSUED = Counter("dinecard_points_issued", "Points given to members", registry=REGISTRY)
POINTS_USED = Counter("dinecard_points_used", "Points spent by members", registry=REGISTRY)
POINTS_EXPIRED = Counter("dinecard_points_expired", "Points expired", registry=REGISTRY)
RISK_EVENTS = Counter(
    "dinecard_risk_events",
    "Risk events and alerts raised, by category and kind",
    ["category", "kind"],
    registry=REGISTRY,
)
for _kind in ("checkout_refund", "recharge_refund"):
    REFUNDS.labels(_kind)
    REFUND_AMOUNT.labels(_kind)

PENDING = "metrics_pending"  # session.info key: increments waiting for the commit


def count_after_commit(session: Session, metric: MetricWrapperBase, amount: int = 1) -> None:
    """Add `amount` to a counter once the session's transaction commits; nothing if it rolls back."""
    session.info.setdefault(PENDING, []).append((metric, amount))


def _note_new_records(session: Session, _flush_context: Any) -> None:
    # After a flush, `session.new` still lists what the flush inserted. Checkouts are written
    # with a Core statement, past the ORM: the checkout counts itself (`count_checkout`).
    for instance in session.new:
        if isinstance(instance, Recharge):
            count_after_commit(session, RECHARGES)
            count_after_commit(session, RECHARGE_AMOUNT, instance.amount_fen)
        elif isinstance(instance, Refund):
            count_after_commit(session, REFUNDS.labels(instance.kind))
            count_after_commit(session, REFUND_AMOUNT.labels(instance.kind), instance.amount_fen)
        elif isinstance(instance, Member):
            count_after_commit(session, MEMBERS_REGISTERED)


def count_checkout(session: Session, payable_fen: int) -> None:
    count_after_commit(session, CHECKOUTS)
    count_after_commit(session, CHECKOUT_PAYABLE, payable_fen)


def _points_moved(entries: list[Entry]) -> tuple[int, int, int]:
    """(issued, used, expired) points in one journal transaction, read from its counter legs."""
    issued = sum(-entry.amount for entry in entries if entry.kind is AccountKind.POINTS_ISSUED and entry.amount < 0)
    used = sum(entry.amount for entry in entries if entry.kind is AccountKind.POINTS_REDEEMED and entry.amount > 0)
    expired = sum(entry.amount for entry in entries if entry.kind is AccountKind.POINTS_EXPIRED and entry.amount > 0)
    return issued, used, expired


def _count_committed(session: Session) -> None:
    for _kind, entries in session.info.pop(RECORDED_TRANSACTIONS, []):
        issued, used, expired = _points_moved(entries)
        for metric, amount in ((POINTS_ISSUED, issued), (POINTS_USED, used), (POINTS_EXPIRED, expired)):
            if amount:
                metric.inc(amount)
    for metric, amount in session.info.pop(PENDING, []):
        if amount > 0:
            metric.inc(amount)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(RECORDED_TRANSACTIONS, None)
    session.info.pop(PENDING, None)


def install_session_hooks() -> None:
    """Count committed business records in this process; calling it again changes nothing."""
    for name, function in (
        ("after_flush", _note_new_records),
        ("after_commit", _count_committed),
        ("after_rollback", _forget),
    ):
        if not event.contains(Session, name, function):
            event.listen(Session, name, function)


def metrics_response() -> Response:
    """The text exposition of every metric of this process."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/members/{member_id}`), never the requested path."""
    # FastAPI 0.16x keeps included routers apart: the route knows only its own router's part
    # of the template (`/{member_id}`); the whole template is on FastAPI's route context.
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for path in (getattr(context, "path", None), getattr(scope.get("route"), "path", None)):
        if isinstance(path, str) and path:
            return path
    return UNMATCHED_ROUTE


class MetricsMiddleware:
    """Times every HTTP request and counts its response by route template, method and status class."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            method = str(scope.get("method", ""))
            method = method if method in KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - started)
            RESPONSES.labels(route, method, f"{status // 100}xx").inc()
