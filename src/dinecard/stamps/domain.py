"""Stamp cards (集杯卡, R-CPN-5) as pure rules: which units earn stamps, when a card is full,
and how many stamps a refund takes back. No database, no web, no clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dinecard.shared.rounding import cumulative_share


@dataclass(frozen=True)
class CardRule:
    id: str
    dish_ids: frozenset[str]
    categories: frozenset[str]
    stamps_needed: int
    stores: frozenset[str] | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool

    def running(self, moment: datetime, store_id: str) -> bool:
        started = self.starts_at is None or self.starts_at <= moment
        not_ended = self.ends_at is None or moment < self.ends_at
        at_store = self.stores is None or store_id in self.stores
        return self.active and started and not_ended and at_store

    def qualifies(self, dish_id: str | None, category: str | None) -> bool:
        return (dish_id is not None and dish_id in self.dish_ids) or (
            category is not None and category in self.categories
        )


@dataclass(frozen=True)
class StampLine:
    dish_id: str | None
    category: str | None  # from the menu
    quantity: int
    free_units: int  # units a dish voucher paid for: a free cup earns no stamp


def stamps_earned(card: CardRule, lines: list[StampLine]) -> int:
    return sum(max(line.quantity - line.free_units, 0) for line in lines if card.qualifies(line.dish_id, line.category))


def collect(stamps: int, earned: int, needed: int) -> tuple[int, int]:
    """(stamps left on the card, cards completed now): every `needed` stamps make one reward."""
    assert needed > 0 and earned >= 0
    total = stamps + earned
    if total < needed:
        return total, 0
    completed = total // needed
    return total - completed * needed, completed


def stamps_to_take_back(earned: int, already_taken: int, refunded_after: int, payable: int) -> int:
    """Stamps a refund takes back: the refunded share of what the bill earned, cumulative, so a
    series of partial refunds ends where one whole refund would."""
    return cumulative_share(earned, refunded_after, payable) - already_taken


def free_units_by_dish(voucher_dish_ids: list[str | None]) -> Mapping[str, int]:
    counts: dict[str, int] = {}
    for dish_id in voucher_dish_ids:
        if dish_id is not None:
            counts[dish_id] = counts.get(dish_id, 0) + 1
    return counts
