"""The cashier's till (收银台)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dinecard.security.domain import Role
from dinecard.web.i18n import register
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter(prefix="/till", include_in_schema=False)
TILL_ROLES = frozenset({Role.CASHIER, Role.STORE_MANAGER})

register({"till.title": ("收银台", "Till")})


@router.get("")
def till_home(request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    return render(request, "till/home.html", principal=principal)
