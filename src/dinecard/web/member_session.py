"""Who is signed in on the member page: a signed token (PyJWT, HS256) in the `dinecard_member` cookie.

The key is derived from the app's token secret for this one purpose, so a member token can never
pass for a staff token or the other way round. Expiry is judged on the app's clock (tests and the
demo move it), not on the wall clock.

The token names its login (`sid`, a row of `member_sessions`); a page accepts it only while that
row is live, so logging out ends the token on the server, and a cookie kept from before is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import jwt
from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from dinecard.members import sessions
from dinecard.platform.container import Container

MEMBER_COOKIE = "dinecard_member"
SESSION_LIFETIME = timedelta(days=30)
LOGIN_PAGE = "/me/login"
_AUDIENCE = "dinecard-member"


class MemberLoginRequired(Exception):
    """Raised by a member page without a live login; answered with a redirect to the member login."""

    def __init__(self, had_cookie: bool) -> None:
        self.had_cookie = had_cookie


def _key(container: Container) -> bytes:
    return hmac.new(container.token_secret, b"member page sessions", hashlib.sha256).digest()


def issue_token(container: Container, member_id: str, now: datetime, session_id: str | None = None) -> str:
    claims: dict[str, object] = {
        "sub": member_id,
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + SESSION_LIFETIME).timestamp()),
    }
    if session_id is not None:
        claims["sid"] = session_id
    return jwt.encode(claims, _key(container), algorithm="HS256")


def token_claims(container: Container, token: str, now: datetime) -> tuple[str, str | None] | None:
    """(member id, session id) of a genuine, unexpired token; None otherwise."""
    try:
        claims = jwt.decode(
            token,
            _key(container),
            algorithms=["HS256"],
            audience=_AUDIENCE,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["sub", "exp", "aud"]},
        )
    except jwt.PyJWTError:
        return None
    if not isinstance(claims.get("exp"), int) or now.timestamp() >= claims["exp"]:
        return None
    member_id, session_id = claims.get("sub"), claims.get("sid")
    if not isinstance(member_id, str):
        return None
    return member_id, session_id if isinstance(session_id, str) else None


def member_of_token(container: Container, token: str, now: datetime) -> str | None:
    """The member a token names, judged on the token alone (signature, audience, expiry)."""
    claims = token_claims(container, token, now)
    return claims[0] if claims else None


def start_session(container: Container, request: Request, member_id: str, now: datetime) -> str:
    """Record a new login of the member and return its signed token."""
    with container.database.write() as uow:
        row = sessions.open_session(
            uow,
            member_id,
            now,
            SESSION_LIFETIME,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
        session_id = row.id
    return issue_token(container, member_id, now, session_id)


def current_member_id(request: Request) -> str | None:
    """The signed-in member: a genuine token whose login is still live on the server."""
    token = request.cookies.get(MEMBER_COOKIE)
    if not token:
        return None
    container: Container = request.app.state.container
    now = container.clock.now()
    claims = token_claims(container, token, now)
    if claims is None:
        return None
    member_id, session_id = claims
    if session_id is None:
        return None  # a token from before logins were recorded names no session: log in again
    with container.database.read() as session:
        return member_id if sessions.is_live(session, session_id, member_id, now) else None


def member_page(request: Request) -> str:
    """The signed-in member, or MemberLoginRequired (a redirect to the member login)."""
    member_id = current_member_id(request)
    if member_id is None:
        raise MemberLoginRequired(had_cookie=MEMBER_COOKIE in request.cookies)
    return member_id


def end_session(request: Request) -> None:
    """Revoke the login the cookie names (if the token is genuine, even if already expired)."""
    token = request.cookies.get(MEMBER_COOKIE)
    if not token:
        return
    container: Container = request.app.state.container
    now = container.clock.now()
    try:
        claims = jwt.decode(
            token,
            _key(container),
            algorithms=["HS256"],
            audience=_AUDIENCE,
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["sub", "aud"]},
        )
    except jwt.PyJWTError:
        return
    session_id = claims.get("sid")
    if isinstance(session_id, str):
        with container.database.write() as uow:
            sessions.revoke(uow, session_id, now)


def to_member_login(exc: MemberLoginRequired) -> Response:
    response = RedirectResponse(f"{LOGIN_PAGE}?expired=1" if exc.had_cookie else LOGIN_PAGE, status_code=303)
    if exc.had_cookie:
        clear_member_cookie(response)  # a dead cookie is dropped, so the login page is shown clean
    return response


def set_member_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        MEMBER_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/me",
    )


def clear_member_cookie(response: Response) -> None:
    response.delete_cookie(MEMBER_COOKIE, path="/me")
