"""A member signs in to their own page with their phone and a one-time code.

The code is 6 digits, valid 5 minutes, refused after 5 wrong tries, stored only as an HMAC
(keyed with the app's token secret and bound to the member); a member has at most one live code:
asking again replaces it. The pure rules are functions here; `issue_code` and `check_code` are the
use cases the member page calls.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from dinecard.platform.db import Base, UnitOfWork, UtcDateTime

CODE_LENGTH = 6
CODE_LIFETIME = timedelta(minutes=5)
TRIES_MAX = 5


class MemberLoginCode(Base):
    """The one live login code of a member (the primary key keeps it to one)."""

    __tablename__ = "member_login_codes"

    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CodeCheck(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"  # too old, already used, or never asked for
    LOCKED = "locked"  # too many wrong tries: ask for a new code


# ---------------------------------------------------------------- pure rules


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def hash_code(secret: bytes, member_id: str, code: str) -> str:
    """The code as stored: an HMAC bound to the member, so a row copied to another member is useless."""
    return hmac.new(secret, f"member-login:{member_id}:{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CodeState:
    code_hash: str
    expires_at: datetime
    failed_tries: int
    used: bool


def judge(state: CodeState | None, secret: bytes, member_id: str, typed: str, now: datetime) -> CodeCheck:
    """What a typed code is worth against the stored one (without counting the try)."""
    if state is None or state.used or now >= state.expires_at:
        return CodeCheck.EXPIRED
    if state.failed_tries >= TRIES_MAX:
        return CodeCheck.LOCKED
    typed = typed.strip()
    if len(typed) != CODE_LENGTH or not (typed.isascii() and typed.isdigit()):
        return CodeCheck.WRONG
    if hmac.compare_digest(state.code_hash, hash_code(secret, member_id, typed)):
        return CodeCheck.ACCEPTED
    return CodeCheck.WRONG


def tries_left(failed_tries: int) -> int:
    return max(0, TRIES_MAX - failed_tries)


# ---------------------------------------------------------------- use cases


def issue_code(uow: UnitOfWork, secret: bytes, member_id: str, now: datetime) -> tuple[str, datetime]:
    """A fresh code for the member, replacing any earlier one; returns the code (to send) and its expiry."""
    code = new_code()
    expires_at = now + CODE_LIFETIME
    row = uow.session.get(MemberLoginCode, member_id, with_for_update=True)
    if row is None:
        row = MemberLoginCode(member_id=member_id)
        uow.session.add(row)
    row.code_hash = hash_code(secret, member_id, code)
    row.created_at = now
    row.expires_at = expires_at
    row.failed_tries = 0
    row.used_at = None
    uow.session.flush()
    return code, expires_at


def _state(row: MemberLoginCode | None) -> CodeState | None:
    if row is None:
        return None
    return CodeState(row.code_hash, row.expires_at, row.failed_tries, row.used_at is not None)


def check_code(uow: UnitOfWork, secret: bytes, member_id: str, typed: str, now: datetime) -> tuple[CodeCheck, int]:
    """Check a typed code; a wrong one is counted, the right one is used up. Returns (verdict, tries left)."""
    row = uow.session.get(MemberLoginCode, member_id, with_for_update=True, populate_existing=True)
    verdict = judge(_state(row), secret, member_id, typed, now)
    if row is None:
        return verdict, 0
    if verdict is CodeCheck.WRONG:
        row.failed_tries += 1
        if row.failed_tries >= TRIES_MAX:
            verdict = CodeCheck.LOCKED
    elif verdict is CodeCheck.ACCEPTED:
        row.used_at = now
    return verdict, tries_left(row.failed_tries)


def live_code(session: Session, member_id: str) -> MemberLoginCode | None:
    return session.get(MemberLoginCode, member_id)
