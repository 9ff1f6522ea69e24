"""The web pages' front door: log in and out, choose the language, and go where the role works."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dinecard.platform.deps import SESSION_COOKIE, request_token
from dinecard.security import staff as staff_service
from dinecard.security.views import set_session_cookie, sign_in
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.web.i18n import LANG_COOKIE, LOCALES
from dinecard.web.session import current_staff, home_of
from dinecard.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site: never send a signed-in user to another site."""
    if not target:
        return None
    parsed = urlparse(target)
    return target if not parsed.scheme and not parsed.netloc and target.startswith("/") else None


@router.get("/")
def home(request: Request) -> Response:
    principal = current_staff(request)
    return RedirectResponse(home_of(principal) if principal else "/login", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next), error=None, username="")


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    container = request.app.state.container
    try:
        result = sign_in(request, container, username, password)
    except DomainError as refused:
        error = "login.throttled" if refused.kind is errors.RATE_LIMITED else "login.failed"
        status = 429 if refused.kind is errors.RATE_LIMITED else 401
        return render(request, "login.html", status_code=status, next=_safe_next(next), error=error, username=username)
    response = RedirectResponse(_safe_next(next) or home_of(result.principal), status_code=303)
    set_session_cookie(response, request, result, container.clock.now())
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    container = request.app.state.container
    token = request_token(request, None)
    session_id = staff_service.session_id_of(token, container.token_secret, container.clock.now()) if token else None
    if session_id is not None:
        with container.database.write() as uow:
            staff_service.logout(uow, session_id, container.clock.now())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{locale}")
def choose_language(locale: str, request: Request, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next) or "/", status_code=303)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax")
    return response
