"""The member's own page (会员中心), phone-sized: log in with a one-time code, see balance, points,
level progress, coupons and history, and show the rotating member code (R-MEM-5)."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dinecard.ledger import history
from dinecard.members import logins
from dinecard.members.domain import MEMBER_CODE_STEP_SECONDS, MemberStatus, mask_phone, normalize_phone
from dinecard.members.models import Member
from dinecard.members.service import PHONE, current_member_code, find_member_id
from dinecard.platform.container import Container
from dinecard.platform.outbox import enqueue
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.web.member_home import HISTORY_ROWS, load_home
from dinecard.web.member_session import (
    MemberLoginRequired,
    clear_member_cookie,
    current_member_id,
    end_session,
    member_page,
    set_member_cookie,
    start_session,
)
from dinecard.web.member_text import kind_label
from dinecard.web.templating import render

router = APIRouter(prefix="/me", include_in_schema=False)
log = logging.getLogger("dinecard.member_login")

CODE_REQUEST_PER_PHONE = "1/60 seconds"
CODE_REQUEST_PER_ADDRESS = "20/hour"
UNKNOWN_PHONE_TRIES = f"{logins.TRIES_MAX}/5 minutes"
TOPIC = "member_login_code"


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return render(request, name, status_code=status_code, principal=None, kind_label=kind_label, **context)


def _to_login() -> Response:
    return RedirectResponse("/me/login", status_code=303)


def _known_member(container: Container, phone: str) -> str | None:
    """The member behind a phone, if there is one that may log in (a closed card may not)."""
    with container.database.read() as session:
        try:
            member_id = find_member_id(session, container.cipher, container.clock.now(), phone=phone)
        except DomainError:
            return None
        member = session.get(Member, member_id)
        return member_id if member is not None and member.status != MemberStatus.CLOSED else None


# ---------------------------------------------------------------- login


@router.get("/login")
def login_page(request: Request, expired: str | None = None) -> Response:
    if current_member_id(request) is not None:
        return RedirectResponse("/me", status_code=303)
    notice = "me.login.session_ended" if expired else None
    return _page(request, "member/login.html", error=None, phone="", notice=notice)


@router.post("/login")
def ask_for_code(request: Request, phone: Annotated[str, Form(max_length=30)]) -> Response:
    container = _container(request)
    try:
        phone = normalize_phone(phone)
    except DomainError:
        return _page(request, "member/login.html", status_code=422, error="me.login.phone_invalid", phone=phone)
    ip = request.client.host if request.client else "unknown"
    phone_key = container.cipher.blind_index(phone, PHONE)  # the limiter never holds a phone in clear
    try:
        container.limiter.hit(CODE_REQUEST_PER_ADDRESS, "member-code-ip", ip)
        container.limiter.hit(CODE_REQUEST_PER_PHONE, "member-code-phone", phone_key)
    except DomainError as refused:
        if refused.kind is not errors.RATE_LIMITED:
            raise
        return _page(request, "member/login.html", status_code=429, error="me.login.throttled", phone=phone)
    member_id = _known_member(container, phone)
    if member_id is not None:
        now = container.clock.now()
        with container.database.write() as uow:
            code, expires_at = logins.issue_code(uow, container.token_secret, member_id, now)
            payload = {"code": code, "expires_at": expires_at.isoformat(), "valid_minutes": 5}
            enqueue(uow, member_id=member_id, topic=TOPIC, payload=payload, now=now)
        if container.database.dialect == "sqlite":
            # Embedded mode has no SMS: the console shows the code (never the phone in clear).
            log.info("login code for %s: %s (valid 5 minutes)", mask_phone(phone), code)
    # Known or not, the same page: nobody learns from it who is a member.
    return _page(request, "member/verify.html", error=None, phone=phone, notice="me.login.sent")


@router.post("/login/verify")
def verify_code(
    request: Request, phone: Annotated[str, Form(max_length=30)], code: Annotated[str, Form(max_length=12)]
) -> Response:
    container = _container(request)
    try:
        phone = normalize_phone(phone)
    except DomainError:
        return _to_login()
    member_id = _known_member(container, phone)
    now = container.clock.now()
    if member_id is None:
        # An unknown phone answers like a known one with a live code: wrong, then locked.
        error = "me.login.wrong"
        try:
            container.limiter.hit(
                UNKNOWN_PHONE_TRIES, "member-code-unknown", container.cipher.blind_index(phone, PHONE)
            )
        except DomainError:
            error = "me.login.locked"
        return _page(request, "member/verify.html", status_code=401, error=error, phone=phone, notice=None)
    with container.database.write() as uow:
        verdict, _left = logins.check_code(uow, container.token_secret, member_id, code, now)
    if verdict is not logins.CodeCheck.ACCEPTED:
        error = {
            logins.CodeCheck.WRONG: "me.login.wrong",
            logins.CodeCheck.EXPIRED: "me.login.expired",
            logins.CodeCheck.LOCKED: "me.login.locked",
        }[verdict]
        return _page(request, "member/verify.html", status_code=401, error=error, phone=phone, notice=None)
    response = RedirectResponse("/me", status_code=303)
    set_member_cookie(response, request, start_session(container, request, member_id, now))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    end_session(request)  # the login ends on the server: a copy of the cookie is refused from now on
    response = _to_login()
    clear_member_cookie(response)
    return response


# ---------------------------------------------------------------- the page


@router.get("")
def home(request: Request) -> Response:
    member_id = member_page(request)
    container = _container(request)
    now = container.clock.now()
    with container.database.read() as session:
        try:
            page = load_home(session, container.cipher, container.program, member_id, now)
        except DomainError:
            raise MemberLoginRequired(had_cookie=True) from None
    return _page(request, "member/home.html", home=page, now=now)


@router.get("/history")
def more_history(request: Request, kind: str = "money", before: int | None = None) -> Response:
    member_id = member_page(request)
    container = _container(request)
    kind = "points" if kind == "points" else "money"
    with container.database.read() as session:
        if kind == "points":
            entries: list[Any]
            entries, next_before = history.points_history(session, member_id, before, HISTORY_ROWS * 5)
        else:
            entries, next_before = history.money_history(session, member_id, before, HISTORY_ROWS * 5)
    return _page(request, "member/history.html", kind=kind, entries=entries, next_before=next_before)


# ---------------------------------------------------------------- member code (R-MEM-5)


def _code_svg(code: str) -> str:
    buffer = io.BytesIO()
    segno.make(code, error="m", micro=False).save(
        buffer, kind="svg", border=2, xmldecl=False, svgns=True, svgclass="qr", omitsize=True
    )
    return buffer.getvalue().decode()


def _current_code(request: Request, member_id: str) -> tuple[str, int] | None:
    container = _container(request)
    now = container.clock.now()
    with container.database.read() as session, contextlib.suppress(DomainError):
        code, _valid_until = current_member_code(session, member_id, now)
        return code, MEMBER_CODE_STEP_SECONDS
    return None


def _spaced(code: str) -> str:
    return " ".join(code[i : i + 6] for i in range(0, len(code), 6))


@router.get("/code")
def code_page(request: Request) -> Response:
    current = _current_code(request, member_page(request))
    if current is None:
        raise MemberLoginRequired(had_cookie=True)
    code, refresh = current
    response = _page(request, "member/code.html", code=code, spaced=_spaced(code), svg=_code_svg(code), refresh=refresh)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/code.svg")
def code_svg(request: Request) -> Response:
    member_id = current_member_id(request)
    current = _current_code(request, member_id) if member_id else None
    if current is None:
        return Response(status_code=401)
    return Response(_code_svg(current[0]), media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


@router.get("/code.json")
def code_json(request: Request) -> Response:
    member_id = current_member_id(request)
    current = _current_code(request, member_id) if member_id else None
    if current is None:
        return JSONResponse({"error": "login_required"}, status_code=401)
    code, refresh = current
    body = {"code": code, "spaced": _spaced(code), "svg": _code_svg(code), "refresh_seconds": refresh}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
