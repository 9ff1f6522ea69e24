"""The head office console (总部后台)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dinecard.security.domain import Role
from dinecard.web.i18n import register
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter(prefix="/console", include_in_schema=False)
CONSOLE_ROLES = frozenset({Role.HQ_ADMIN})

register({"console.title": ("总部后台", "HQ console")})


@router.get("")
def console_home(request: Request) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    return render(request, "console/home.html", principal=principal)
