"""Idempotency-Key handling: a retried request is applied once and answered the same.

The key is claimed inside the operation's own transaction, first of all. A concurrent request
with the same key waits on the unique index until the first commits (then it reads the stored
answer) or rolls back (then it goes ahead itself). Refusals roll back and store nothing, so a
retry after a refusal is evaluated afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Integer, String, Table, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, UnitOfWork, UtcDateTime
from dinecard.shared import errors
from dinecard.shared.errors import DomainError

MAX_KEY_LENGTH = 200


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_records"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


RECORDS = cast(Table, IdempotencyRecord.__table__)
# Built once; the SET clause comes from the parameters given at execution (status_code, response).
COMPLETE = update(RECORDS).where(RECORDS.c.scope == bindparam("b_scope"), RECORDS.c.key == bindparam("b_key"))


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Hash of what the request asks for; JSON is canonicalised so key order does not matter."""
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def validate_key(key: str) -> str:
    if not (1 <= len(key) <= MAX_KEY_LENGTH) or not all("!" <= char <= "~" for char in key):
        raise DomainError(errors.IDEMPOTENCY_KEY_INVALID)
    return key


def claim(uow: UnitOfWork, scope: str, key: str, fingerprint: str, now: datetime) -> StoredResponse | None:
    """Claim the key for this transaction, or return the answer already given for it."""
    if uow.insert_ignoring_conflict_returning(
        RECORDS, {"scope": scope, "key": key, "request_hash": fingerprint, "created_at": now}, ["scope", "key"]
    ):
        return None  # ours: claimed in this transaction (the usual case: one statement)
    row = uow.session.execute(
        select(IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.key == key
        )
    ).one()
    if row.status_code is None:
        assert row.request_hash == fingerprint
        return None  # ours: claimed in this transaction
    if row.request_hash != fingerprint:
        raise DomainError(errors.IDEMPOTENCY_KEY_REUSED)
    return StoredResponse(row.status_code, row.response)


def complete(uow: UnitOfWork, scope: str, key: str, status_code: int, body: Any) -> None:
    uow.execute(COMPLETE, {"b_scope": scope, "b_key": key, "status_code": status_code, "response": body})
