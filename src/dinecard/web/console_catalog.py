"""Coupon templates (create, rename, restock, stop and restart) and the menu in the console; and the
audit log. The points mall and the lottery are in console_mall.py and console_lottery.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import CouponKind
from dinecard.coupons.schemas import TemplateCreate, TemplateOut, TemplatePatch
from dinecard.menu import service as menu
from dinecard.menu.views import DishCreate, DishOut
from dinecard.security import audit
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused, build, container_of, new_key, write
from dinecard.web.console_rewards_forms import save, texts
from dinecard.web.console_rewards_text import COUPON_WORDS
from dinecard.web.i18n import register
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter()

register(
    {
        "coupons.title": ("优惠券模板", "Coupon templates"),
        "coupons.new": ("新建优惠券模板", "New coupon template"),
        "coupons.code": ("模板编码", "Code"),
        "coupons.name": ("名称", "Name"),
        "coupons.kind": ("类型", "Kind"),
        "coupons.kind.cash": ("无门槛券", "Cash"),
        "coupons.kind.threshold_cash": ("满减券", "Spend-and-save"),
        "coupons.kind.percent": ("折扣券", "Percent off"),
        "coupons.kind.dish": ("菜品券", "Dish"),
        "coupons.kind.free_meal": ("免单券", "Free meal"),
        "coupons.value": ("面额（元，无门槛/满减）", "Value (yuan; cash, spend-and-save)"),
        "coupons.threshold": ("使用门槛（元，满减）", "Threshold (yuan; spend-and-save)"),
        "coupons.rate": ("支付比例（折扣券，如 0.88）", "Share paid (percent; e.g. 0.88)"),
        "coupons.cap": ("最高优惠（元，折扣/菜品/免单）", "Cap (yuan; percent, dish, free meal)"),
        "coupons.dish_ids": ("菜品编号（菜品券，逗号分隔）", "Dish ids (dish; comma-separated)"),
        "coupons.days": ("有效天数", "Valid for days"),
        "coupons.stock": ("库存（空为不限）", "Stock (empty: no limit)"),
        "coupons.per_member_limit": ("每人限领（空为不限）", "Per member (empty: no limit)"),
        "coupons.issued": ("已发放", "Issued"),
        "coupons.active": ("启用", "Active"),
        "coupons.create": ("创建", "Create"),
        "coupons.created": ("已创建 {code}", "Created {code}"),
        "menu.title": ("菜品", "Menu"),
        "menu.new": ("新增菜品", "New dish"),
        "menu.id": ("菜品编号", "Dish id"),
        "menu.name": ("菜名", "Name"),
        "menu.category": ("分类", "Category"),
        "menu.price": ("价格（元）", "Price (yuan)"),
        "menu.create": ("添加", "Add"),
        "menu.created": ("已添加 {code}", "Added {code}"),
        "audit.title": ("审计日志（最近 50 条）", "Audit log (newest 50)"),
        "audit.member": ("会员编号", "Member id"),
        "audit.filter": ("筛选", "Filter"),
        "audit.target": ("对象", "Target"),
    }
)
register(COUPON_WORDS)

COUPON_FIELDS = ("code", "name", "kind", "value", "threshold", "rate", "cap", "dish_ids", "days", "stock", "limit")


NOTICES = frozenset({"saved", "stopped", "started"})


def _coupons_page(
    request: Request,
    form: dict[str, str] | None = None,
    refused: FormRefused | None = None,
    edit_form: dict[str, str] | None = None,
    refused_at: str = "create",
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    with container.database.read() as session:
        rows = [TemplateOut.of(row) for row in coupons.list_templates(session)]
    blank = dict.fromkeys(COUPON_FIELDS, "") | {"kind": "cash", "days": "30", "idempotency_key": new_key()}
    editing = edit_form["code"] if edit_form else request.query_params.get("edit", "")[:40]
    chosen = next((row for row in rows if row.code == editing), None)
    if chosen is not None and edit_form is None:
        edit_form = {"code": chosen.code, "name": chosen.name, "name_en": chosen.name_en or ""}
        edit_form |= {"stock": "" if chosen.stock is None else str(chosen.stock), "idempotency_key": new_key()}
    notice = request.query_params.get("notice")
    return render(
        request,
        "console/coupons.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="coupons",
        templates_=rows,
        kinds=[kind.value for kind in CouponKind],
        form=form or blank,
        refused=refused,
        refused_at=refused_at,
        edited=chosen,
        edit_form=edit_form if chosen is not None else None,
        keys={row.code: new_key() for row in rows},
        created=request.query_params.get("created"),
        notice=notice if notice in NOTICES else None,
        notice_id=request.query_params.get("id", "")[:40],
    )


@router.get("/coupons")
def coupon_templates(request: Request) -> Response:
    return _coupons_page(request)


@router.post("/coupons")
async def create_coupon_template(request: Request) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    submitted = await request.form()
    form = {name: str(submitted.get(name, "")).strip()[:200] for name in (*COUPON_FIELDS, "idempotency_key")}
    data: dict[str, Any] = {"code": form["code"], "name": form["name"], "kind": form["kind"]}
    for name in ("value", "threshold", "rate", "cap", "stock"):
        if form[name]:
            data[name] = form[name]
    if form["limit"]:
        data["per_member_limit"] = form["limit"]
    if form["dish_ids"]:
        data["dish_ids"] = [item.strip() for item in form["dish_ids"].replace("，", ",").split(",") if item.strip()]
    data["validity"] = {"days": form["days"] or None}
    try:
        authorize(principal, "coupon_template.manage")
        body: TemplateCreate = build(TemplateCreate, data)
        fields = coupons.TemplateFields(body.name, body.name_en, body.stock, body.active)
        write(
            request,
            principal,
            form["idempotency_key"],
            body,
            lambda uow, now: TemplateOut.of(
                coupons.create_template(uow, body.code, fields, body.rules(), now, container.programs.at(now))
            ),
        )
    except FormRefused as refused:
        return _coupons_page(request, form, refused)
    return RedirectResponse(f"/console/coupons?created={body.code}", status_code=303)


@router.post("/coupons/{template_code}")
async def change_coupon_template(request: Request, template_code: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    form = texts(await request.form(), ("name", "name_en", "stock", "idempotency_key")) | {"code": template_code}
    data = {"name": form["name"], "name_en": form["name_en"] or None, "stock": form["stock"] or None}
    try:
        authorize(principal, "coupon_template.manage")
        body: TemplatePatch = build(TemplatePatch, data)
        _patch_template(request, principal, template_code, form["idempotency_key"], body)
    except FormRefused as refused:
        return _coupons_page(request, refused=refused, edit_form=form, refused_at="edit")
    return RedirectResponse(f"/console/coupons?notice=saved&id={template_code}", status_code=303)


@router.post("/coupons/{template_code}/active")
async def stop_or_restart_coupon_template(request: Request, template_code: str) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    form = texts(await request.form(), ("active", "idempotency_key"))
    try:
        authorize(principal, "coupon_template.manage")
        body: TemplatePatch = build(TemplatePatch, {"active": form["active"]})
        _patch_template(request, principal, template_code, form["idempotency_key"], body)
    except FormRefused as refused:
        return _coupons_page(request, refused=refused, refused_at="list")
    notice = "started" if body.active else "stopped"
    return RedirectResponse(f"/console/coupons?notice={notice}&id={template_code}", status_code=303)


def _patch_template(request: Request, principal: Principal, code: str, key: str, body: TemplatePatch) -> None:
    """PATCH /api/v1/coupon-templates/{template_code}: the fields sent change, the others stay."""

    def operation(uow, now):  # type: ignore[no-untyped-def]
        return TemplateOut.of(coupons.patch_template(uow, code, body.changes(), now))

    save(request, principal, key, body, operation)


def _menu_page(request: Request, form: dict[str, str] | None = None, refused: FormRefused | None = None) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    with container.database.read() as session:
        dishes = [DishOut.of(row) for row in menu.list_dishes(session, None, None)]
    blank = {"id": "", "name": "", "category": "", "price": "", "idempotency_key": new_key()}
    return render(
        request,
        "console/menu.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="menu",
        dishes=dishes,
        form=form or blank,
        refused=refused,
        created=request.query_params.get("created"),
    )


@router.get("/menu")
def dishes(request: Request) -> Response:
    return _menu_page(request)


@router.post("/menu")
def create_dish(
    request: Request,
    dish_id: Annotated[str, Form(alias="id", max_length=60)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    category: Annotated[str, Form(max_length=60)] = "",
    price: Annotated[str, Form(max_length=20)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    form = {"id": dish_id.strip(), "name": name.strip(), "category": category.strip(), "price": price.strip()}
    form["idempotency_key"] = idempotency_key or new_key()
    try:
        authorize(principal, "menu.manage")
        body: DishCreate = build(DishCreate, {key: form[key] for key in ("id", "name", "category", "price")})
        write(
            request,
            principal,
            form["idempotency_key"],
            body,
            lambda uow, now: DishOut.of(menu.create_dish(uow, body.id, body.fields(), now, container.programs.at(now))),
        )
    except FormRefused as refused:
        return _menu_page(request, form, refused)
    return RedirectResponse(f"/console/menu?created={body.id}", status_code=303)


@router.get("/audit")
def audit_log(request: Request, member: str | None = None) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    member_id = (member or "").strip()[:40] or None
    with container.database.read() as session:
        entries = audit.list_entries(session, target_id=member_id, limit=50)
    return render(
        request, "console/audit.html", principal=principal, section="audit", entries=entries, member=member_id or ""
    )
