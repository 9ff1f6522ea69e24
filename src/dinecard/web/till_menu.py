"""The menu at the till: the dishes this store sells, which of them this member may order, and the
checkout's line items read back from the form.

Whether a dish can be ordered is the menu's own rule (`menu.domain.check_orderable`: sold here,
active, exclusive levels); the page only shows its answer. Lines go to the checkout as the API
takes them (`items`: dish id and quantity; the menu gives name and price), so dish vouchers,
member-day dish prices and stamp cards work exactly as for a POS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from dinecard.menu import service as menu
from dinecard.menu.domain import check_orderable
from dinecard.program.domain import Program
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.web.i18n import translator


@dataclass(frozen=True)
class TillDish:
    id: str
    name: str
    category: str
    price: Money
    orderable: bool
    note: str | None  # why it cannot be ordered, or that it is exclusive to the member's level
    search: str  # what the filter matches: both names, the category and the code, lower case


@dataclass(frozen=True)
class TillMenu:
    dishes: list[TillDish] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(dish.category for dish in self.dishes))

    @property
    def orderable(self) -> list[TillDish]:
        return [dish for dish in self.dishes if dish.orderable]


def _level_names(program: Program, codes: frozenset[str], locale: str) -> str:
    names = [level.name if locale == "zh" else level.name_en for level in program.levels if level.code in codes]
    return ("、" if locale == "zh" else ", ").join(names)


def till_menu(session: Session, program: Program, store_id: str, level_code: str, locale: str) -> TillMenu:
    """The store's active dishes in menu order, each with whether this member may order it."""
    t = translator(locale)
    dishes: list[TillDish] = []
    for row in menu.list_dishes(session, store_id=store_id):
        if not row.active:
            continue
        dish = menu.as_menu_dish(row)
        note: str | None = None
        try:
            check_orderable(dish, row.id, store_id, level_code)
            orderable = True
        except DomainError as refused:
            orderable = False
            note = refused.kind.message_zh if locale == "zh" else refused.kind.message_en
        if dish.exclusive_levels is not None:
            note = t("till.menu.exclusive", levels=_level_names(program, dish.exclusive_levels, locale))
        name = row.name if locale == "zh" else row.name_en or row.name
        search = " ".join(part for part in (row.name, row.name_en, row.category, row.id) if part).lower()
        dishes.append(TillDish(row.id, name, row.category, dish.price, orderable, note, search))
    return TillMenu(dishes)


def lines_from_form(dish_ids: list[str], quantities: list[str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The bill's lines as the checkout API takes them (`{"dish_id", "quantity"}`), and the typed
    quantities to draw the form again. A dish left at 0 (or empty) is not on the bill."""
    if len(dish_ids) != len(quantities):
        raise errors.invalid(("items", "each dish needs its quantity"))
    lines: list[dict[str, Any]] = []
    typed: dict[str, str] = {}
    for dish_id, quantity in zip(dish_ids, quantities, strict=True):
        quantity = quantity.strip()
        if not quantity or (quantity.isdigit() and int(quantity) == 0):
            continue  # not on the bill
        typed[dish_id] = quantity
        lines.append({"dish_id": dish_id, "quantity": quantity})
    return lines, typed
