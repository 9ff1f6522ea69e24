"""API key use cases."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dinecard.platform.db import Database, UnitOfWork
from dinecard.security import staff
from dinecard.security.domain import Principal, Role, generate_key, secret_matches, split_token
from dinecard.security.models import ApiKey
from dinecard.shared import errors
from dinecard.shared.clock import Clock, SystemClock
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_ulid
from dinecard.stores.models import Store

# A looked-up key is trusted for this long without another query; revocation takes effect within it.
AUTH_CACHE_SECONDS = 30.0
# A key's last use is written at most this often per API process (GET /api-keys shows it to the minute).
LAST_USE_PRECISION = timedelta(minutes=5)

log = logging.getLogger("dinecard.security")


def create_api_key(uow: UnitOfWork, name: str, role: Role, store_id: str | None, now: datetime) -> tuple[str, str]:
    """Create a key; returns (key id, token). The token is shown once and stored only as a hash."""
    if role is not Role.HQ_ADMIN and store_id is None:
        raise DomainError(errors.STORE_REQUIRED)  # a POS key acts at one store
    if store_id is not None and uow.session.get(Store, store_id) is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    key = generate_key()
    key_id = new_ulid()
    uow.session.add(
        ApiKey(
            id=key_id,
            name=name,
            role=role.value,
            store_id=store_id,
            prefix=key.prefix,
            secret_sha256=key.secret_sha256,
            created_at=now,
        )
    )
    return key_id, key.token


def list_api_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first: prefix and hash only, never a secret."""
    return list(session.execute(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())).scalars())


def revoke_api_key(uow: UnitOfWork, key_id: str, now: datetime) -> ApiKey:
    """Revoke a key for good; revoking it again changes nothing. Each process's authenticator stops
    accepting it within AUTH_CACHE_SECONDS (at once in the process that calls `Authenticator.forget`)."""
    key = uow.session.get(ApiKey, key_id)
    if key is None:
        raise DomainError(errors.API_KEY_NOT_FOUND)
    if key.revoked_at is None:
        key.revoked_at = now
    return key


def _lookup(session: Session, prefix: str) -> ApiKey | None:
    return session.execute(
        select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()


def note_key_use(uow: UnitOfWork, key_id: str, now: datetime) -> None:
    """Set the key's last use to `now` unless another process did within LAST_USE_PRECISION."""
    uow.session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USE_PRECISION),
        )
        .values(last_used_at=now)
    )


class Authenticator:
    """Checks bearer tokens, remembering recent answers so a busy till costs no extra query."""

    def __init__(self, database: Database, token_secret: bytes | None = None, clock: Clock | None = None) -> None:
        self.database = database
        self.token_secret = token_secret
        self.clock = clock or SystemClock()
        self._cache: dict[str, tuple[float, str, Principal]] = {}
        self._use_noted: dict[str, datetime] = {}  # key id -> when this process last wrote its use

    def authenticate(self, token: str | None) -> Principal:
        """An API key (`dc_…`) or a staff login token; anything else is 401."""
        if token and not token.startswith("dc_") and self.token_secret is not None:
            return self._staff(token)
        parts = split_token(token or "")
        if parts is None:
            raise DomainError(errors.UNAUTHENTICATED)
        prefix, secret = parts
        cached = self._cache.get(prefix)
        if cached is None or cached[0] < time.monotonic():
            with self.database.read() as session:
                row = _lookup(session, prefix)
                if row is None:
                    raise DomainError(errors.UNAUTHENTICATED)
                principal = Principal(row.id, row.name, Role(row.role), row.store_id)
                cached = (time.monotonic() + AUTH_CACHE_SECONDS, row.secret_sha256, principal)
                self._cache[prefix] = cached
        if not secret_matches(secret, cached[1]):
            raise DomainError(errors.UNAUTHENTICATED)
        self._note_use(cached[2].key_id)
        return cached[2]

    def _note_use(self, key_id: str) -> None:
        """Write the key's last use unless this process did within LAST_USE_PRECISION (not once per request)."""
        now = self.clock.now()
        noted = self._use_noted.get(key_id)
        if noted is not None and now - noted < LAST_USE_PRECISION:
            return
        if self.database.active_write_session() is not None:
            return  # checked inside a write (a manager's approval): a later request notes it
        self._use_noted[key_id] = now
        try:
            with self.database.write() as uow:
                note_key_use(uow, key_id, now)
        except SQLAlchemyError:
            # Never refuse a till because its key's last use could not be written.
            log.warning("could not note the use of API key %s", key_id, exc_info=True)

    def forget(self, prefix: str) -> None:
        """Drop a remembered key (after revoking it) so this process refuses it from the next request."""
        self._cache.pop(prefix, None)

    def _staff(self, token: str) -> Principal:
        # Checked against the session row on every request, so a logout takes effect at once.
        assert self.token_secret is not None
        session_id = staff.session_id_of(token, self.token_secret, self.clock.now())
        if session_id is None:
            raise DomainError(errors.UNAUTHENTICATED)
        with self.database.read() as session:
            principal = staff.principal_for_session(session, session_id, self.clock.now())
        if principal is None:
            raise DomainError(errors.UNAUTHENTICATED)
        return principal
