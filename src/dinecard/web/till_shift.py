"""The shift handover (交班, R-CMP-5): what this cashier rang up since they logged in (or today),
by tender, printable; a store manager can also see the whole store today, cashier by cashier."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from dinecard.platform.deps import SESSION_COOKIE
from dinecard.security import staff as staff_service
from dinecard.security.domain import Role
from dinecard.security.models import StaffSession
from dinecard.web.session import staff_page
from dinecard.web.templating import render
from dinecard.web.till_common import TILL_ROLES, container_of, store_of
from dinecard.web.till_shift_data import business_day_start, cashiers_of, shift_summary

router = APIRouter()
PERIODS = ("login", "today")


def _login_started(request: Request, now: datetime) -> datetime | None:
    """When the signed-in staff member's current login began (the start of their shift)."""
    container = container_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    session_id = staff_service.session_id_of(token, container.token_secret, now) if token else None
    if session_id is None:
        return None
    with container.database.read() as session:
        row = session.get(StaffSession, session_id)
        return row.created_at if row is not None else None


@router.get("/shift")
def shift(request: Request, since: str = "login", view: str = "mine") -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = container_of(request)
    now = container.clock.now()
    program = container.programs.at(now)
    store_id = store_of(principal)
    day_start = business_day_start(now, program.business_timezone)
    period = since if since in PERIODS else "login"
    login_at = _login_started(request, now)
    start = login_at if period == "login" and login_at is not None else day_start
    whole_store = view == "store" and principal.role is Role.STORE_MANAGER
    with container.database.read() as session:
        if whole_store:
            summary = shift_summary(session, store_id, day_start)
            cashiers = [
                {"id": actor_id, "name": name, "s": shift_summary(session, store_id, day_start, actor_id)}
                for actor_id, name in cashiers_of(session, store_id, day_start)
            ]
        else:
            summary = shift_summary(session, store_id, start, principal.key_id)
            cashiers = []
    return render(
        request,
        "till/shift.html",
        principal=principal,
        s=summary,
        now=now,
        period="today" if whole_store else ("login" if start == login_at else "today"),
        whole_store=whole_store,
        can_see_store=principal.role is Role.STORE_MANAGER,
        cashiers=cashiers,
    )
