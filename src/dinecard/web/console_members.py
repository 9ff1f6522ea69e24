"""Members in the console: search by phone or card number, the full record, manual adjustments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from dinecard.coupons import service as coupons
from dinecard.ledger import history
from dinecard.levels.models import LevelHistory
from dinecard.members import service as members
from dinecard.security import audit
from dinecard.security.approval import require_approval
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet import adjusting
from dinecard.wallet.adjusting import AdjustCommand
from dinecard.wallet.schemas import AdjustmentCreate, AdjustmentOut
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, build, container_of, domain_message, new_key, write
from dinecard.web.i18n import register
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter()
PAGE = 20

register(
    {
        "members.title": ("会员查询", "Members"),
        "members.query": ("手机号或卡号", "Phone or card number"),
        "members.search": ("查询", "Search"),
        "members.not_found": ("未找到会员", "No member found"),
        "member.title": ("会员详情", "Member"),
        "member.card_no": ("卡号", "Card number"),
        "member.phone": ("手机号", "Phone"),
        "member.name": ("姓名", "Name"),
        "member.status": ("状态", "Status"),
        "member.level": ("等级", "Level"),
        "member.principal": ("本金余额", "Principal"),
        "member.bonus": ("赠送余额", "Bonus"),
        "member.pending_bonus": ("待发放赠送", "Bonus to come"),
        "member.points": ("可用积分", "Usable points"),
        "member.cumulative_recharge": ("累计充值", "Recharged in all"),
        "member.cumulative_consume": ("累计消费", "Consumed in all"),
        "member.registered_at": ("注册时间", "Registered"),
        "member.coupons": ("可用优惠券", "Usable coupons"),
        "member.level_history": ("等级变化", "Level history"),
        "member.money_history": ("资金流水（最近 20 条）", "Money history (newest 20)"),
        "member.points_history": ("积分流水（最近 20 条）", "Points history (newest 20)"),
        "member.audit": ("操作记录", "Audit entries"),
        "member.time": ("时间", "Time"),
        "member.kind": ("类型", "Kind"),
        "member.order_no": ("单号", "Order"),
        "member.change_principal": ("本金变动", "Principal change"),
        "member.change_bonus": ("赠送变动", "Bonus change"),
        "member.after": ("变动后余额", "Balance after"),
        "member.points_change": ("积分变动", "Points"),
        "member.expires_at": ("到期", "Expires"),
        "member.from_level": ("原等级", "From"),
        "member.to_level": ("新等级", "To"),
        "member.reason": ("原因", "Reason"),
        "member.actor": ("操作人", "By"),
        "member.action": ("操作", "Action"),
        "adjust.title": ("手工调整", "Manual adjustment"),
        "adjust.principal": ("本金（元，可为负）", "Principal (yuan, may be negative)"),
        "adjust.bonus": ("赠送金（元，可为负）", "Bonus (yuan, may be negative)"),
        "adjust.points": ("积分（可为负）", "Points (may be negative)"),
        "adjust.reason": ("调整原因（必填）", "Reason (required)"),
        "adjust.submit": ("确认调整", "Adjust"),
        "adjust.done": ("调整完成，单号 {order_no}", "Adjusted, order {order_no}"),
        "adjust.threshold": (
            "超过 {threshold} 元的调整需要审批；总部管理员可直接审批。",
            "Adjustments above ¥{threshold} need approval; HQ admins approve their own.",
        ),
    }
)


def _find(request: Request, query: str) -> str | None:
    container = container_of(request)
    now = container.clock.now()
    with container.database.read() as session:
        for key in ("phone", "card_no"):
            try:
                return members.find_member_id(session, container.cipher, now, **{key: query})
            except DomainError:
                continue
    return None


@router.get("/members")
def search(request: Request, q: str | None = None) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    query = (q or "").strip()[:40]
    if query:
        member_id = _find(request, query)
        if member_id is not None:
            return RedirectResponse(f"/console/members/{member_id}", status_code=303)
    return render(
        request, "console/members.html", principal=principal, section="members", q=query, not_found=bool(query)
    )


def _detail(request: Request, member_id: str) -> dict[str, Any]:
    container = container_of(request)
    now = container.clock.now()
    program = container.programs.at(now)
    with container.database.read() as session:
        view = members.member_view(session, container.cipher, program, member_id, now)
        coupon_rows = coupons.member_coupons(session, member_id, "usable", now)
        templates = coupons.templates_by_code(session, {row.template_code for row in coupon_rows})
        money, _ = history.money_history(session, member_id, None, PAGE, None)
        points, _ = history.points_history(session, member_id, None, PAGE, None)
        levels = (
            session.execute(
                select(LevelHistory)
                .where(LevelHistory.member_id == member_id)
                .order_by(LevelHistory.id.desc())
                .limit(PAGE)
            )
            .scalars()
            .all()
        )
        entries = audit.list_entries(session, target_id=member_id, limit=PAGE)
    level_names = {level.code: level.name for level in program.levels}
    return {
        "member": view,
        "coupons": [(row, templates[row.template_code]) for row in coupon_rows],
        "money": money,
        "points": points,
        "levels": levels,
        "level_names": level_names,
        "entries": entries,
        "threshold": container.settings.approval_threshold_yuan,
    }


def _show(request: Request, member_id: str, form: dict[str, str] | None = None, refused: Any = None) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    try:
        context = _detail(request, member_id)
    except DomainError:
        return render(request, "console/members.html", status_code=404, section="members", q="", not_found=True)
    form = form or {"principal": "", "bonus": "", "points": "", "reason": "", "idempotency_key": new_key()}
    return render(
        request,
        "console/member.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="members",
        form=form,
        refused=refused,
        done=request.query_params.get("done"),
        **context,
    )


@router.get("/members/{member_id}")
def detail(member_id: str, request: Request) -> Response:
    return _show(request, member_id)


@router.post("/members/{member_id}/adjustments")
def adjust(
    member_id: str,
    request: Request,
    reason: Annotated[str, Form(max_length=400)] = "",
    principal_change: Annotated[str, Form(alias="principal", max_length=20)] = "",
    bonus: Annotated[str, Form(max_length=20)] = "",
    points: Annotated[str, Form(max_length=20)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    form = {
        "principal": principal_change,
        "bonus": bonus,
        "points": points,
        "reason": reason,
        "idempotency_key": idempotency_key or new_key(),
    }
    data: dict[str, Any] = {"reason": reason.strip()}
    for name in ("principal", "bonus", "points"):
        if form[name].strip():
            data[name] = form[name].strip()
    try:
        body: AdjustmentCreate = build(AdjustmentCreate, data)
        store_id = body.store_id or principal.store_id
        authorize(principal, "member.adjust", store_id)
        size = Money(abs(body.principal.fen) + abs(body.bonus.fen)) + Money(abs(body.points))
        try:
            require_approval(request, container, principal, store_id, size)
        except DomainError as refused:
            raise FormRefused({}, domain_message(request, refused)) from refused
        command = AdjustCommand(
            member_id=member_id,
            store_id=store_id,
            principal=body.principal,
            bonus=body.bonus,
            points=body.points,
            reason=body.reason,
            actor_id=principal.key_id,
        )
        answer = write(
            request,
            principal,
            form["idempotency_key"],
            body,
            lambda uow, now: AdjustmentOut.of(adjusting.adjust(uow, container.programs.at(now), command, now)),
        )
    except FormRefused as refused:
        return _show(request, member_id, form, refused)
    return RedirectResponse(f"/console/members/{member_id}?done={answer['order_no']}", status_code=303)
