"""Staff accounts: argon2 passwords, logins that issue signed expiring tokens, logout."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dinecard.platform.db import UnitOfWork
from dinecard.security.domain import Principal, Role
from dinecard.security.models import Staff, StaffSession
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_ulid
from dinecard.stores.models import Store

SESSION_HOURS = 12  # a shift and a half; the till logs in again the next day
TOKEN_ALGORITHM = "HS256"
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so both answers are equally slow.

    Made on first use, not at import: hashing costs argon2's 64 MiB and a good part of a second on a
    busy machine, in every API process, most of which never see a staff login.
    """
    return _hasher.hash("not a password")


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    principal: Principal


def create_staff(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    role: Role,
    store_id: str | None,
    display_name: str,
    now: datetime,
) -> str:
    if role is not Role.HQ_ADMIN and store_id is None:
        raise DomainError(errors.STORE_REQUIRED)
    if store_id is not None and uow.session.get(Store, store_id) is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    if uow.session.execute(select(Staff.id).where(Staff.username == username)).first():
        raise DomainError(errors.USERNAME_TAKEN)
    staff_id = new_ulid()
    uow.session.add(
        Staff(
            id=staff_id,
            username=username,
            display_name=display_name,
            password_hash=_hasher.hash(password),
            role=role.value,
            store_id=store_id,
            created_at=now,
        )
    )
    return staff_id


def _end_sessions(uow: UnitOfWork, staff_id: str, now: datetime) -> None:
    """End every open login of the account: its tokens stop working at the next request."""
    uow.session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _account(uow: UnitOfWork, staff_id: str) -> Staff:
    statement = select(Staff).where(Staff.id == staff_id)
    if uow.database.dialect == "postgresql":
        statement = statement.with_for_update()
    staff = uow.session.execute(statement).scalar_one_or_none()
    if staff is None:
        raise DomainError(errors.STAFF_NOT_FOUND)
    return staff


def set_disabled(uow: UnitOfWork, staff_id: str, disabled: bool, actor_id: str, now: datetime) -> Staff:
    """Disable an account (its logins end at once) or enable it again; doing it twice changes nothing."""
    if disabled and staff_id == actor_id:
        raise DomainError(errors.STAFF_SELF_DISABLE)  # HQ must not lock itself out
    staff = _account(uow, staff_id)
    if disabled and staff.disabled_at is None:
        staff.disabled_at = now
        _end_sessions(uow, staff_id, now)
    elif not disabled:
        staff.disabled_at = None
    return staff


def reset_password(uow: UnitOfWork, staff_id: str, password: str, now: datetime) -> Staff:
    """Set a new password (told to its owner in person); the account's open logins end."""
    staff = _account(uow, staff_id)
    staff.password_hash = _hasher.hash(password)
    _end_sessions(uow, staff_id, now)
    return staff


def _principal(staff: Staff) -> Principal:
    return Principal(staff.id, staff.display_name, Role(staff.role), staff.store_id, kind="staff")


def login(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    secret: bytes,
    now: datetime,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Login:
    """Check the password and open a session; the token is signed and expires."""
    staff = uow.session.execute(select(Staff).where(Staff.username == username)).scalar_one_or_none()
    try:
        _hasher.verify(staff.password_hash if staff else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise DomainError(errors.LOGIN_FAILED) from None
    if staff is None or staff.disabled_at is not None:
        raise DomainError(errors.LOGIN_FAILED)
    session_id = secrets.token_hex(16)
    expires_at = now + timedelta(hours=SESSION_HOURS)
    uow.session.add(
        StaffSession(
            id=session_id,
            staff_id=staff.id,
            created_at=now,
            expires_at=expires_at,
            ip=ip,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    token = jwt.encode(
        {"sub": staff.id, "sid": session_id, "iat": int(now.timestamp()), "exp": int(expires_at.timestamp())},
        secret,
        algorithm=TOKEN_ALGORITHM,
    )
    return Login(token, expires_at, _principal(staff))


def logout(uow: UnitOfWork, session_id: str, now: datetime) -> None:
    session = uow.session.get(StaffSession, session_id)
    if session is not None and session.revoked_at is None:
        session.revoked_at = now


def session_id_of(token: str, secret: bytes, now: datetime) -> str | None:
    """The session id inside a valid token, None when it is forged or expired.

    Expiry is judged by the injected clock (not the library's wall clock), like everything else.
    """
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["exp", "sid", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    if int(claims["exp"]) <= int(now.timestamp()):
        return None
    return str(claims["sid"])


def principal_for_session(session: Session, session_id: str, now: datetime) -> Principal | None:
    row = session.execute(
        select(Staff, StaffSession)
        .join(StaffSession, StaffSession.staff_id == Staff.id)
        .where(StaffSession.id == session_id)
    ).first()
    if row is None:
        return None
    staff, staff_session = row
    if staff_session.revoked_at is not None or staff_session.expires_at <= now or staff.disabled_at is not None:
        return None
    return _principal(staff)
