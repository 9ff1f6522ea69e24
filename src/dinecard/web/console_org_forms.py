"""What the stores, staff and API-key screens share: who may open them, messages placed next to
their fields, and the words for roles and stores."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.security.domain import Principal
from dinecard.security.models import ApiKey, Staff
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.stores import service as stores
from dinecard.stores.views import StoreOut
from dinecard.web.console_common import CONSOLE_ROLES, FormRefused
from dinecard.web.i18n import LANG_COOKIE, locale_of, register, translator
from dinecard.web.session import LoginRequired, staff_page

register(
    {
        "console.nav.stores": ("门店", "Stores"),
        "console.nav.staff": ("员工", "Staff"),
        "console.nav.keys": ("接口密钥", "API keys"),
        "console.nav.risk": ("风险事件", "Risk events"),
        "org.role.cashier": ("收银员", "Cashier"),
        "org.role.store_manager": ("店长", "Store manager"),
        "org.role.hq_admin": ("总部管理员", "HQ admin"),
        "org.no_store": ("不限门店（总部）", "No store (HQ)"),
        "org.choose_store": ("请选择门店", "Choose a store"),
    }
)


def page_principal(request: Request, *actions: str) -> Principal:
    """The signed-in HQ member, when the API's table lets their role do every one of `actions`."""
    principal = staff_page(request, CONSOLE_ROLES)
    try:
        for action in actions:
            authorize(principal, action)
    except DomainError as refused:
        raise LoginRequired(request.url.path) from refused
    return principal


def t_of(request: Request) -> Any:
    return translator(locale_of(request.cookies.get(LANG_COOKIE)))


def placed(refused: FormRefused, on_field: Mapping[str, str]) -> FormRefused:
    """The refusal with each message next to its field: a refusal of the service (a taken username)
    goes to the field `on_field` names for its code; validation messages already name their field
    and are in the reader's words (form_messages)."""
    cause = refused.__cause__
    if isinstance(cause, DomainError) and cause.kind.code in on_field:
        return FormRefused({on_field[cause.kind.code]: refused.message or cause.kind.message_zh})
    return refused


def store_rows(container: Container) -> list[StoreOut]:
    with container.database.read() as session:
        return [
            StoreOut(id=s.id, code=s.code, name=s.name, created_at=s.created_at) for s in stores.list_stores(session)
        ]


def store_names(rows: list[StoreOut]) -> dict[str, str]:
    """Each store's id to how a page names it: 'C001 南京路店'."""
    return {row.id: f"{row.code} {row.name}" for row in rows}


def actor_names(container: Container, ids: set[str]) -> dict[str, str]:
    """Who an id in a risk event or audit entry is: a staff member's display name or an API key's name."""
    wanted = {identifier for identifier in ids if identifier}
    if not wanted:
        return {}
    with container.database.read() as session:
        staff = session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(wanted)))
        keys = session.execute(select(ApiKey.id, ApiKey.name).where(ApiKey.id.in_(wanted)))
        return {actor_id: name for actor_id, name in [*staff, *keys]}
