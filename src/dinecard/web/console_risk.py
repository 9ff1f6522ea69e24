"""Risk events (风险事件) in the console: the list with filters, one event, marking it handled.

Events are raised by the risk rules' scans (security.risk, run by the worker) and by the ledger
check; HQ reviews them here as through GET /api/v1/risk-events, and resolves one with a note by
the API's own operation (risk_events.resolve_event through the audited, idempotent write path).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.responses import Response

from dinecard.security import risk_events
from dinecard.security.models import RiskEvent
from dinecard.security.risk_views import ID_MAX, Resolve, RiskEventOut
from dinecard.web.console_common import FormRefused, build, container_of, new_key, write
from dinecard.web.console_org_forms import actor_names, page_principal, store_names, store_rows, t_of
from dinecard.web.i18n import register
from dinecard.web.templating import render

router = APIRouter()
PAGE = 50

# The kinds the rules raise (security/risk.py, security/risk_events.py); another kind shows as its code.
KINDS = (
    "small_recharges",
    "refunds_by_actor",
    "refunds_of_member",
    "points_swing",
    "odd_hours",
    "reconciliation_failed",
    "negative_balance",
)
STATUSES = ("open", "resolved", "all")
DETAIL_KEYS = (
    "recharges",
    "refunds",
    "operations",
    "window_minutes",
    "below_fen",
    "business_date",
    "first_at",
    "kind",
    "kinds",
    "transaction_id",
    "order_no",
    "order_nos",
    "points_in",
    "points_out",
    "max",
    "failed_checks",
    "accounts",
)

register(
    {
        "risk.title": ("风险事件", "Risk events"),
        "risk.filter": ("筛选", "Filter"),
        "risk.filter_status": ("处理状态", "Status"),
        "risk.filter_kind": ("类型", "Kind"),
        "risk.filter_store": ("门店", "Store"),
        "risk.any": ("全部", "All"),
        "risk.status.open": ("待处理", "Open"),
        "risk.status.resolved": ("已处理", "Handled"),
        "risk.status.all": ("全部", "All"),
        "risk.category.risk": ("风险", "Risk"),
        "risk.category.alert": ("告警", "Alert"),
        "risk.severity.info": ("提示", "Info"),
        "risk.severity.warning": ("警告", "Warning"),
        "risk.severity.critical": ("严重", "Critical"),
        "risk.kind.small_recharges": ("短时间多笔小额充值", "Many small recharges"),
        "risk.kind.refunds_by_actor": ("同一操作人频繁退款", "Many refunds by one cashier or key"),
        "risk.kind.refunds_of_member": ("同一会员频繁退款", "Many refunds of one member"),
        "risk.kind.points_swing": ("积分大幅变动", "Points swing"),
        "risk.kind.odd_hours": ("非营业时段操作", "Operations at odd hours"),
        "risk.kind.reconciliation_failed": ("对账不平", "Reconciliation failed"),
        "risk.kind.negative_balance": ("余额为负", "Negative balance"),
        "risk.id": ("编号", "No."),
        "risk.detected_at": ("发现时间", "Detected"),
        "risk.kind": ("类型", "Kind"),
        "risk.category": ("类别", "Category"),
        "risk.severity": ("级别", "Severity"),
        "risk.store": ("门店", "Store"),
        "risk.member": ("会员", "Member"),
        "risk.actor": ("操作人", "By"),
        "risk.status": ("状态", "Status"),
        "risk.open_member": ("查看会员", "Open the member"),
        "risk.view": ("查看", "View"),
        "risk.count": ("本页 {n} 条", "{n} on this page"),
        "risk.none": ("没有符合条件的风险事件", "No risk events match"),
        "risk.older": ("更早的事件", "Older events"),
        "risk.newest": ("回到最新", "Back to the newest"),
        "risk.detail_title": ("风险事件 #{id}", "Risk event #{id}"),
        "risk.details": ("详情", "Details"),
        "risk.back": ("返回风险事件列表", "Back to the risk events"),
        "risk.resolve": ("标记为已处理", "Mark as handled"),
        "risk.note": ("处理说明（必填）", "What was found and done (required)"),
        "risk.note_hint": ("1–200 个字，写明核查结果和处理方式", "1–200 characters: what was found and done"),
        "risk.resolved": ("已标记为已处理", "Marked as handled"),
        "risk.resolved_by": ("处理人", "Handled by"),
        "risk.resolved_at": ("处理时间", "Handled at"),
        "risk.resolution_note": ("处理说明", "Note"),
        "risk.not_found": ("风险事件不存在", "No such risk event"),
        "risk.detail.recharges": ("充值笔数", "Recharges"),
        "risk.detail.refunds": ("退款笔数", "Refunds"),
        "risk.detail.operations": ("操作笔数", "Operations"),
        "risk.detail.window_minutes": ("时间窗口（分钟）", "Window (minutes)"),
        "risk.detail.below_fen": ("小额标准（低于）", "Small means below"),
        "risk.detail.business_date": ("营业日", "Business date"),
        "risk.detail.first_at": ("首笔时间", "First at"),
        "risk.detail.kind": ("交易类型", "Transaction kind"),
        "risk.detail.kinds": ("交易类型", "Transaction kinds"),
        "risk.detail.transaction_id": ("交易编号", "Transaction"),
        "risk.detail.order_no": ("单号", "Order"),
        "risk.detail.order_nos": ("相关单号", "Orders"),
        "risk.detail.points_in": ("增加积分", "Points in"),
        "risk.detail.points_out": ("扣减积分", "Points out"),
        "risk.detail.max": ("单笔上限", "Limit per operation"),
        "risk.detail.failed_checks": ("未通过的检查", "Failed checks"),
        "risk.detail.accounts": ("账户", "Accounts"),
    }
)


def _events(
    session: Session, status: str | None, kind: str | None, store_id: str | None, before: int | None
) -> tuple[list[RiskEvent], int | None]:
    """A page as GET /api/v1/risk-events gives it."""
    return risk_events.list_events(
        session, status=status, kind=kind, store_id=store_id or None, before=before, limit=PAGE
    )


def _detail_rows(details: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """The event's details, the known ones first in a fixed order, each as (key, value)."""
    details = details or {}
    known = [(key, details[key]) for key in DETAIL_KEYS if key in details]
    return known + [(key, value) for key, value in details.items() if key not in DETAIL_KEYS]


