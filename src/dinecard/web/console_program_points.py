"""Points policy (积分规则, R-PTS) in a form: earning, redemption at checkout, expiry and reminders.

The points multipliers and spend bonuses of the policy are kept as they are (the member day's
multiplier is edited with the member day)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dinecard.program.domain import ExpiryPolicyKind, PointsRounding, Stacking
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, container_of
from dinecard.web.console_program_base import (
    choices,
    labels,
    program_page,
    save_change,
    saved,
)
from dinecard.web.console_program_fields import (
    LIST,
    TEXT,
    document_item,
    form_item,
    form_text,
    read_item,
)
from dinecard.web.i18n import register
from dinecard.web.session import staff_page

router = APIRouter()

PATH = "/points"
POINTS = {
    "earn_per_yuan": TEXT,
    "rounding": TEXT,
    "stacking": TEXT,
    "redemption.points_per_yuan": TEXT,
    "redemption.min_points": TEXT,
    "redemption.max_share": TEXT,
    "expiry.policy": TEXT,
    "expiry.months": TEXT,
    "expiry.years": TEXT,
    "reminder_days": LIST,
    "refund_grace_days": TEXT,
}

register(
    {
        "program.pts.earning": ("消费得积分", "Earning"),
        "program.pts.redeeming": ("积分抵现", "Redemption at checkout"),
        "program.pts.expiring": ("积分有效期", "Expiry"),
        "program.pts.earn_per_yuan": ("每消费 1 元得积分", "Points per yuan spent"),
        "program.pts.rounding": ("积分取整", "Rounding"),
        "program.pts.stacking": ("多个倍率活动同时生效时", "When several multipliers apply"),
        "program.pts.redemption.points_per_yuan": ("多少积分抵 1 元", "Points worth one yuan"),
        "program.pts.redemption.min_points": ("每单最少使用积分", "Fewest points a checkout may use"),
        "program.pts.redemption.max_share": ("最多抵账单比例", "Largest share of a bill"),
        "program.pts.max_share_hint": ("0.5 即最多抵 50%，1 为可全额抵扣", "0.5 = up to half the bill; 1 = all of it"),
        "program.pts.expiry.policy": ("到期方式", "Expiry"),
        "program.pts.expiry.months": ("月数", "Months"),
        "program.pts.months_hint": ("用于按月滚动和月底到期", "For rolling months and end of month"),
        "program.pts.expiry.years": ("年数", "Years"),
        "program.pts.years_hint": ("用于年底到期", "For end of year"),
        "program.pts.reminder_days": ("到期前几天提醒", "Remind days before expiry"),
        "program.pts.refund_grace_days": ("退款退回积分的宽限天数", "Grace days for points given back on refunds"),
        "program.rounding.down": ("向下取整", "Round down"),
        "program.rounding.half_up": ("四舍五入", "Round half up"),
        "program.stacking.highest_campaign_times_level": ("取最高倍率 × 等级倍率", "Highest × level"),
        "program.stacking.product_of_campaigns_times_level": ("各倍率相乘 × 等级倍率", "Product × level"),
        "program.stacking.sum_of_extras_times_level": ("加成相加 × 等级倍率", "Sum of extras × level"),
        "program.expiry_policy.rolling_months": ("获得后按月滚动到期", "Rolling months after earning"),
        "program.expiry_policy.end_of_month": ("到期月份的月底", "End of the month"),
        "program.expiry_policy.end_of_year": ("到期年份的年底", "End of the year"),
        "program.expiry_policy.never": ("永不过期", "Never"),
        "program.expiry_kind.rolling_months": ("获得后 {months} 个月到期", "{months} months after earning"),
        "program.expiry_kind.end_of_month": (
            "获得当月起 {months} 个月后的月底到期",
            "End of the month {months} months after earning",
        ),
        "program.expiry_kind.end_of_year": (
            "获得当年起 {years} 年后的年底到期",
            "End of the year {years} years after earning",
        ),
        "program.expiry_kind.never": ("永不过期", "Never"),
    }
)


def _page(
    request: Request, points: dict[str, Any], key: str | None = None, note: str = "", refused: FormRefused | None = None
) -> Response:
    return program_page(
        request,
        "console/program_points.html",
        PATH,
        key=key,
        note=note,
        refused=refused,
        points=points,
        labels=labels(request, "points", POINTS, "program.pts", "program.points"),
        roundings=choices(request, PointsRounding, "program.rounding"),
        stackings=choices(request, Stacking, "program.stacking"),
        expiries=choices(request, ExpiryPolicyKind, "program.expiry_policy"),
    )


@router.get("/program/points")
def show(request: Request) -> Response:
    program = container_of(request).program
    return _page(request, form_item(program.model_dump(mode="json")["points"], POINTS, program.business_timezone))


@router.post("/program/points")
async def save(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, form)


def _save(request: Request, form: FormData) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    points = read_item(form, "points", POINTS)

    def change(document: dict[str, Any]) -> None:
        document["points"] = document_item(points, POINTS, document["business_timezone"], into=document["points"])

    try:
        version = save_change(request, principal, form, change)
    except FormRefused as refused:
        return _page(request, points, form_text(form, "idempotency_key", 80), form_text(form, "note"), refused)
    return saved(PATH, version)
