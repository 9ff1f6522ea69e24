"""API keys for POS systems and operators."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    # Keys are 256-bit random secrets, so a plain SHA-256 is enough (no slow hash needed).
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Noted at most once per LAST_USE_PRECISION per API process (security.service), not per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Staff(Base):
    """A person who logs in: cashier, store manager or HQ admin."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class StaffSession(Base):
    """A login: the token carries its id, so logging out (revoking it) ends the token at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class AuditEntry(Base):
    """Who changed what, when, from where, before and after (R-SEC-3).

    Entries are written in the transaction of the change; a sealer then links them in id
    order into a hash chain (entry_hash covers the entry and the previous hash), so any
    later edit or deletion of a sealed entry breaks the chain that `dinecard audit verify` walks.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_kind: Mapped[str] = mapped_column(String(10))  # staff | api_key | system
    actor_id: Mapped[str | None] = mapped_column(String(26), index=True)
    actor_name: Mapped[str | None] = mapped_column(String(80))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    store_id: Mapped[str | None] = mapped_column(String(26), index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(60))
    target_kind: Mapped[str | None] = mapped_column(String(30))
    target_id: Mapped[str | None] = mapped_column(String(40), index=True)
    order_no: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)
    previous_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    sealed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditSeal(Base):
    """The head of the sealed chain: the last sealed entry's id and hash (catches a cut-off tail)."""

    __tablename__ = "audit_seal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    last_entry_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
    sealed_count: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RiskEvent(Base):
    """An unusual pattern or an operational alarm for HQ to review (R-SEC-4, R-OPS-4)."""

    __tablename__ = "risk_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(10))  # risk | alert
    kind: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(10))  # info | warning | critical
    member_id: Mapped[str | None] = mapped_column(String(26), index=True)
    store_id: Mapped[str | None] = mapped_column(String(26))
    actor_id: Mapped[str | None] = mapped_column(String(26))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    details: Mapped[Any] = mapped_column(JSON, nullable=True)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)  # open | resolved
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_note: Mapped[str | None] = mapped_column(String(200))


class Approval(Base):
    """A refund or adjustment above the approval threshold, waiting for a store manager (R-CMP-6)."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    action: Mapped[str] = mapped_column(String(30))  # refund | adjustment
    store_id: Mapped[str | None] = mapped_column(String(26), index=True)
    member_id: Mapped[str | None] = mapped_column(String(26))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    request: Mapped[Any] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(26))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending | approved | rejected
    decided_by: Mapped[str | None] = mapped_column(String(26))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    result: Mapped[Any] = mapped_column(JSON, nullable=True)
