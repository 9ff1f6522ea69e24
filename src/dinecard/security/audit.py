"""The audit log (R-SEC-3): who changed what, when, from where, before and after.

`record` writes an entry in the transaction of the change itself, so a change and its entry
commit or roll back together. Entries are linked into a hash chain later, by `seal_pending`
(see `audit_chain`), so writers never queue behind one chain head.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from dinecard.platform.db import UnitOfWork
from dinecard.platform.outbox import redact_phones
from dinecard.security.audit_chain import (
    GENESIS_HASH,
    SEAL_BATCH,
    SealResult,
    VerifyReport,
    seal_pending,
    sealing_time,
    verify,
)
from dinecard.security.domain import Principal
from dinecard.security.models import AuditEntry

__all__ = [
    "GENESIS_HASH",
    "SEAL_BATCH",
    "SealResult",
    "VerifyReport",
    "list_entries",
    "record",
    "scrub",
    "seal_pending",
    "sealing_time",
    "verify",
]

REDACTED = "[redacted]"
# Credentials a response may carry once (a new API key, a login token): never kept in the log.
SECRET_FIELDS = frozenset({"key", "token", "password", "secret", "access_token", "refresh_token"})
# Personal identifiers that must never be stored in the clear, whatever their format.
IDENTITY_FIELDS = frozenset({"phone", "id_number", "id_card", "id_no"})
ID_NUMBER_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
SHOW_LIMIT_MAX = 1000
SCRUB_DEPTH_MAX = 20
_ENTRIES = cast(Table, AuditEntry.__table__)
INSERT_ENTRY = insert(_ENTRIES).returning(_ENTRIES.c.id)  # built once (UnitOfWork.execute)


def scrub(value: Any, depth: int = 0) -> Any:
    """A copy of a JSON value with credentials dropped and mobile numbers masked."""
    assert depth <= SCRUB_DEPTH_MAX, "audit before/after values are shallow documents"
    if isinstance(value, str):
        return redact_phones(value)
    if isinstance(value, dict):
        cleaned: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key).lower()
            if name in SECRET_FIELDS and item is not None:
                cleaned[str(key)] = REDACTED
            elif name in IDENTITY_FIELDS and isinstance(item, str):
                cleaned[str(key)] = ID_NUMBER_PATTERN.sub(REDACTED, redact_phones(item))
            else:
                cleaned[str(key)] = scrub(item, depth + 1)
        return cleaned
    if isinstance(value, list | tuple):
        return [scrub(item, depth + 1) for item in value]
    return value


def _clip(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def record(
    uow: UnitOfWork,
    *,
    actor: Principal | None,
    action: str,
    target_kind: str | None,
    target_id: str | None,
    now: datetime,
    order_no: str | None = None,
    before: Any = None,
    after: Any = None,
    store_id: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
    actor_name: str | None = None,
) -> int:
    """Add one audit entry in the caller's transaction; `actor` None is the system (`actor_name` says which part)."""
    values = {
        "occurred_at": now,
        "actor_kind": getattr(actor, "kind", "api_key") if actor is not None else "system",
        "actor_id": _clip(actor.key_id, 26) if actor is not None else None,
        "actor_name": _clip(actor.name if actor is not None else actor_name, 80),
        "actor_role": _clip(str(actor.role), 20) if actor is not None else None,
        "store_id": _clip(store_id, 26),
        "ip": _clip(ip, 45),
        "user_agent": _clip(user_agent, 200),
        "request_id": _clip(request_id, 32),
        "action": _clip(action, 60),
        "target_kind": _clip(target_kind, 30),
        "target_id": _clip(target_id, 40),
        "order_no": _clip(order_no, 32),
        "before": scrub(before),
        "after": scrub(after),
    }
    entry_id: int = uow.execute(INSERT_ENTRY, values).scalar_one()
    return entry_id


@dataclass(frozen=True)
class AuditLine:
    """One entry as `dinecard audit show` lists it."""

    id: int
    occurred_at: datetime
    actor_kind: str
    actor_name: str | None
    actor_role: str | None
    ip: str | None
    action: str
    target_kind: str | None
    target_id: str | None
    order_no: str | None
    before: Any
    after: Any
    sealed: bool


def list_entries(session: Session, *, target_id: str | None = None, limit: int = 50) -> Sequence[AuditLine]:
    """The newest entries first, optionally only those about one member (or other target)."""
    limit = max(1, min(limit, SHOW_LIMIT_MAX))
    statement = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if target_id is not None:
        statement = statement.where(AuditEntry.target_id == target_id)
    return [
        AuditLine(
            id=entry.id,
            occurred_at=entry.occurred_at,
            actor_kind=entry.actor_kind,
            actor_name=entry.actor_name,
            actor_role=entry.actor_role,
            ip=entry.ip,
            action=entry.action,
            target_kind=entry.target_kind,
            target_id=entry.target_id,
            order_no=entry.order_no,
            before=entry.before,
            after=entry.after,
            sealed=entry.entry_hash is not None,
        )
        for entry in session.execute(statement).scalars()
    ]
