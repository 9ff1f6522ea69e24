"""Store use cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.platform.db import UnitOfWork
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_ulid
from dinecard.stores.models import Store


def create_store(uow: UnitOfWork, code: str, name: str, now: datetime) -> Store:
    if uow.session.execute(select(Store.id).where(Store.code == code)).first():
        raise DomainError(errors.STORE_CODE_TAKEN)
    store = Store(id=new_ulid(), code=code, name=name, created_at=now)
    uow.session.add(store)
    uow.session.flush()
    return store


def rename_store(uow: UnitOfWork, store_id: str, name: str) -> Store:
    store = uow.session.get(Store, store_id)
    if store is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    store.name = name
    return store


def list_stores(session: Session) -> list[Store]:
    return list(session.execute(select(Store).order_by(Store.code)).scalars())


def unknown_stores(session: Session, store_ids: Iterable[str] | None) -> list[str]:
    """The ids among `store_ids` that name no store (a rule limited to them would never apply)."""
    wanted = set(store_ids or ())
    if not wanted:
        return []
    known = set(session.execute(select(Store.id).where(Store.id.in_(wanted))).scalars())
    return sorted(wanted - known)
