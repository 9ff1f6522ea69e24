"""The menu: dishes, their prices, where they are sold and who may order them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.menu.domain import MenuDish
from dinecard.menu.models import Dish
from dinecard.platform.db import UnitOfWork
from dinecard.program.domain import Program
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores.service import unknown_stores


@dataclass(frozen=True)
class DishFields:
    name: str
    name_en: str | None
    category: str
    price: Money
    stores: frozenset[str] | None
    exclusive_levels: frozenset[str] | None
    active: bool = True


def as_menu_dish(row: Dish) -> MenuDish:
    return MenuDish(
        id=row.id,
        name=row.name,
        category=row.category,
        price=Money(row.price_fen),
        stores=frozenset(row.stores) if row.stores is not None else None,
        exclusive_levels=frozenset(row.exclusive_levels) if row.exclusive_levels is not None else None,
        active=row.active,
    )


def _check(uow: UnitOfWork, fields: DishFields, program: Program | None) -> None:
    """Stores and levels a dish names must exist, or nobody could ever order it."""
    problems = [("stores", f"unknown store {store}") for store in unknown_stores(uow.session, fields.stores)]
    if program is not None and fields.exclusive_levels is not None:
        known = {level.code for level in program.levels}
        problems += [("exclusive_levels", f"unknown level {code}") for code in sorted(fields.exclusive_levels - known)]
    if problems:
        raise errors.invalid(*problems)


def _apply(row: Dish, fields: DishFields) -> None:
    row.name, row.name_en, row.category = fields.name, fields.name_en, fields.category
    row.price_fen = fields.price.fen
    row.stores = sorted(fields.stores) if fields.stores is not None else None
    row.exclusive_levels = sorted(fields.exclusive_levels) if fields.exclusive_levels is not None else None
    row.active = fields.active


def create_dish(
    uow: UnitOfWork, dish_id: str, fields: DishFields, now: datetime, program: Program | None = None
) -> Dish:
    if uow.session.get(Dish, dish_id) is not None:
        raise DomainError(errors.DISH_ID_TAKEN, {"dish_id": dish_id})
    _check(uow, fields, program)
    row = Dish(id=dish_id, created_at=now, updated_at=now)
    _apply(row, fields)
    uow.session.add(row)
    uow.session.flush()
    return row


def update_dish(
    uow: UnitOfWork, dish_id: str, fields: DishFields, now: datetime, program: Program | None = None
) -> Dish:
    row = uow.session.get(Dish, dish_id, with_for_update=True)
    if row is None:
        raise DomainError(errors.DISH_NOT_FOUND, {"dish_id": dish_id})
    _check(uow, fields, program)
    _apply(row, fields)
    row.updated_at = now
    return row


def get_dish(session: Session, dish_id: str) -> Dish:
    row = session.get(Dish, dish_id)
    if row is None:
        raise DomainError(errors.DISH_NOT_FOUND, {"dish_id": dish_id})
    return row


def list_dishes(session: Session, category: str | None = None, store_id: str | None = None) -> list[Dish]:
    query = select(Dish).order_by(Dish.category, Dish.id)
    if category is not None:
        query = query.where(Dish.category == category)
    rows = list(session.execute(query).scalars())
    if store_id is not None:
        rows = [row for row in rows if row.stores is None or store_id in row.stores]
    return rows


def dishes_by_id(session: Session, dish_ids: Iterable[str]) -> dict[str, MenuDish]:
    wanted = sorted(set(dish_ids))
    if not wanted:
        return {}
    rows = session.execute(select(Dish).where(Dish.id.in_(wanted))).scalars()
    return {row.id: as_menu_dish(row) for row in rows}