@router.get("/risk")
def list_events(
    request: Request,
    status: str = "open",
    kind: str = "",
    store_id: str = "",
    before: int | None = None,
) -> Response:
    principal = page_principal(request, "risk.read")
    container = container_of(request)
    status = status if status in STATUSES else "open"
    kind = kind[:40]
    store_id = store_id[:26]
    before = before if before is not None and 1 <= before <= ID_MAX else None
    with container.database.read() as session:
        rows, next_before = _events(session, None if status == "all" else status, kind or None, store_id, before)
        events = [RiskEventOut.of(row) for row in rows]
    stores = store_rows(container)
    filters = {"status": status, "kind": kind, "store_id": store_id}
    t = t_of(request)
    return render(
        request,
        "console/risk.html",
        principal=principal,
        section="risk",
        events=events,
        kind_codes=KINDS,
        filters=filters,
        statuses=[(value, t(f"risk.status.{value}")) for value in STATUSES],
        kinds=[("", t("risk.any")), *((value, t(f"risk.kind.{value}")) for value in KINDS)],
        store_options=[("", t("risk.any")), *store_names(stores).items()],
        store_names=store_names(stores),
        older=f"/console/risk?{urlencode(filters | {'before': next_before})}" if next_before else None,
        newest=f"/console/risk?{urlencode(filters)}" if before else None,
    )


def _show(
    request: Request, event_id: int, note: str = "", key: str | None = None, refused: FormRefused | None = None
) -> Response:
    principal = page_principal(request, "risk.read")
    container = container_of(request)
    with container.database.read() as session:
        row = session.get(RiskEvent, event_id)
        event = RiskEventOut.of(row) if row is not None else None
    if event is None:
        return render(request, "console/risk.html", status_code=404, principal=principal, section="risk", missing=True)
    stores = store_rows(container)
    t = t_of(request)
    return render(
        request,
        "console/risk.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="risk",
        event=event,
        kind_codes=KINDS,
        detail_codes=DETAIL_KEYS,
        details=_detail_rows(event.details),
        names=actor_names(container, {event.actor_id or "", event.resolved_by or ""}),
        store_names=store_names(stores),
        form={"note": note, "idempotency_key": key or new_key()},
        refused=refused,
        labels={"note": t("risk.resolution_note")},
        resolved=request.query_params.get("resolved"),
    )


@router.get("/risk/{event_id}")
def show_event(request: Request, event_id: Annotated[int, Path(ge=1, le=ID_MAX)]) -> Response:
    return _show(request, event_id)


@router.post("/risk/{event_id}/resolve")
def resolve_event(
    request: Request,
    event_id: Annotated[int, Path(ge=1, le=ID_MAX)],
    note: Annotated[str, Form(max_length=400)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = page_principal(request, "risk.read", "risk.resolve")
    key = idempotency_key or new_key()
    try:
        body: Resolve = build(Resolve, {"note": note})
        write(
            request,
            principal,
            key,
            body,
            lambda uow, now: RiskEventOut.of(
                risk_events.resolve_event(uow, event_id, principal.key_id, body.note.strip(), now)
            ),
        )
    except FormRefused as refused:
        return _show(request, event_id, note, key, refused)
    return RedirectResponse(f"/console/risk/{event_id}?resolved=1", status_code=303)
