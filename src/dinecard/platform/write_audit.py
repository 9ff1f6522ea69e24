"""The audit entry of one API write: who, from where, which route, the member before and the answer after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import select

from dinecard.ledger import service as ledger
from dinecard.ledger.models import JournalTransaction
from dinecard.members.schemas import BalanceOut, PointsOut
from dinecard.members.service import lock_member_if_exists
from dinecard.platform import metrics
from dinecard.platform.db import UnitOfWork
from dinecard.points.domain import usable_points
from dinecard.security import audit
from dinecard.security.domain import Principal
from dinecard.shared.money import Money

API_PREFIX = "/api/v1/"


def member_of_request(uow: UnitOfWork, request: Request) -> str | None:
    """The member a write is about: named in the path, or the owner of the order it names."""
    params = request.path_params
    if "member_id" in params:
        return str(params["member_id"])
    if "order_no" in params:
        member_id: str | None = uow.session.execute(
            select(JournalTransaction.member_id).where(JournalTransaction.order_no == str(params["order_no"])).limit(1)
        ).scalar_one_or_none()
        return member_id
    return None


def member_state(uow: UnitOfWork, member_id: str, now: datetime) -> dict[str, Any] | None:
    """Status, level, balances and points, as the API shows them, locked so nobody changes them first."""
    # Every member operation takes this same lock first, so taking it a moment earlier
    # adds no lock-order hazard, and the state read under it is exactly the "before".
    member = lock_member_if_exists(uow, member_id)
    if member is None:
        return None
    # Handed on to the operation's own first read of the accounts (one query, not two).
    accounts = ledger.prefetch_member_accounts(uow.session, member_id)
    return {
        "member_id": member_id,
        "status": member.status,
        "level": {"code": member.level_code},
        "balance": BalanceOut.of(Money(accounts.principal), Money(accounts.bonus)).model_dump(mode="json"),
        "pending_bonus": Money(accounts.pending_bonus).yuan(),
        "points": PointsOut.of(usable_points(accounts.lots, accounts.debt, now), member.points_lifetime).model_dump(),
    }


def record_write(
    uow: UnitOfWork,
    request: Request,
    principal: Principal,
    body: BaseModel | None,
    content: Any,
    *,
    member_id: str | None,
    before: Any,
    now: datetime,
) -> None:
    """One audit entry for the write just done, in its transaction."""
    route_path = route_template(request)
    answer = content if isinstance(content, dict) else {}
    target_kind, target_id = _target(route_path, request.path_params, answer, member_id)
    order_no = answer.get("order_no") or request.path_params.get("order_no")
    request_id = getattr(request.state, "request_id", None)  # the id the middleware accepted or made
    approver = getattr(request.state, "approver", None)  # the manager whose credential let it through (R-CMP-6)
    if approver is not None and isinstance(content, dict):
        content = {**content, "approved_by": {"id": approver.key_id, "name": approver.name, "role": str(approver.role)}}
    audit.record(
        uow,
        actor=principal,
        action=f"{request.method} {route_path}",
        target_kind=target_kind,
        target_id=target_id,
        order_no=str(order_no) if order_no is not None else None,
        before=before,
        after=content,
        store_id=getattr(body, "store_id", None) or principal.store_id,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("User-Agent"),
        request_id=str(request_id) if request_id is not None else None,
        now=now,
    )


def route_template(request: Request) -> str:
    """The matched route's full template (`/api/v1/members/{member_id}/recharges`), never the requested path."""
    template = metrics.route_template(request.scope)
    return request.url.path if template == metrics.UNMATCHED_ROUTE else template


def _target(
    route_path: str, path_params: dict[str, Any], answer: dict[str, Any], member_id: str | None
) -> tuple[str | None, str | None]:
    """The member when there is one; else what the path names; else what the write created."""
    if member_id is not None:
        return "member", member_id
    for name, value in path_params.items():
        return name.removesuffix("_id").removesuffix("_no"), str(value)
    resource = route_path.removeprefix(API_PREFIX).split("/")[0].replace("-", "_")
    kind = resource[:-1] if resource.endswith("s") and not resource.endswith("ss") else resource
    identifier = answer.get("id", answer.get("version"))
    return kind or None, None if identifier is None else str(identifier)
