"""Member levels (会员等级, R-LVL) in a form: names, thresholds, benefits, gifts, the points price
that buys a level (R-PTS-4), and the level policy (discount scope, downgrade, retention)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dinecard.program.domain import DiscountScope
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
    OPTIONAL,
    TEXT,
    document_item,
    form_item,
    form_text,
    read_item,
    read_rows,
)
from dinecard.web.i18n import register
from dinecard.web.session import staff_page

router = APIRouter()

PATH = "/levels"
LEVEL = {
    "code": TEXT,
    "name": TEXT,
    "name_en": TEXT,
    "min_recharge": OPTIONAL,
    "min_consume": OPTIONAL,
    "discount": TEXT,
    "multiplier": TEXT,
    "birthday_gift_points": TEXT,
    "upgrade_gift_points": TEXT,
    "points_price": OPTIONAL,
    "upgrade_gift_coupons": LIST,
    "birthday_gift_coupons": LIST,
    "benefits": LIST,
}
POLICY = {"discount_applies": TEXT, "downgrade_after_months": OPTIONAL, "retention_quarter_consume": OPTIONAL}
BLANK_LEVEL = dict.fromkeys(LEVEL, "") | {
    "discount": "1",
    "multiplier": "1",
    "birthday_gift_points": "0",
    "upgrade_gift_points": "0",
}

register(
    {
        "program.level_row": ("第 {n} 级", "Level {n}"),
        "program.add_level": ("增加等级", "Add a level"),
        "program.level.code": ("等级编码", "Code"),
        "program.level.name": ("中文名称", "Name (Chinese)"),
        "program.level.name_en": ("英文名称", "Name (English)"),
        "program.level.min_recharge": ("累计充值门槛（元）", "Cumulative recharge (yuan)"),
        "program.level.min_consume": ("累计消费门槛（元）", "Cumulative consumption (yuan)"),
        "program.level.threshold_hint": (
            "空为不按此升级；入门等级两项皆空",
            "Empty: not a path up; both empty on the entry level",
        ),
        "program.level.discount": ("折扣（应付比例）", "Discount (share paid)"),
        "program.level.discount_hint": ("0.95 即 9.5 折，1 为不打折", "0.95 = 5 % off; 1 = no discount"),
        "program.level.multiplier": ("积分倍率", "Points multiplier"),
        "program.level.multiplier_hint": ("1 为不加倍", "1 = no extra points"),
        "program.level.birthday_gift_points": ("生日赠送积分", "Birthday gift points"),
        "program.level.upgrade_gift_points": ("升级赠送积分", "Upgrade gift points"),
        "program.level.points_price": ("积分购买价", "Points price"),
        "program.level.points_price_hint": (
            "从前一等级用积分购买此等级；空为不可购买",
            "Buys this level from the one below; empty: not for sale",
        ),
        "program.level.upgrade_gift_coupons": ("升级赠券（模板编码）", "Upgrade gift coupons (template codes)"),
        "program.level.birthday_gift_coupons": ("生日赠券（模板编码）", "Birthday gift coupons (template codes)"),
        "program.level.benefits": ("权益标识", "Benefit flags"),
        "program.level_policy": ("等级规则", "Level policy"),
        "program.level_policy.discount_applies": ("等级折扣适用于", "The level discount applies"),
        "program.level_policy.downgrade_after_months": ("无消费几个月后降级", "Downgrade after months without a visit"),
        "program.level_policy.downgrade_hint": ("空为不降级", "Empty: never"),
        "program.level_policy.retention_quarter_consume": (
            "每季度消费满此额保级（元）",
            "Quarterly spend that keeps the level (yuan)",
        ),
        "program.discount_scope.always": ("所有账单", "To every bill"),
        "program.discount_scope.balance_payment": ("仅用储值支付的账单", "Only to bills paid from the balance"),
    }
)


def _page(
    request: Request,
    rows: list[dict[str, Any]],
    policy: dict[str, Any],
    key: str | None = None,
    note: str = "",
    refused: FormRefused | None = None,
) -> Response:
    found = labels(request, "levels", LEVEL, "program.level", "program.levels", len(rows), "program.level_row")
    found |= labels(request, "level_policy", POLICY, "program.level_policy", "program.level_policy")
    return program_page(
        request,
        "console/program_levels.html",
        PATH,
        key=key,
        note=note,
        refused=refused,
        rows=rows,
        policy=policy,
        labels=found,
        scopes=choices(request, DiscountScope, "program.discount_scope"),
    )


@router.get("/program/levels")
def show(request: Request) -> Response:
    program = container_of(request).program
    document = program.model_dump(mode="json")
    timezone = program.business_timezone
    rows = [form_item(level, LEVEL, timezone) for level in document["levels"]]
    return _page(request, rows, form_item(document["level_policy"], POLICY, timezone))


@router.post("/program/levels")
async def save(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, form)


def _save(request: Request, form: FormData) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    adding = form.get("action") == "add"
    rows = read_rows(form, "levels", LEVEL, adding)
    policy = read_item(form, "level_policy", POLICY)
    key, note = form_text(form, "idempotency_key", 80), form_text(form, "note")
    if adding:
        return _page(request, [*rows, dict(BLANK_LEVEL)], policy, key, note)

    def change(document: dict[str, Any]) -> None:
        timezone = document["business_timezone"]
        document["levels"] = [document_item(row, LEVEL, timezone) for row in rows]
        document["level_policy"] = document_item(policy, POLICY, timezone, into=document["level_policy"])

    try:
        version = save_change(request, principal, form, change)
    except FormRefused as refused:
        return _page(request, rows, policy, key, note, refused)
    return saved(PATH, version)
