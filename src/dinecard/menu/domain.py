"""Menu rules: where a dish is sold and who may order it (R-PER-3). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money


@dataclass(frozen=True)
class MenuDish:
    id: str
    name: str
    category: str
    price: Money
    stores: frozenset[str] | None
    exclusive_levels: frozenset[str] | None
    active: bool


def check_orderable(dish: MenuDish | None, dish_id: str, store_id: str, level_code: str) -> MenuDish:
    """The dish, if this member may order it at this store; else a refusal naming the dish."""
    if dish is None:
        raise DomainError(errors.DISH_NOT_FOUND, {"dish_id": dish_id})
    if not dish.active or (dish.stores is not None and store_id not in dish.stores):
        raise DomainError(errors.DISH_NOT_AVAILABLE, {"dish_id": dish_id})
    if dish.exclusive_levels is not None and level_code not in dish.exclusive_levels:
        raise DomainError(errors.DISH_EXCLUSIVE, {"dish_id": dish_id, "levels": sorted(dish.exclusive_levels)})
    return dish
