"""The member day (会员日, R-LIF-3) in a form: the day of the month, the stores, the dish discounts,
and the day's points multiplier (a `member_day` multiplier of the points policy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from dinecard.program.domain import MultiplierKind
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, container_of
from dinecard.web.console_program_base import (
    labels,
    program_page,
    save_change,
    saved,
    stores_of,
)
from dinecard.web.console_program_fields import (
    LIST,
    STORES,
    TEXT,
    document_item,
    form_item,
    form_text,
    read_item,
    read_rows,
)
from dinecard.web.i18n import LANG_COOKIE, locale_of, register, translator
from dinecard.web.session import staff_page

router = APIRouter()

PATH = "/member-day"
DAY = {"day_of_month": TEXT, "stores": STORES}
DISH = {"dish_ids": LIST, "rate": TEXT}
ON = "member_day.on"  # there is a member day (a check box, not a field of the document)
MULTIPLIER = "member_day_multiplier"  # the day's points multiplier (kept in points.multipliers)
BLANK_DAY: dict[str, Any] = {"day_of_month": "18", "stores": []}
BLANK_DISH = {"dish_ids": "", "rate": ""}
KIND = MultiplierKind.MEMBER_DAY.value

register(
    {
        "program.md.on": ("启用会员日", "Hold a member day"),
        "program.md.day_of_month": ("每月几号", "Day of the month"),
        "program.md.day_hint": ("1 到 28 号", "1 to 28"),
        "program.md.stores": ("适用门店", "Stores"),
        "program.md.multiplier": ("会员日积分倍率", "Points multiplier on the day"),
        "program.md.multiplier_hint": ("如 2 即双倍积分；空为不加倍", "2 = double points; empty: none"),
        "program.md.dishes": ("会员日特价菜", "Dish discounts on the day"),
        "program.md.dish_row": ("第 {n} 组特价菜", "Dish discount {n}"),
        "program.md.add_dish": ("增加特价菜", "Add a dish discount"),
        "program.md.dish.dish_ids": ("菜品编号", "Dish ids"),
        "program.md.dish.rate": ("价格比例", "Share of the price paid"),
        "program.md.rate_hint": ("0.5 即半价，0 即免费", "0.5 = half price; 0 = free"),
    }
)


def _page(
    request: Request,
    day: dict[str, Any],
    dishes: list[dict[str, Any]],
    key: str | None = None,
    note: str = "",
    refused: FormRefused | None = None,
) -> Response:
    t = translator(locale_of(request.cookies.get(LANG_COOKIE)))
    found = labels(request, "member_day", DAY, "program.md", "program.member_day")
    found |= labels(
        request,
        "member_day.dish_discounts",
        DISH,
        "program.md.dish",
        "program.md.dishes",
        len(dishes),
        "program.md.dish_row",
    )
    found[f"program.{MULTIPLIER}"] = t("program.md.multiplier")
    return program_page(
        request,
        "console/program_member_day.html",
        PATH,
        key=key,
        note=note,
        refused=refused,
        day=day,
        dishes=dishes,
        stores=stores_of(container_of(request)),
        labels=found,
    )


def _multipliers(document: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = document["points"].setdefault("multipliers", [])
    return found


@router.get("/program/member-day")
def show(request: Request) -> Response:
    program = container_of(request).program
    document = program.model_dump(mode="json")
    timezone = program.business_timezone
    member_day = document["member_day"]
    day = form_item(member_day, DAY, timezone) | {"on": True} if member_day else BLANK_DAY | {"on": False}
    multiplier = next((m["multiplier"] for m in _multipliers(document) if m["kind"] == KIND), "")
    dishes = [form_item(dish, DISH, timezone) for dish in (member_day or {}).get("dish_discounts", [])]
    return _page(request, day | {MULTIPLIER: multiplier}, dishes)


@router.post("/program/member-day")
async def save(request: Request) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, form)


def _save(request: Request, form: FormData) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    adding = form.get("action") == "add"
    day = read_item(form, "member_day", DAY) | {"on": ON in form, MULTIPLIER: form_text(form, MULTIPLIER, 20)}
    dishes = read_rows(form, "member_day.dish_discounts", DISH, adding)
    key, note = form_text(form, "idempotency_key", 80), form_text(form, "note")
    if adding:
        return _page(request, day, [*dishes, dict(BLANK_DISH)], key, note)
    where: dict[str, str] = {}  # the document path of the day's multiplier, once placed

    def change(document: dict[str, Any]) -> None:
        timezone = document["business_timezone"]
        if day["on"]:
            member_day = document_item(day, DAY, timezone, into=document["member_day"] or {})
            member_day["dish_discounts"] = [document_item(row, DISH, timezone) for row in dishes]
            document["member_day"] = member_day
        else:
            document["member_day"] = None
        where.update(_place_multiplier(_multipliers(document), day[MULTIPLIER]))

    try:
        version = save_change(request, principal, form, change)
    except FormRefused as refused:
        if where.get("path") in refused.fields:  # the multiplier's message, next to its field
            refused.fields[f"program.{MULTIPLIER}"] = refused.fields.pop(where["path"])
        return _page(request, day, dishes, key, note, refused)
    return saved(PATH, version)


def _place_multiplier(multipliers: list[dict[str, Any]], value: str) -> dict[str, str]:
    """The day's multiplier into the points policy: changed, added (as code member_day), or
    removed when the field is empty; where it is (to show its message by the field)."""
    index = next((i for i, m in enumerate(multipliers) if m["kind"] == KIND), None)
    if not value:
        multipliers[:] = [m for m in multipliers if m["kind"] != KIND]
        return {}
    if index is None:
        taken = {m["code"] for m in multipliers}
        code = next(c for c in (KIND, *(f"{KIND}_{n}" for n in range(2, 100))) if c not in taken)
        multipliers.append({"code": code, "kind": KIND, "multiplier": value})
        index = len(multipliers) - 1
    else:
        multipliers[index] = {**multipliers[index], "multiplier": value}
    return {"path": f"program.points.multipliers.{index}.multiplier"}
