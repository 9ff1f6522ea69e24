"""Recharge campaigns (限时活动, R-RCH-4) and the first-recharge offer (新用户首充, R-RCH-5) in a form:
period, minimum amount, extra bonus and points, budget, per-member limit, stacking, stores."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, container_of
from dinecard.web.console_program_base import (
    labels,
    program_page,
    save_change,
    saved,
    stores_of,
)
from dinecard.web.console_program_fields import (
    FLAG,
    OPTIONAL,
    STORES,
    TEXT,
    WHEN,
    document_item,
    form_item,
    form_text,
    read_item,
    read_rows,
)
from dinecard.web.i18n import LANG_COOKIE, locale_of, register, translator
from dinecard.web.session import staff_page

router = APIRouter()

PATH = "/campaigns"
CAMPAIGN = {
    "code": TEXT,
    "name": TEXT,
    "starts_at": WHEN,
    "ends_at": WHEN,
    "min_amount": TEXT,
    "extra_bonus": TEXT,
    "extra_points": TEXT,
    "budget": OPTIONAL,
    "per_member_limit": OPTIONAL,
    "stacks_with_tier": FLAG,
    "stores": STORES,
}
FIRST = {
    "min_amount": TEXT,
    "extra_bonus": TEXT,
    "gift": TEXT,
    "extra_points": TEXT,
    "stacks_with_tier": FLAG,
    "stores": STORES,
}
FIRST_ON = "recharge.first_recharge.on"  # the offer is in the programme (a check box, not a field of it)
BLANK_CAMPAIGN = dict.fromkeys(CAMPAIGN, "") | {
    "extra_bonus": "0.00",
    "extra_points": "0",
    "stacks_with_tier": True,
    "stores": [],
}
BLANK_FIRST = dict.fromkeys(FIRST, "") | {
    "extra_bonus": "0.00",
    "gift": "0.00",
    "extra_points": "0",
    "stacks_with_tier": True,
    "stores": [],
}

register(
    {
        "program.campaign_row": ("第 {n} 个活动", "Campaign {n}"),
        "program.add_campaign": ("增加活动", "Add a campaign"),
        "program.campaigns_none": ("暂无充值活动", "No recharge campaigns"),
        "program.campaign.code": ("活动编码", "Code"),
        "program.campaign.code_hint": ("小写字母、数字、-、_", "Lower-case letters, digits, - and _"),
        "program.campaign.name": ("活动名称", "Name"),
        "program.campaign.starts_at": ("开始时间", "Starts"),
        "program.campaign.ends_at": ("结束时间（不含）", "Ends (exclusive)"),
        "program.campaign.min_amount": ("充值满（元）", "Recharge of at least (yuan)"),
        "program.campaign.extra_bonus": ("额外赠送（元）", "Extra bonus (yuan)"),
        "program.campaign.extra_points": ("额外赠送积分", "Extra points"),
        "program.campaign.budget": ("赠送总预算（元）", "Budget of extra bonus (yuan)"),
        "program.campaign.per_member_limit": ("每人限享次数", "Times per member"),
        "program.campaign.stacks_with_tier": ("与档位赠送叠加", "On top of the tier's bonus"),
        "program.campaign.stacks_hint": ("不勾选则取两者中较多的一项", "Unticked: the better of the two"),
        "program.campaign.stores": ("适用门店", "Stores"),
        "program.first_recharge": ("新用户首充", "First recharge offer"),
        "program.first.on": ("启用首充优惠", "Offer a first-recharge bonus"),
        "program.first.min_amount": ("首充满（元）", "First recharge of at least (yuan)"),
        "program.first.extra_bonus": ("额外赠送（元）", "Extra bonus (yuan)"),
        "program.first.gift": ("赠品价值（元）", "Gift (yuan)"),
        "program.first.extra_points": ("额外赠送积分", "Extra points"),
        "program.first.stacks_with_tier": ("与档位赠送叠加", "On top of the tier's bonus"),
        "program.first.stores": ("适用门店", "Stores"),
    }
)


def _page(
    request: Request,
    rows: list[dict[str, Any]],
    first: dict[str, Any],
    key: str | None = None,
    note: str = "",
    refused: FormRefused | None = None,
) -> Response:
    container = container_of(request)
    t = translator(locale_of(request.cookies.get(LANG_COOKIE)))
    found = labels(
        request,
        "recharge.campaigns",
        CAMPAIGN,
        "program.campaign",
        "program.campaigns",
        len(rows),
        "program.campaign_row",
    )
    found |= labels(request, "recharge.first_recharge", FIRST, "program.first", "program.first_recharge")
    found["program.recharge"] = t("program.campaigns")
    return program_page(
        request,
        "console/program_campaigns.html",
        PATH,
        key=key,
        note=note,
        refused=refused,
        rows=rows,
        first=first,
        stores=stores_of(container),
        labels=found,
    )


@router.get("/program/campaigns")
def show(request: Request) -> Response:
    program = container_of(request).program
    recharge = program.model_dump(mode="json")["recharge"]
    timezone = program.business_timezone
    rows = [form_item(campaign, CAMPAIGN, timezone) for campaign in recharge["campaigns"]]
    offer = recharge["first_recharge"]
    first = form_item(offer, FIRST, timezone) | {"on": True} if offer else BLANK_FIRST | {"on": False}
    return _page(request, rows, first)


@router.post("/program/campaigns")
async def save(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, form)


def _save(request: Request, form: FormData) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    adding = form.get("action") == "add"
    rows = read_rows(form, "recharge.campaigns", CAMPAIGN, adding)
    first = read_item(form, "recharge.first_recharge", FIRST) | {"on": FIRST_ON in form}
    key, note = form_text(form, "idempotency_key", 80), form_text(form, "note")
    if adding:
        return _page(request, [*rows, dict(BLANK_CAMPAIGN)], first, key, note)

    def change(document: dict[str, Any]) -> None:
        timezone = document["business_timezone"]
        recharge = document["recharge"]
        recharge["campaigns"] = [document_item(row, CAMPAIGN, timezone) for row in rows]
        recharge["first_recharge"] = document_item(first, FIRST, timezone) if first["on"] else None

    try:
        version = save_change(request, principal, form, change)
    except FormRefused as refused:
        return _page(request, rows, first, key, note, refused)
    return saved(PATH, version)
