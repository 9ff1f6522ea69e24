"""Who is signed in on a page: staff by the login cookie (the same token the API accepts)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from dinecard.platform.deps import SESSION_COOKIE
from dinecard.security.domain import Principal, Role
from dinecard.shared.errors import DomainError


class LoginRequired(Exception):
    """Raised by a page that needs a signed-in staff member; answered with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def current_staff(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        principal: Principal = request.app.state.authenticator.authenticate(token)
    except DomainError:
        return None
    return principal


def staff_page(request: Request, roles: frozenset[Role] | None = None) -> Principal:
    """The signed-in staff member, or a redirect to the login page (and back here after)."""
    principal = current_staff(request)
    if principal is None or (roles is not None and principal.role not in roles):
        raise LoginRequired(request.url.path)
    return principal


def to_login(exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)


def home_of(principal: Principal) -> str:
    return "/console" if principal.role is Role.HQ_ADMIN else "/till"
