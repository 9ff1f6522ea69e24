"""Stores (门店) in the console, and the router of the organisation screens: stores, staff, API keys.

Every write goes through the API's own path (console_common.write: idempotent, audited, one
transaction) and the same service function the API endpoint calls.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dinecard.shared import errors
from dinecard.stores import service
from dinecard.stores.views import StoreChange, StoreCreate, StoreOut
from dinecard.web import console_org_keys, console_org_staff
from dinecard.web.console_common import FormRefused, build, container_of, new_key, write
from dinecard.web.console_org_forms import page_principal, placed, store_rows, t_of
from dinecard.web.i18n import register
from dinecard.web.templating import render

router = APIRouter()

register(
    {
        "stores.title": ("门店", "Stores"),
        "stores.list": ("全部门店", "All stores"),
        "stores.code": ("门店编号", "Store code"),
        "stores.name": ("门店名称", "Store name"),
        "stores.created_at": ("开店时间", "Opened"),
        "stores.count": ("共 {n} 家门店", "{n} stores"),
        "stores.new": ("新开门店", "Open a store"),
        "stores.create": ("创建门店", "Create store"),
        "stores.created": ("已创建门店 {code}", "Store {code} created"),
        "stores.code_hint": ("1–20 位字母、数字、- 或 _，如 C001", "1–20 letters, digits, - or _, e.g. C001"),
        "stores.name_hint": ("1–80 个字", "1–80 characters"),
        "stores.staff_link": ("为该店添加员工", "Add staff for this store"),
        "stores.rename": ("改名", "Rename"),
        "stores.rename_label": ("修改 {code} 的名称", "Rename {code}"),
        "stores.rename_title": ("修改门店名称：{code}", "Rename store {code}"),
        "stores.renamed": ("已修改门店 {code} 的名称", "Store {code} renamed"),
    }
)

STORE_FIELDS = ("code", "name")


def _page(request: Request, form: dict[str, str] | None = None, refused: FormRefused | None = None) -> Response:
    principal = page_principal(request, "store.list")
    t = t_of(request)
    return render(
        request,
        "console/stores.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="stores",
        stores=store_rows(container_of(request)),
        form=form or {"code": "", "name": "", "idempotency_key": new_key()},
        refused=refused,
        labels={name: t(f"stores.{name}") for name in STORE_FIELDS},
        created=request.query_params.get("created"),
        renamed=request.query_params.get("renamed"),
    )


@router.get("/stores")
def list_stores(request: Request) -> Response:
    return _page(request)


@router.post("/stores")
def create_store(
    request: Request,
    code: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = page_principal(request, "store.list", "store.create")
    form = {"code": code.strip(), "name": name.strip(), "idempotency_key": idempotency_key or new_key()}
    try:
        body: StoreCreate = build(StoreCreate, {"code": form["code"], "name": form["name"]})

        def operation(uow, now):  # type: ignore[no-untyped-def]
            store = service.create_store(uow, body.code, body.name, now)
            return StoreOut(id=store.id, code=store.code, name=store.name, created_at=store.created_at)

        answer = write(request, principal, form["idempotency_key"], body, operation)
    except FormRefused as refused:
        return _page(request, form, placed(refused, {errors.STORE_CODE_TAKEN.code: "code"}))
    return RedirectResponse(f"/console/stores?created={answer['code']}", status_code=303)


StoreId = Annotated[str, Path(max_length=26)]


def _edit_page(request: Request, store: StoreOut, form: dict[str, str], refused: FormRefused | None = None) -> Response:
    principal = page_principal(request, "store.list", "store.update")
    return render(
        request,
        "console/stores.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="stores",
        editing=store,
        form=form,
        refused=refused,
        labels={"name": t_of(request)("stores.name")},
    )


def _store(request: Request, store_id: str) -> StoreOut | None:
    return next((row for row in store_rows(container_of(request)) if row.id == store_id), None)


@router.get("/stores/{store_id}")
def edit_store(request: Request, store_id: StoreId) -> Response:
    page_principal(request, "store.list", "store.update")
    store = _store(request, store_id)
    if store is None:
        return RedirectResponse("/console/stores", status_code=303)
    return _edit_page(request, store, {"name": store.name, "idempotency_key": new_key()})


@router.post("/stores/{store_id}")
def rename_store(
    request: Request,
    store_id: StoreId,
    name: Annotated[str, Form(max_length=200)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = page_principal(request, "store.list", "store.update")
    store = _store(request, store_id)
    if store is None:
        return RedirectResponse("/console/stores", status_code=303)
    form = {"name": name.strip(), "idempotency_key": idempotency_key or new_key()}
    try:
        body: StoreChange = build(StoreChange, {"name": form["name"]})

        def operation(uow, now):  # type: ignore[no-untyped-def]
            renamed = service.rename_store(uow, store_id, body.name)
            return StoreOut(id=renamed.id, code=renamed.code, name=renamed.name, created_at=renamed.created_at)

        answer = write(request, principal, form["idempotency_key"], body, operation)
    except FormRefused as refused:
        return _edit_page(request, store, form, refused)
    return RedirectResponse(f"/console/stores?renamed={answer['code']}", status_code=303)


router.include_router(console_org_staff.router)
router.include_router(console_org_keys.router)
