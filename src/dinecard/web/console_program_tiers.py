"""Recharge tiers (充值档位, R-RCH-2/3) in a form: the packages, how recharges earn points, and the
bonus paid out in instalments (赠送分批到账, R-RCH-6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dinecard.program.domain import RechargePointsMode
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, container_of
from dinecard.web.console_program_base import (
    choices,
    labels,
    program_page,
    save_change,
    saved,
)
from dinecard.web.console_program_fields import (
    FLAG,
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

PATH = "/tiers"
TIER = {"amount": TEXT, "bonus": TEXT, "points": TEXT}
RULES = {"package_amounts_only": FLAG, "points_mode": TEXT, "points_per_yuan": TEXT}
DEFERRED = {"immediate_share": TEXT, "instalments": TEXT}
DEFERRED_ON = "recharge.deferred_bonus.on"  # the bonus is paid out in instalments (a check box)
BLANK_TIER = {"amount": "", "bonus": "0.00", "points": "0"}
BLANK_DEFERRED = {"immediate_share": "0.5", "instalments": "1", "on": False}

register(
    {
        "program.tier_amount": ("充值金额（元）", "Amount (yuan)"),
        "program.tier_bonus": ("赠送金额（元）", "Bonus (yuan)"),
        "program.tier_points": ("赠送积分", "Points"),
        "program.tier_remove": ("删除", "Remove"),
        "program.tier_row": ("第 {n} 档", "Tier {n}"),
        "program.add_row": ("增加一档", "Add a tier"),
        "program.tier.amount": ("充值金额（元）", "Amount (yuan)"),
        "program.tier.bonus": ("赠送金额（元）", "Bonus (yuan)"),
        "program.tier.points": ("赠送积分", "Points"),
        "program.recharge": ("充值规则", "Recharge rules"),
        "program.recharge.package_amounts_only": ("只能按档位金额充值", "Only the listed amounts may be recharged"),
        "program.recharge.points_mode": ("充值送积分方式", "Points on recharge"),
        "program.recharge.points_per_yuan": ("每充值 1 元得积分", "Points per yuan recharged"),
        "program.recharge.points_per_yuan_hint": ("按金额送积分时使用", "Used when points follow the amount"),
        "program.deferred_bonus": ("赠送分批到账", "Bonus in instalments"),
        "program.deferred.on": ("赠送金额分批到账", "Pay the bonus out in instalments"),
        "program.deferred.immediate_share": ("立即到账比例", "Share credited at once"),
        "program.deferred.share_hint": ("0.5 即一半立即到账", "0.5 = half at once"),
        "program.deferred.instalments": ("余下分几个月到账", "Monthly instalments of the rest"),
        "program.points_mode.tier": ("按档位赠送积分", "The tier's points"),
        "program.points_mode.per_yuan": ("按充值金额送积分", "Points per yuan of principal"),
    }
)


def _page(
    request: Request,
    rows: list[dict[str, Any]],
    rules: dict[str, Any],
    deferred: dict[str, Any],
    key: str | None = None,
    note: str = "",
    refused: FormRefused | None = None,
) -> Response:
    found = labels(request, "recharge.tiers", TIER, "program.tier", "program.tiers", len(rows), "program.tier_row")
    found |= labels(request, "recharge", RULES, "program.recharge", "program.recharge")
    found |= labels(request, "recharge.deferred_bonus", DEFERRED, "program.deferred", "program.deferred_bonus")
    return program_page(
        request,
        "console/program_tiers.html",
        PATH,
        key=key,
        note=note,
        refused=refused,
        rows=rows,
        rules=rules,
        deferred=deferred,
        labels=found,
        points_modes=choices(request, RechargePointsMode, "program.points_mode"),
    )


@router.get("/program/tiers")
def show(request: Request) -> Response:
    program = container_of(request).program
    recharge = program.model_dump(mode="json")["recharge"]
    timezone = program.business_timezone
    rows = [form_item(tier, TIER, timezone) for tier in recharge["tiers"]]
    offer = recharge["deferred_bonus"]
    deferred = form_item(offer, DEFERRED, timezone) | {"on": True} if offer else dict(BLANK_DEFERRED)
    return _page(request, rows, form_item(recharge, RULES, timezone), deferred)


@router.post("/program/tiers")
async def save(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, form)


def _save(request: Request, form: FormData) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    adding = form.get("action") == "add"
    rows = read_rows(form, "recharge.tiers", TIER, adding)
    rules = read_item(form, "recharge", RULES)
    deferred = read_item(form, "recharge.deferred_bonus", DEFERRED) | {"on": DEFERRED_ON in form}
    key, note = form_text(form, "idempotency_key", 80), form_text(form, "note")
    if adding:
        return _page(request, [*rows, dict(BLANK_TIER)], rules, deferred, key, note)

    def change(document: dict[str, Any]) -> None:
        timezone = document["business_timezone"]
        recharge = document_item(rules, RULES, timezone, into=document["recharge"])
        recharge["tiers"] = [document_item(row, TIER, timezone) for row in rows]
        recharge["deferred_bonus"] = document_item(deferred, DEFERRED, timezone) if deferred["on"] else None
        document["recharge"] = recharge

    try:
        version = save_change(request, principal, form, change)
    except FormRefused as refused:
        return _page(request, rows, rules, deferred, key, note, refused)
    return saved(PATH, version)
