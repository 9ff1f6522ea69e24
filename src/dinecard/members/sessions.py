"""A member's logins to their own page: one row per login, so logging out ends it on the server.

The member page's cookie is a signed token that names its session row; a page accepts the token
only while the row is live (not revoked, not expired). Logging out revokes the row, so a copy of
the cookie kept from before is refused at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from dinecard.platform.db import Base, UnitOfWork, UtcDateTime


class MemberSession(Base):
    __tablename__ = "member_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


def open_session(
    uow: UnitOfWork,
    member_id: str,
    now: datetime,
    lifetime: timedelta,
    ip: str | None = None,
    user_agent: str | None = None,
) -> MemberSession:
    """A new login of the member; its id goes into the signed cookie."""
    row = MemberSession(
        id=secrets.token_hex(16),
        member_id=member_id,
        created_at=now,
        expires_at=now + lifetime,
        ip=(ip or "")[:45] or None,
        user_agent=(user_agent or "")[:200] or None,
    )
    uow.session.add(row)
    return row


def is_live(session: Session, session_id: str, member_id: str, now: datetime) -> bool:
    """Whether this login of this member still stands."""
    row = session.get(MemberSession, session_id)
    return row is not None and row.member_id == member_id and row.revoked_at is None and now < row.expires_at


def revoke(uow: UnitOfWork, session_id: str, now: datetime) -> bool:
    """End a login; True when it was live until now."""
    row = uow.session.get(MemberSession, session_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True
