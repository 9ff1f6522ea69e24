"""API keys (接口密钥) in the console: the list, a new key whose secret is shown once, revoking
one after a confirmation.

The key is made by the API's own operation (security.service.create_api_key, audited with the
secret scrubbed). Like POST /api/v1/api-keys it takes no idempotency key: a replay would have to
keep the secret to show it again, and the secret lives only in the one answer page (not cached).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from dinecard.security.domain import Role
from dinecard.security.service import create_api_key, list_api_keys, revoke_api_key
from dinecard.security.views import ApiKeyCreate, ApiKeyListed, ApiKeyOut
from dinecard.shared import errors
from dinecard.web.console_common import FormRefused, build, container_of, new_key, write
from dinecard.web.console_org_forms import page_principal, placed, store_names, store_rows, t_of
from dinecard.web.i18n import register
from dinecard.web.templating import render

router = APIRouter()

register(
    {
        "keys.title": ("接口密钥", "API keys"),
        "keys.intro": (
            "收银系统（POS）和点餐系统用接口密钥调用 API，请求头为 Authorization: Bearer <密钥>。",
            "POS and ordering systems call the API with a key: Authorization: Bearer <key>.",
        ),
        "keys.list": ("全部密钥", "All keys"),
        "keys.name": ("名称", "Name"),
        "keys.prefix": ("密钥前缀", "Prefix"),
        "keys.role": ("权限（角色）", "Permissions (role)"),
        "keys.store_id": ("门店", "Store"),
        "keys.created_at": ("创建时间", "Created"),
        "keys.last_used_at": ("最近使用", "Last used"),
        "keys.never_used": ("从未使用", "Never"),
        "keys.status": ("状态", "Status"),
        "keys.active": ("有效", "Active"),
        "keys.revoked": ("已吊销（{at}）", "Revoked ({at})"),
        "keys.count": ("共 {n} 个密钥", "{n} keys"),
        "keys.new": ("新建接口密钥", "New API key"),
        "keys.create": ("生成密钥", "Create key"),
        "keys.name_hint": ("如：南京路店 POS 1", "e.g. Nanjing Rd POS 1"),
        "keys.store_hint": ("收银员和店长的密钥只能在一家门店使用", "Cashier and manager keys act at one store"),
        "keys.created_title": ("密钥已生成：{name}", "Key created: {name}"),
        "keys.secret": ("密钥（只显示这一次）", "Key (shown only this once)"),
        "keys.once_warning": (
            "请立即复制并妥善保存此密钥：它只显示这一次，系统只保存其摘要，关闭或刷新本页后无法再次查看。"
            "如果遗失，请新建一个密钥。",
            "Copy this key now and keep it safe: it is shown only this once and only its hash is stored; "
            "it cannot be shown again after you leave or reload this page. If lost, create a new key.",
        ),
        "keys.done": ("我已保存，返回密钥列表", "I have saved it: back to the keys"),
        "keys.actions": ("操作", "Actions"),
        "keys.revoke": ("吊销", "Revoke"),
        "keys.revoke_label": ("吊销 {name}", "Revoke {name}"),
        "keys.revoke_title": ("吊销接口密钥：{name}", "Revoke API key: {name}"),
        "keys.revoke_warning": (
            "吊销后，使用此密钥的收银系统或点餐系统将立即无法调用接口（其他服务器进程最迟 30 秒内），且无法恢复；"
            "如需继续使用，请新建密钥并更新到对应系统。",
            "Once revoked, systems using this key are refused at once (other server processes within 30 s), for "
            "good; to go on, create a new key and give it to that system.",
        ),
        "keys.revoke_confirm": ("确认吊销", "Revoke it"),
        "keys.revoked_done": ("已吊销密钥 {name}", "Key {name} revoked"),
    }
)

FIELDS = ("name", "role", "store_id")
ON_FIELD = {errors.STORE_REQUIRED.code: "store_id", errors.STORE_NOT_FOUND.code: "store_id"}
ROLES = (Role.CASHIER, Role.STORE_MANAGER, Role.HQ_ADMIN)


def _keys(request: Request) -> list[ApiKeyListed]:
    """Every key, newest first, as GET /api/v1/api-keys lists them (prefixes, never a secret)."""
    with container_of(request).database.read() as session:
        return [ApiKeyListed.of(key) for key in list_api_keys(session)]


def _page(
    request: Request,
    form: dict[str, str] | None = None,
    refused: FormRefused | None = None,
    made: ApiKeyOut | None = None,
    revoking: ApiKeyListed | None = None,
) -> Response:
    principal = page_principal(request, "apikey.manage", "store.list")
    t = t_of(request)
    stores = store_rows(container_of(request))
    response = render(
        request,
        "console/keys.html",
        status_code=422 if refused else (201 if made else 200),
        principal=principal,
        section="keys",
        keys=_keys(request),
        store_names=store_names(stores),
        store_options=[("", t("org.no_store")), *store_names(stores).items()],
        roles=[(role.value, t(f"org.role.{role.value}")) for role in ROLES],
        form=form or {"name": "", "role": Role.CASHIER.value, "store_id": ""},
        refused=refused,
        labels={name: t(f"keys.{name}") for name in FIELDS},
        new_key=made,
        revoking=revoking,
        revoke_key=new_key() if revoking else None,
        revoked=request.query_params.get("revoked"),
    )
    if made is not None:
        response.headers["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@router.get("/keys")
def list_keys(request: Request) -> Response:
    return _page(request)


@router.post("/keys")
def create_key(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    store_id: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    principal = page_principal(request, "apikey.manage", "store.list")
    form = {"name": name.strip(), "role": role, "store_id": store_id}
    try:
        body: ApiKeyCreate = build(ApiKeyCreate, {"name": form["name"], "role": role, "store_id": store_id or None})

        def operation(uow, now):  # type: ignore[no-untyped-def]
            key_id, token = create_api_key(uow, body.name, body.role, body.store_id, now)
            return ApiKeyOut(id=key_id, name=body.name, role=body.role, store_id=body.store_id, key=token)

        answer = write(request, principal, None, body, operation)
    except FormRefused as refused:
        return _page(request, form, placed(refused, ON_FIELD))
    return _page(request, made=ApiKeyOut.model_validate(answer))


KeyId = Annotated[str, Path(max_length=26)]


@router.get("/keys/{key_id}/revoke")
def confirm_revoke(request: Request, key_id: KeyId) -> Response:
    """Revoking is for good: this page asks once more, with what the key is and who uses it."""
    page_principal(request, "apikey.manage", "store.list")
    found = [key for key in _keys(request) if key.id == key_id and key.revoked_at is None]
    return _page(request, revoking=found[0]) if found else RedirectResponse("/console/keys", status_code=303)


@router.post("/keys/{key_id}/revoke")
def revoke(request: Request, key_id: KeyId, idempotency_key: Annotated[str, Form(max_length=80)] = "") -> Response:
    principal = page_principal(request, "apikey.manage", "store.list")
    try:
        answer = write(
            request,
            principal,
            idempotency_key or new_key(),
            None,
            lambda uow, now: ApiKeyListed.of(revoke_api_key(uow, key_id, now)),
        )
    except FormRefused as refused:
        return _page(request, refused=refused)
    # After the commit, as the API does: this process refuses the key from the next request.
    request.app.state.authenticator.forget(answer["prefix"])
    return RedirectResponse(f"/console/keys?{urlencode({'revoked': answer['name']})}", status_code=303)
