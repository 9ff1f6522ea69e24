"""Staff accounts (员工) in the console: the list with role, store and status; a new account;
disabling and enabling one; a new password.

The account is created by the API's own operation (security.staff.create_staff through the
audited, idempotent write path); its refusals (a taken username, a store role without a store)
are shown next to the field they concern.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.responses import Response

from dinecard.security import staff as staff_service
from dinecard.security.domain import Role
from dinecard.security.models import Staff
from dinecard.security.views import PasswordReset, StaffCreate, StaffOut
from dinecard.shared import errors
from dinecard.web.console_common import FormRefused, build, container_of, new_key, write
from dinecard.web.console_org_forms import page_principal, placed, store_names, store_rows, t_of
from dinecard.web.i18n import register
from dinecard.web.templating import render

router = APIRouter()

register(
    {
        "staff.title": ("员工账号", "Staff accounts"),
        "staff.list": ("全部账号", "All accounts"),
        "staff.username": ("用户名", "Username"),
        "staff.display_name": ("姓名", "Display name"),
        "staff.role": ("角色", "Role"),
        "staff.store_id": ("所属门店", "Store"),
        "staff.password": ("初始密码", "Initial password"),
        "staff.status": ("状态", "Status"),
        "staff.created_at": ("创建时间", "Created"),
        "staff.enabled": ("正常", "Active"),
        "staff.disabled": ("已停用", "Disabled"),
        "staff.count": ("共 {n} 个账号", "{n} accounts"),
        "staff.new": ("新建员工账号", "New staff account"),
        "staff.create": ("创建账号", "Create account"),
        "staff.created": (
            "已创建账号 {username}，请把初始密码当面告知本人",
            "Account {username} created; give the initial password to its owner in person",
        ),
        "staff.username_hint": ("3–40 位字母、数字或 . _ -，用于登录", "3–40 letters, digits or . _ -; used to log in"),
        "staff.display_name_hint": ("1–60 个字，显示在收银台和小票上", "1–60 characters, shown at the till"),
        "staff.password_hint": ("至少 8 位", "At least 8 characters"),
        "staff.store_hint": ("收银员和店长必须选择门店；总部管理员不选", "Cashiers and managers need a store; HQ none"),
        "staff.no_stores": ("还没有门店：请先新开门店。", "No stores yet: open a store first."),
        "staff.actions": ("操作", "Actions"),
        "staff.disable": ("停用", "Disable"),
        "staff.enable": ("启用", "Enable"),
        "staff.disable_label": ("停用 {username}", "Disable {username}"),
        "staff.enable_label": ("启用 {username}", "Enable {username}"),
        "staff.reset": ("重置密码", "New password"),
        "staff.reset_label": ("为 {username} 重置密码", "New password for {username}"),
        "staff.disabled_done": ("已停用 {username}，其登录已全部失效", "{username} disabled; its logins have ended"),
        "staff.enabled_done": ("已启用 {username}", "{username} enabled"),
        "staff.reset_title": ("重置密码：{username}", "New password: {username}"),
        "staff.new_password": ("新密码", "New password"),
        "staff.reset_note": (
            "保存后该账号的所有登录立即失效，请把新密码当面告知本人。",
            "Saving ends every login of the account; give the new password to its owner in person.",
        ),
        "staff.reset_done": ("已为 {username} 重置密码", "New password set for {username}"),
    }
)

FIELDS = ("username", "display_name", "role", "store_id", "password")
ON_FIELD = {
    errors.USERNAME_TAKEN.code: "username",
    errors.STORE_REQUIRED.code: "store_id",
    errors.STORE_NOT_FOUND.code: "store_id",
}
ROLES = (Role.CASHIER, Role.STORE_MANAGER, Role.HQ_ADMIN)


def _accounts(request: Request) -> list[Staff]:
    """Every account, by username, as GET /api/v1/staff lists them."""
    with container_of(request).database.read() as session:
        return list(session.execute(select(Staff).order_by(Staff.username)).scalars())


def _page(
    request: Request,
    form: dict[str, str] | None = None,
    refused: FormRefused | None = None,
    action_refused: FormRefused | None = None,
) -> Response:
    principal = page_principal(request, "staff.manage", "store.list")
    t = t_of(request)
    stores = store_rows(container_of(request))
    blank = dict.fromkeys(FIELDS, "") | {"role": Role.CASHIER.value, "idempotency_key": new_key()}
    blank["store_id"] = request.query_params.get("store_id", "")[:26]
    return render(
        request,
        "console/staff.html",
        status_code=422 if refused else (409 if action_refused else 200),
        principal=principal,
        section="staff",
        action_refused=action_refused,
        fresh_key=new_key,
        done={name: request.query_params.get(name) for name in ("disabled", "enabled", "reset")},
        accounts=_accounts(request),
        stores=stores,
        store_names=store_names(stores),
        store_options=[("", t("org.no_store")), *store_names(stores).items()],
        roles=[(role.value, t(f"org.role.{role.value}")) for role in ROLES],
        form=form or blank,
        refused=refused,
        labels={name: t(f"staff.{name}") for name in FIELDS},
        created=request.query_params.get("created"),
    )


@router.get("/staff")
def list_staff(request: Request) -> Response:
    return _page(request)


@router.post("/staff")
def create_staff(
    request: Request,
    username: Annotated[str, Form(max_length=100)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    store_id: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=400)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = page_principal(request, "staff.manage", "store.list")
    # The password is never sent back into the page: a refused form asks for it again.
    form = {
        "username": username.strip(),
        "display_name": display_name.strip(),
        "role": role,
        "store_id": store_id,
        "password": "",
        "idempotency_key": idempotency_key or new_key(),
    }
    data = {
        "username": form["username"],
        "display_name": form["display_name"],
        "role": role,
        "store_id": store_id or None,
        "password": password,
    }
    try:
        body: StaffCreate = build(StaffCreate, data)

        def operation(uow, now):  # type: ignore[no-untyped-def]
            staff_id = staff_service.create_staff(
                uow,
                username=body.username,
                password=body.password,
                role=body.role,
                store_id=body.store_id,
                display_name=body.display_name,
                now=now,
            )
            return StaffOut(
                id=staff_id,
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                store_id=body.store_id,
            )

        answer = write(request, principal, form["idempotency_key"], body, operation)
    except FormRefused as refused:
        return _page(request, form, placed(refused, ON_FIELD))
    return RedirectResponse(f"/console/staff?created={answer['username']}", status_code=303)


StaffId = Annotated[str, Path(max_length=26)]


def _account(request: Request, staff_id: str) -> Staff | None:
    with container_of(request).database.read() as session:
        return session.get(Staff, staff_id)


@router.post("/staff/{staff_id}/disable")
def disable(request: Request, staff_id: StaffId, idempotency_key: Annotated[str, Form(max_length=80)] = "") -> Response:
    return _set_disabled(request, staff_id, True, idempotency_key)


@router.post("/staff/{staff_id}/enable")
def enable(request: Request, staff_id: StaffId, idempotency_key: Annotated[str, Form(max_length=80)] = "") -> Response:
    return _set_disabled(request, staff_id, False, idempotency_key)


def _set_disabled(request: Request, staff_id: str, disabled: bool, idempotency_key: str) -> Response:
    principal = page_principal(request, "staff.manage", "store.list")
    try:
        answer = write(
            request,
            principal,
            idempotency_key or new_key(),
            None,
            lambda uow, now: StaffOut.of(staff_service.set_disabled(uow, staff_id, disabled, principal.key_id, now)),
        )
    except FormRefused as refused:
        return _page(request, action_refused=refused)
    done = "disabled" if disabled else "enabled"
    return RedirectResponse(f"/console/staff?{done}={answer['username']}", status_code=303)


def _password_page(request: Request, account: Staff, refused: FormRefused | None = None) -> Response:
    principal = page_principal(request, "staff.manage", "store.list")
    return render(
        request,
        "console/staff.html",
        status_code=422 if refused else 200,
        principal=principal,
        section="staff",
        resetting=account,
        form={"idempotency_key": new_key()},
        refused=refused,
        labels={"password": t_of(request)("staff.new_password")},
    )


@router.get("/staff/{staff_id}/password")
def password_form(request: Request, staff_id: StaffId) -> Response:
    page_principal(request, "staff.manage", "store.list")
    account = _account(request, staff_id)
    return _password_page(request, account) if account else RedirectResponse("/console/staff", status_code=303)


@router.post("/staff/{staff_id}/password")
def reset_password(
    request: Request,
    staff_id: StaffId,
    password: Annotated[str, Form(max_length=400)] = "",
    idempotency_key: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    principal = page_principal(request, "staff.manage", "store.list")
    account = _account(request, staff_id)
    if account is None:
        return RedirectResponse("/console/staff", status_code=303)
    try:
        body: PasswordReset = build(PasswordReset, {"password": password})
        write(
            request,
            principal,
            idempotency_key or new_key(),
            body,
            lambda uow, now: StaffOut.of(staff_service.reset_password(uow, staff_id, body.password, now)),
        )
    except FormRefused as refused:
        return _password_page(request, account, refused)
    return RedirectResponse(f"/console/staff?reset={account.username}", status_code=303)
