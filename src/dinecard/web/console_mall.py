"""The points mall in the console (积分商城): the rewards with their stock and redemptions, a form
to list a new one, a form to change what the API's PATCH changes, stop and restart. Every write
goes through the API's own body models and service calls (console_common.build / write)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dinecard.coupons import service as coupons
from dinecard.coupons.schemas import TemplateOut
from dinecard.mall import domain, service
from dinecard.mall.domain import RewardKind
from dinecard.mall.schemas import RewardCreate, RewardOut, RewardPatch
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, build, container_of, domain_message, new_key
from dinecard.web.console_rewards_forms import aware, local_input, moment, save, texts
from dinecard.web.console_rewards_text import MALL_WORDS
from dinecard.web.i18n import register
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter()

register(MALL_WORDS)

NOTICES = frozenset({"created", "saved", "stopped", "started"})
CREATE_FIELDS = (
    "id",
    "name",
    "name_en",
    "kind",
    "coupon_template_code",
    "points_price",
    "stock",
    "per_member_limit",
    "cancel_window_hours",
    "starts_at",
    "ends_at",
)
EDIT_FIELDS = tuple(name for name in CREATE_FIELDS if name not in ("id", "kind", "coupon_template_code"))
# Sent as typed even when empty, so the API's model names what is missing; the others are null when empty.
REQUIRED = frozenset({"id", "name", "kind", "points_price", "cancel_window_hours"})


def _body(form: dict[str, str], levels: list[str], timezone: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in form.items():
        if name in ("starts_at", "ends_at"):
            data[name] = aware(value, timezone)
        elif name != "idempotency_key":
            data[name] = value if name in REQUIRED else (value or None)
    data["levels"] = levels or None
    return data


def _placed(refused: FormRefused, data: dict[str, Any]) -> FormRefused:
    """RewardCreate judges kind-and-template and the window on the whole body: put its message by
    the field it is about, found with the same rules (mall.domain)."""
    message = refused.fields.get("")
    if message is None:
        return refused
    kind = data.get("kind") if data.get("kind") in set(RewardKind) else None
    if kind is not None and domain.shape_problem(RewardKind(kind), data.get("coupon_template_code"), None):
        where = "coupon_template_code"
    elif domain.window_problem(moment(data.get("starts_at")), moment(data.get("ends_at"))):
        where = "ends_at"
    else:
        return refused
    return FormRefused({**{k: v for k, v in refused.fields.items() if k}, where: message}, refused.message)


def _context(request: Request) -> dict[str, Any]:
    container = container_of(request)
    with container.database.read() as session:
        rewards = [RewardOut.of(row) for row in service.list_rewards(session)]
        templates = [TemplateOut.of(row) for row in coupons.list_templates(session)]
    return {
        "section": "mall",
        "rewards": rewards,
        "templates_": templates,
        "kinds": [kind.value for kind in RewardKind],
        "levels": container.program.levels,
        "keys": {reward.id: new_key() for reward in rewards},
    }


def _list_page(
    request: Request,
    form: dict[str, str] | None = None,
    levels: list[str] | None = None,
    refused: FormRefused | None = None,
    status_code: int | None = None,
    refused_at: str = "create",
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    blank = dict.fromkeys(CREATE_FIELDS, "") | {"kind": "dish", "cancel_window_hours": "24", "active": "on"}
    notice = request.query_params.get("notice")
    return render(
        request,
        "console/mall.html",
        status_code=status_code or (422 if refused else 200),
        principal=principal,
        form=form or blank | {"idempotency_key": new_key()},
        chosen=levels or [],
        refused=refused,
        refused_at=refused_at,
        notice=notice if notice in NOTICES else None,
        notice_id=request.query_params.get("id", "")[:40],
        **_context(request),
    )


@router.get("/rewards")
def old_address() -> Response:
    """The mall and the lottery had one read-only screen here; they have their own now."""
    return RedirectResponse("/console/mall", status_code=303)


@router.get("/mall")
def rewards(request: Request) -> Response:
    return _list_page(request)


@router.post("/mall")
async def create_reward(request: Request) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    submitted = await request.form()
    form = texts(submitted, (*CREATE_FIELDS, "idempotency_key"))
    form["active"] = "on" if submitted.get("active") else ""
    levels = [str(code)[:20] for code in submitted.getlist("levels")]
    data = _body({k: v for k, v in form.items() if k != "active"}, levels, container.program.business_timezone)
    data = {name: value for name, value in data.items() if value is not None} | {"active": bool(form["active"])}
    try:
        authorize(principal, "mall.manage")
        try:
            body: RewardCreate = build(RewardCreate, data)
        except FormRefused as refused:
            raise _placed(refused, data) from refused
        save(
            request,
            principal,
            form["idempotency_key"],
            body,
            lambda uow, now: RewardOut.of(service.create_reward(uow, container.programs.at(now), body.fields(), now)),
        )
    except FormRefused as refused:
        return _list_page(request, form, levels, refused)
    return RedirectResponse(f"/console/mall?notice=created&id={body.id}", status_code=303)


def _edit_page(
    request: Request,
    reward_id: str,
    form: dict[str, str] | None = None,
    levels: list[str] | None = None,
    refused: FormRefused | None = None,
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    try:
        with container.database.read() as session:
            reward = RewardOut.of(service.get_reward(session, reward_id))
    except DomainError as missing:
        refused = FormRefused({}, domain_message(request, missing))
        return _list_page(request, refused=refused, status_code=404, refused_at="list")
    timezone = container.program.business_timezone
    current = {name: "" if getattr(reward, name) is None else str(getattr(reward, name)) for name in EDIT_FIELDS}
    current |= {name: local_input(getattr(reward, name), timezone) for name in ("starts_at", "ends_at")}
    return render(
        request,
        "console/mall_edit.html",
        status_code=422 if refused else 200,
        principal=principal,
        reward=reward,
        form=form or current | {"idempotency_key": new_key()},
        chosen=levels if form is not None else (reward.levels or []),
        refused=refused,
        **_context(request),
    )


@router.get("/mall/{reward_id}")
def reward(request: Request, reward_id: str) -> Response:
    return _edit_page(request, reward_id[:40])


@router.post("/mall/{reward_id}")
async def change_reward(request: Request, reward_id: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    submitted = await request.form()
    form = texts(submitted, (*EDIT_FIELDS, "idempotency_key"))
    levels = [str(code)[:20] for code in submitted.getlist("levels")]
    data = _body(form, levels, container.program.business_timezone)
    try:
        authorize(principal, "mall.manage")
        body: RewardPatch = build(RewardPatch, data)
        _patch(request, principal, reward_id, form["idempotency_key"], body)
    except FormRefused as refused:
        return _edit_page(request, reward_id, form, levels, refused)
    return RedirectResponse(f"/console/mall?notice=saved&id={reward_id}", status_code=303)


@router.post("/mall/{reward_id}/active")
async def stop_or_restart(request: Request, reward_id: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    submitted = await request.form()
    form = texts(submitted, ("active", "idempotency_key"))
    try:
        authorize(principal, "mall.manage")
        body: RewardPatch = build(RewardPatch, {"active": form["active"]})
        _patch(request, principal, reward_id, form["idempotency_key"], body)
    except FormRefused as refused:
        return _list_page(request, refused=refused, refused_at="list")
    notice = "started" if body.active else "stopped"
    return RedirectResponse(f"/console/mall?notice={notice}&id={reward_id}", status_code=303)


def _patch(request: Request, principal: Principal, reward_id: str, key: str, body: RewardPatch) -> None:
    """PATCH /api/v1/mall/rewards/{reward_id}, as the API does it."""
    container = container_of(request)
    save(
        request,
        principal,
        key,
        body,
        lambda uow, now: RewardOut.of(
            service.update_reward(uow, container.programs.at(now), reward_id, body.changes(), now)
        ),
    )
