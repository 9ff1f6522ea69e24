"""Lotteries in the console (抽奖): each lottery with its prizes' chances and the expected cost per
draw as the API computes them (lottery.views.lottery_out); forms to create one with its prize
table, change its settings, replace its prizes, stop and restart it — the API's models and calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dinecard.coupons import service as coupons
from dinecard.coupons.schemas import TemplateOut
from dinecard.lottery import service
from dinecard.lottery.domain import PrizeKind
from dinecard.lottery.schemas import LotteryCreate, LotteryOut, LotteryPatch, PrizesReplace
from dinecard.lottery.views import lottery_out
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, build, container_of, domain_message, new_key
from dinecard.web.console_rewards_forms import (
    BLANK_PRIZE,
    PRIZE,
    aware,
    local_input,
    percent,
    prize_body,
    prize_rows,
    save,
    texts,
)
from dinecard.web.console_rewards_text import LOTTERY_WORDS
from dinecard.web.i18n import LANG_COOKIE, locale_of, register, translator
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter()

register(LOTTERY_WORDS)

NOTICES = frozenset({"created", "saved", "prizes", "stopped", "started"})
SETTINGS = ("name", "name_en", "cost_points", "daily_limit", "starts_at", "ends_at")


def _settings(form: dict[str, str], timezone: str) -> dict[str, Any]:
    """The lottery's fields as the API's body has them: name and cost as typed, the rest null when empty."""
    data: dict[str, Any] = {name: form[name] or None for name in SETTINGS}
    data |= {"name": form["name"], "cost_points": form["cost_points"]}
    return data | {name: aware(form[name], timezone) for name in ("starts_at", "ends_at")}


def _labels(request: Request, count: int) -> dict[str, str]:
    """Where a message belongs, in words: "第 2 个奖品 权重" for prizes.1.weight."""
    t = translator(locale_of(request.cookies.get(LANG_COOKIE)))
    labels = {name: t(f"lottery.{name}") for name in ("id", "name", "name_en", "daily_limit", "starts_at", "ends_at")}
    labels |= {"cost_points": t("lottery.cost"), "prizes": t("lottery.prizes")}
    for index in range(count):
        row = t("lottery.prize_row", n=index + 1)
        labels |= {f"prizes.{index}.{name}": f"{row} {t('lottery.prize.' + name)}" for name in PRIZE}
    return labels


def _context(request: Request, lottery_id: str | None = None) -> dict[str, Any]:
    container = container_of(request)
    now = container.clock.now()
    with container.database.read() as session:
        rows = [service.get_lottery(session, lottery_id)] if lottery_id else service.list_lotteries(session)
        lotteries = [lottery_out(session, container, row, now) for row in rows]
        templates = [TemplateOut.of(row) for row in coupons.list_templates(session)]
    notice = request.query_params.get("notice")
    return {
        "section": "lottery",
        "lotteries": lotteries,
        "templates_": templates,
        "prize_kinds": [kind.value for kind in PrizeKind],
        "percent": percent,
        "notice": notice if notice in NOTICES else None,
        "notice_id": request.query_params.get("id", "")[:40],
        "keys": {lottery.id: new_key() for lottery in lotteries},
    }


def _list_page(
    request: Request,
    form: dict[str, str] | None = None,
    rows: list[dict[str, str]] | None = None,
    refused: FormRefused | None = None,
    refused_at: str = "create",
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    blank = dict.fromkeys(("id", *SETTINGS), "") | {"cost_points": "100", "idempotency_key": new_key()}
    rows = rows if rows is not None else [dict(BLANK_PRIZE), dict(BLANK_PRIZE) | {"kind": "nothing"}]
    return render(
        request,
        "console/lottery.html",
        principal=principal,
        form=form or blank,
        rows=rows,
        status_code=404 if refused_at == "list" else 422 if refused else 200,
        refused=refused,
        refused_at=refused_at,
        labels=_labels(request, len(rows)),
        **_context(request),
    )


@router.get("/lottery")
def lotteries(request: Request) -> Response:
    return _list_page(request)


@router.post("/lottery")
async def create_lottery(request: Request) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    submitted = await request.form()
    form = texts(submitted, ("id", *SETTINGS, "action", "idempotency_key"))
    rows = prize_rows(submitted)
    if form["action"] == "add":
        return _list_page(request, form, [*rows, dict(BLANK_PRIZE)])
    data = {"id": form["id"], **_settings(form, container.program.business_timezone)}
    data = {name: value for name, value in data.items() if value is not None}
    try:
        authorize(principal, "lottery.manage")
        body: LotteryCreate = build(LotteryCreate, data | {"prizes": [prize_body(row) for row in rows]})
        fields = service.LotteryFields(**body.model_dump(include=set(service.PATCHABLE)))
        prizes = [prize.spec() for prize in body.prizes]
        save(
            request,
            principal,
            form["idempotency_key"],
            body,
            lambda uow, now: lottery_out(
                uow.session, container, service.create_lottery(uow, body.id, fields, prizes, now), now
            ),
        )
    except FormRefused as refused:
        return _list_page(request, form, rows, refused)
    return RedirectResponse(f"/console/lottery/{body.id}?notice=created&id={body.id}", status_code=303)


def _detail_page(
    request: Request,
    lottery_id: str,
    refused_at: str = "",
    refused: FormRefused | None = None,
    form: dict[str, str] | None = None,
    rows: list[dict[str, str]] | None = None,
    prizes_key: str | None = None,
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    timezone = container_of(request).program.business_timezone
    try:
        context = _context(request, lottery_id)
    except DomainError as missing:
        return _list_page(request, refused=FormRefused({}, domain_message(request, missing)), refused_at="list")
    lottery: LotteryOut = context["lotteries"][0]
    if form is None:
        form = {name: "" if getattr(lottery, name) is None else str(getattr(lottery, name)) for name in SETTINGS}
        form |= {name: local_input(getattr(lottery, name), timezone) for name in ("starts_at", "ends_at")}
        form["idempotency_key"] = new_key()
    if rows is None:
        rows = [
            {name: "" if getattr(p, name) is None else str(getattr(p, name)) for name in PRIZE} for p in lottery.prizes
        ]
    return render(
        request,
        "console/lottery_detail.html",
        status_code=422 if refused else 200,
        principal=principal,
        lottery=lottery,
        form=form,
        rows=rows,
        prizes_key=prizes_key or new_key(),
        refused=refused,
        refused_at=refused_at,
        labels=_labels(request, len(rows)),
        **context,
    )


@router.get("/lottery/{lottery_id}")
def lottery(request: Request, lottery_id: str) -> Response:
    return _detail_page(request, lottery_id[:40])


@router.post("/lottery/{lottery_id}")
async def change_settings(request: Request, lottery_id: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    submitted = await request.form()
    form = texts(submitted, (*SETTINGS, "idempotency_key"))
    try:
        authorize(principal, "lottery.manage")
        body: LotteryPatch = build(LotteryPatch, _settings(form, container_of(request).program.business_timezone))
        _patch(request, principal, lottery_id, form["idempotency_key"], body)
    except FormRefused as refused:
        return _detail_page(request, lottery_id, "settings", form=form, refused=refused)
    return RedirectResponse(f"/console/lottery/{lottery_id}?notice=saved&id={lottery_id}", status_code=303)


@router.post("/lottery/{lottery_id}/prizes")
async def replace_prizes(request: Request, lottery_id: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    submitted = await request.form()
    form = texts(submitted, ("action", "idempotency_key"))
    rows = prize_rows(submitted)
    if form["action"] == "add":
        return _detail_page(request, lottery_id, rows=[*rows, dict(BLANK_PRIZE)], prizes_key=form["idempotency_key"])
    try:
        authorize(principal, "lottery.manage")
        body: PrizesReplace = build(PrizesReplace, {"prizes": [prize_body(row) for row in rows]})
        prizes = [prize.spec() for prize in body.prizes]
        save(
            request,
            principal,
            form["idempotency_key"],
            body,
            lambda uow, now: lottery_out(
                uow.session, container, service.replace_prizes(uow, lottery_id, prizes, now), now
            ),
        )
    except FormRefused as refused:
        return _detail_page(
            request, lottery_id, "prizes", rows=rows, prizes_key=form["idempotency_key"], refused=refused
        )
    return RedirectResponse(f"/console/lottery/{lottery_id}?notice=prizes&id={lottery_id}", status_code=303)


@router.post("/lottery/{lottery_id}/active")
async def stop_or_restart(request: Request, lottery_id: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    form = texts(await request.form(), ("active", "idempotency_key"))
    try:
        authorize(principal, "lottery.manage")
        body: LotteryPatch = build(LotteryPatch, {"active": form["active"]})
        _patch(request, principal, lottery_id, form["idempotency_key"], body)
    except FormRefused as refused:
        return _detail_page(request, lottery_id, "active", refused=refused)
    notice = "started" if body.active else "stopped"
    return RedirectResponse(f"/console/lottery/{lottery_id}?notice={notice}&id={lottery_id}", status_code=303)


def _patch(request: Request, principal: Principal, lottery_id: str, key: str, body: LotteryPatch) -> None:
    """PATCH /api/v1/lotteries/{lottery_id}, as the API does it."""
    container = container_of(request)
    save(
        request,
        principal,
        key,
        body,
        lambda uow, now: lottery_out(
            uow.session, container, service.update_lottery(uow, lottery_id, body.changes(), now), now
        ),
    )
