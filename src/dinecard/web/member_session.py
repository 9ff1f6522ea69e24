"""Who is signed in on the member page: a signed token (PyJWT, HS256) in the `dinecard_member` cookie.

The key is derived from the app's token secret for this one purpose, so a member token can never
pass for a staff token or the other way round. Expiry is judged on the app's clock (tests and the
demo move it), not on the wall clock.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import jwt
from fastapi import Request, Response

from dinecard.platform.container import Container

MEMBER_COOKIE = "dinecard_member"
SESSION_LIFETIME = timedelta(days=30)
_AUDIENCE = "dinecard-member"


def _key(container: Container) -> bytes:
    return hmac.new(container.token_secret, b"member page sessions", hashlib.sha256).digest()


def issue_token(container: Container, member_id: str, now: datetime) -> str:
    claims = {
        "sub": member_id,
        "aud": _AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + SESSION_LIFETIME).timestamp()),
    }
    return jwt.encode(claims, _key(container), algorithm="HS256")


def member_of_token(container: Container, token: str, now: datetime) -> str | None:
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
    member_id = claims.get("sub")
    return member_id if isinstance(member_id, str) else None


def current_member_id(request: Request) -> str | None:
    token = request.cookies.get(MEMBER_COOKIE)
    if not token:
        return None
    container: Container = request.app.state.container
    return member_of_token(container, token, container.clock.now())


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
