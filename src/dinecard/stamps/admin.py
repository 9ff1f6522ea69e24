"""Setting stamp cards up (HQ)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.coupons.domain import CouponKind
from dinecard.coupons.models import CouponTemplate
from dinecard.menu.service import dishes_by_id
from dinecard.platform.db import UnitOfWork
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.stamps.models import StampCard
from dinecard.stores.service import unknown_stores


@dataclass(frozen=True)
class CardFields:
    name: str
    name_en: str | None
    dish_ids: list[str] | None
    categories: list[str] | None
    stamps_needed: int
    reward_template_code: str
    stores: list[str] | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool


def _apply(uow: UnitOfWork, row: StampCard, fields: CardFields) -> None:
    template = uow.session.get(CouponTemplate, fields.reward_template_code)
    if template is None:
        raise DomainError(errors.COUPON_TEMPLATE_NOT_FOUND, {"template_code": fields.reward_template_code})
    if template.kind != CouponKind.DISH.value:
        raise errors.invalid(("reward_template_code", "the reward of a stamp card is a dish voucher"))
    problems = [("stores", f"unknown store {store}") for store in unknown_stores(uow.session, fields.stores)]
    known_dishes = dishes_by_id(uow.session, fields.dish_ids or ())
    problems += [
        ("dish_ids", f"unknown dish {dish}") for dish in sorted(set(fields.dish_ids or ()) - set(known_dishes))
    ]
    if fields.starts_at and fields.ends_at and fields.ends_at <= fields.starts_at:
        problems.append(("ends_at", "ends_at must be after starts_at"))
    if problems:
        raise errors.invalid(*problems)
    for name, value in vars(fields).items():
        setattr(row, name, value)


def create_card(uow: UnitOfWork, card_id: str, fields: CardFields, now: datetime) -> StampCard:
    if uow.session.get(StampCard, card_id) is not None:
        raise DomainError(errors.STAMP_CARD_TAKEN, {"card_id": card_id})
    row = StampCard(id=card_id, created_at=now, updated_at=now)
    _apply(uow, row, fields)
    uow.session.add(row)
    uow.session.flush()
    return row


def update_card(uow: UnitOfWork, card_id: str, fields: CardFields, now: datetime) -> StampCard:
    row = uow.session.get(StampCard, card_id, with_for_update=True)
    if row is None:
        raise DomainError(errors.STAMP_CARD_NOT_FOUND, {"card_id": card_id})
    _apply(uow, row, fields)
    row.updated_at = now
    return row


def list_cards(session: Session) -> list[StampCard]:
    return list(session.execute(select(StampCard).order_by(StampCard.id)).scalars())
