"""Coupon templates, issuing (stock and per-member limits), use at checkout and restoring on refund.

Every change to a member's coupons happens under that member's lock (members.service.lock_member),
so a coupon cannot be used twice, or used while it is being voided. Template stock is claimed
with one conditional UPDATE: concurrent claims on the last coupon give it to exactly one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dinecard.coupons.domain import (
    CouponEffect,
    CouponStatus,
    IssuedCoupon,
    TemplateRules,
    UseContext,
    new_coupon_code,
    normalize_code,
    refusal,
    refuse,
    usable_now,
)
from dinecard.coupons.models import Coupon, CouponTemplate
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.menu.service import dishes_by_id
from dinecard.platform.db import UnitOfWork
from dinecard.program.domain import Program
from dinecard.program.presets import PRESET_COUPON_TEMPLATES
from dinecard.rewards import history
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.times import iso_utc
from dinecard.stores.service import unknown_stores

log = logging.getLogger(__name__)


class Source:
    """Why a coupon was issued (shown in the member's rewards history)."""

    STAFF = "staff"
    UPGRADE_GIFT = "upgrade_gift"
    BIRTHDAY_GIFT = "birthday_gift"
    MALL = "mall"
    LOTTERY = "lottery"
    STAMP_CARD = "stamp_card"


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class TemplateFields:
    name: str
    name_en: str | None
    stock: int | None
    active: bool = True


def template_rules(row: CouponTemplate) -> TemplateRules:
    return TemplateRules.model_validate(row.rules)


def create_template(
    uow: UnitOfWork,
    code: str,
    fields: TemplateFields,
    rules: TemplateRules,
    now: datetime,
    program: Program | None = None,
) -> CouponTemplate:
    """A new template; its levels must be levels of `program` and its stores must exist, or the
    coupons it makes could never be used."""
    if uow.session.get(CouponTemplate, code) is not None:
        raise DomainError(errors.COUPON_TEMPLATE_TAKEN, {"template_code": code})
    unknown_levels = sorted(set(rules.levels or ()) - {level.code for level in program.levels}) if program else []
    strangers = unknown_stores(uow.session, rules.stores)
    if unknown_levels or strangers:
        raise errors.invalid(
            *[("levels", f"unknown level {level}") for level in unknown_levels],
            *[("stores", f"unknown store {store}") for store in strangers],
        )
    if rules.dish_ids:
        missing = sorted(set(rules.dish_ids) - set(dishes_by_id(uow.session, rules.dish_ids)))
        if missing:
            raise DomainError(errors.DISH_NOT_FOUND, {"dish_id": missing[0]})
    row = CouponTemplate(
        code=code,
        name=fields.name,
        name_en=fields.name_en,
        kind=rules.kind.value,
        rules=rules.model_dump(mode="json"),
        stock=fields.stock,
        issued_count=0,
        active=fields.active,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def update_template(uow: UnitOfWork, code: str, fields: TemplateFields, now: datetime) -> CouponTemplate:
    """Names, stock and whether it is still issued; the rules of issued coupons never change."""
    return _apply_fields(_locked_template(uow, code), fields, now)


def patch_template(uow: UnitOfWork, code: str, changes: dict[str, Any], now: datetime) -> CouponTemplate:
    """Change only the fields named in `changes` (name, name_en, stock, active); the rest stay.

    The template is locked before its current fields are read, so two patches of different
    fields at once both take effect.
    """
    row = _locked_template(uow, code)
    current = {"name": row.name, "name_en": row.name_en, "stock": row.stock, "active": row.active}
    return _apply_fields(row, TemplateFields(**(current | changes)), now)


def _locked_template(uow: UnitOfWork, code: str) -> CouponTemplate:
    row = uow.session.get(CouponTemplate, code, with_for_update=True, populate_existing=True)
    if row is None:
        raise DomainError(errors.COUPON_TEMPLATE_NOT_FOUND, {"template_code": code})
    return row


def _apply_fields(row: CouponTemplate, fields: TemplateFields, now: datetime) -> CouponTemplate:
    if fields.stock is not None and fields.stock < row.issued_count:
        raise errors.invalid(("stock", f"{row.issued_count} are already issued"))
    row.name, row.name_en, row.stock, row.active, row.updated_at = (
        fields.name,
        fields.name_en,
        fields.stock,
        fields.active,
        now,
    )
    return row


def get_template(session: Session, code: str) -> CouponTemplate:
    row = session.get(CouponTemplate, code)
    if row is None:
        raise DomainError(errors.COUPON_TEMPLATE_NOT_FOUND, {"template_code": code})
    return row


def list_templates(session: Session) -> list[CouponTemplate]:
    return list(session.execute(select(CouponTemplate).order_by(CouponTemplate.created_at)).scalars())


def ensure_preset_template(uow: UnitOfWork, code: str, now: datetime) -> bool:
    """Create a template a preset names (PRESET_COUPON_TEMPLATES) if it is missing; False if unknown."""
    document = PRESET_COUPON_TEMPLATES.get(code)
    if document is None:
        return False
    rules = TemplateRules.model_validate({k: v for k, v in document.items() if k not in ("name", "name_en")})
    row = {
        "code": code,
        "name": document["name"],
        "name_en": document["name_en"],
        "kind": rules.kind.value,
        "rules": rules.model_dump(mode="json"),
        "stock": None,
        "issued_count": 0,
        "active": True,
        "created_at": now,
        "updated_at": now,
    }
    # Two first uses at once both try: one inserts, the other finds it.
    uow.insert_ignoring_conflict(CouponTemplate.__table__, row, "code")
    return True


def ensure_preset_templates(uow: UnitOfWork, codes: set[str], now: datetime) -> None:
    for code in sorted(codes):
        if uow.session.get(CouponTemplate, code) is None:
            ensure_preset_template(uow, code, now)


def missing_templates(session: Session, codes: set[str]) -> list[str]:
    if not codes:
        return []
    found = set(session.execute(select(CouponTemplate.code).where(CouponTemplate.code.in_(codes))).scalars())
    return sorted(codes - found)


# ---------------------------------------------------------------- issuing


def issue(
    uow: UnitOfWork,
    program: Program,
    member_id: str,
    template_code: str,
    now: datetime,
    source: str,
    source_ref: str | None = None,
    issued_by: str | None = None,
    count: int = 1,
) -> list[Coupon]:
    """Issue `count` coupons to a member (the caller holds the member's lock)."""
    template = uow.session.get(CouponTemplate, template_code, populate_existing=True)
    if template is None and ensure_preset_template(uow, template_code, now):
        template = uow.session.get(CouponTemplate, template_code, populate_existing=True)
    if template is None:
        raise DomainError(errors.COUPON_TEMPLATE_NOT_FOUND, {"template_code": template_code})
    if not template.active:
        raise DomainError(errors.COUPON_TEMPLATE_INACTIVE, {"template_code": template_code})
    rules = template_rules(template)
    if rules.per_member_limit is not None:
        held = uow.session.execute(
            select(func.count())
            .select_from(Coupon)
            .where(Coupon.member_id == member_id, Coupon.template_code == template_code)
        ).scalar_one()
        if held + count > rules.per_member_limit:
            raise DomainError(
                errors.COUPON_MEMBER_LIMIT, {"template_code": template_code, "limit": rules.per_member_limit}
            )
    # The window first: a template whose fixed dates have passed would hand out dead coupons.
    valid_from, valid_until = (
        moment.astimezone(UTC) for moment in rules.validity.window(now, program.business_timezone)
    )
    if valid_until <= now:
        raise DomainError(errors.COUPON_TEMPLATE_INACTIVE, {"template_code": template_code, "reason": "validity_ended"})
    claimed = uow.session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.code == template_code,
            (CouponTemplate.stock.is_(None)) | (CouponTemplate.issued_count + count <= CouponTemplate.stock),
        )
        .values(issued_count=CouponTemplate.issued_count + count)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(errors.COUPON_OUT_OF_STOCK, {"template_code": template_code})
    coupons = [
        Coupon(
            code=new_coupon_code(),
            template_code=template_code,
            member_id=member_id,
            status=CouponStatus.ISSUED.value,
            valid_from=valid_from,
            valid_until=valid_until,
            source=source,
            source_ref=source_ref,
            issued_by=issued_by,
            issued_at=now,
            discount_fen=0,
            times_restored=0,
        )
        for _ in range(count)
    ]
    uow.session.add_all(coupons)
    uow.session.flush()
    for coupon in coupons:
        history.record(
            uow,
            member_id,
            "coupon_issued",
            coupon.code,
            now,
            template_code=template_code,
            template_name=template.name,
            source=source,
            source_ref=source_ref,
            valid_until=iso_utc(valid_until),
        )
    return coupons


def issue_gift(
    uow: UnitOfWork, program: Program, member_id: str, template_code: str, now: datetime, source: str, source_ref: str
) -> Coupon | None:
    """A coupon given by a rule (upgrade, birthday, stamp card): when the template cannot give one
    (out of stock, stopped, limit reached) the operation still goes on, and the history says why."""
    try:
        # issue() refuses before it writes anything, so the transaction goes on unharmed.
        return issue(uow, program, member_id, template_code, now, source, source_ref)[0]
    except DomainError as refused:
        log.warning("gift coupon not issued", extra={"template": template_code, "reason": refused.code})
        history.record(
            uow, member_id, "coupon_gift_skipped", None, now, template_code=template_code, reason=refused.code
        )
        return None


# ---------------------------------------------------------------- reading


def find(session: Session, typed: str) -> Coupon:
    code = normalize_code(typed)
    row = session.execute(select(Coupon).where(Coupon.code == code)).scalar_one_or_none() if code else None
    if row is None:
        raise DomainError(errors.COUPON_NOT_FOUND, {"coupon_code": typed})
    return row


def as_issued(row: Coupon, template: CouponTemplate) -> IssuedCoupon:
    return IssuedCoupon(
        code=row.code,
        template_code=row.template_code,
        member_id=row.member_id,
        status=CouponStatus(row.status),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        rules=template_rules(template),
    )


def display_status(row: Coupon, now: datetime) -> str:
    """issued | used | voided as stored, or expired / not_yet_valid for an issued one out of its window."""
    if row.status != CouponStatus.ISSUED.value:
        return row.status
    if now >= row.valid_until:
        return "expired"
    return "not_yet_valid" if now < row.valid_from else "usable"


def member_coupons(session: Session, member_id: str, status: str | None, now: datetime) -> list[Coupon]:
    query = select(Coupon).where(Coupon.member_id == member_id)
    if status == "usable":
        query = query.where(
            Coupon.status == CouponStatus.ISSUED.value, Coupon.valid_until > now, Coupon.valid_from <= now
        )
    elif status == "expired":
        query = query.where(Coupon.status == CouponStatus.ISSUED.value, Coupon.valid_until <= now)
    elif status in ("used", "voided"):
        query = query.where(Coupon.status == status)
    return list(session.execute(query.order_by(Coupon.valid_until, Coupon.id)).scalars())


def templates_by_code(session: Session, codes: set[str]) -> dict[str, CouponTemplate]:
    if not codes:
        return {}
    rows = session.execute(select(CouponTemplate).where(CouponTemplate.code.in_(codes))).scalars()
    return {row.code: row for row in rows}


# ---------------------------------------------------------------- at checkout


def load_for_bill(session: Session, typed_codes: list[str], context: UseContext) -> list[IssuedCoupon]:
    """The coupons named on a bill, each checked usable by this member here and now."""
    codes: list[str] = []
    for typed in typed_codes:
        code = normalize_code(typed)
        if code is None:
            raise DomainError(errors.COUPON_NOT_FOUND, {"coupon_code": typed})
        if code in codes:
            raise DomainError(errors.COUPON_DUPLICATE, {"coupon_code": code})
        codes.append(code)
    if not codes:
        return []
    rows = {
        row.code: row
        for row in session.execute(
            select(Coupon).where(Coupon.code.in_(codes)).execution_options(populate_existing=True)
        ).scalars()
    }
    templates = templates_by_code(session, {row.template_code for row in rows.values()})
    coupons: list[IssuedCoupon] = []
    for code in codes:
        row = rows.get(code)
        if row is None:
            raise DomainError(errors.COUPON_NOT_FOUND, {"coupon_code": code})
        coupon = as_issued(row, templates[row.template_code])
        why = refusal(coupon, context)
        if why is not None:
            raise refuse(why, code, valid_from=iso_utc(row.valid_from), valid_until=iso_utc(row.valid_until))
        coupons.append(coupon)
    return coupons


def use(
    uow: UnitOfWork, member_id: str, effects: tuple[CouponEffect, ...], order_no: str, store_id: str, now: datetime
) -> list[Entry]:
    """Mark the coupons used and book what each took off as its cost (per store and template)."""
    entries: list[Entry] = []
    for effect in effects:
        uow.session.execute(
            update(Coupon)
            .where(Coupon.code == effect.code)
            .values(
                status=CouponStatus.USED.value,
                used_order_no=order_no,
                used_at=now,
                used_store_id=store_id,
                discount_fen=effect.amount.fen,
            )
            .execution_options(synchronize_session=False)
        )
        entries += _cost_entries(uow, effect.template_code, effect.amount.fen, EntryReason.COUPON, now, store_id)
        history.record(uow, member_id, "coupon_used", effect.code, now, order_no=order_no, amount=effect.amount.yuan())
    return entries


def _cost_entries(
    uow: UnitOfWork, template_code: str, amount: int, reason: EntryReason, now: datetime, store_id: str
) -> list[Entry]:
    # The coupon paid this part of the bill: consumption the chain recognizes, and its cost.
    return [
        ledger.counter_entry(uow, AccountKind.COUPON_COST, Unit.FEN, -amount, reason, now, store_id, template_code),
        ledger.counter_entry(uow, AccountKind.CONSUMPTION, Unit.FEN, amount, reason, now, store_id, "coupon"),
    ]


@dataclass(frozen=True)
class RestoredCoupon:
    code: str
    restored: bool  # False: it had expired (or was voided) and stays used


def restore_after_refund(
    uow: UnitOfWork, order_no: str, store_id: str, now: datetime
) -> tuple[list[Entry], list[RestoredCoupon]]:
    """A bill refunded in full: each coupon's cost is reversed, and a coupon still within its
    validity is the member's to use again (R-PAY-6); an expired one stays used."""
    rows = list(
        uow.session.execute(
            select(Coupon).where(Coupon.used_order_no == order_no).execution_options(populate_existing=True)
        ).scalars()
    )
    entries: list[Entry] = []
    outcome: list[RestoredCoupon] = []
    for row in rows:
        entries += _cost_entries(uow, row.template_code, -row.discount_fen, EntryReason.COUPON_RESTORE, now, store_id)
        restored = now < row.valid_until
        if restored:
            row.status = CouponStatus.ISSUED.value
            row.used_order_no, row.used_at, row.used_store_id, row.discount_fen = None, None, None, 0
            row.times_restored += 1
        history.record(
            uow,
            row.member_id,
            "coupon_restored" if restored else "coupon_not_restored",
            row.code,
            now,
            order_no=order_no,
            reason=None if restored else "expired",
        )
        outcome.append(RestoredCoupon(row.code, restored))
    return entries, outcome


def void(uow: UnitOfWork, row: Coupon, reason: str, actor_id: str | None, now: datetime) -> Coupon:
    """Withdraw an unused coupon (the caller holds its member's lock)."""
    if row.status == CouponStatus.USED.value:
        raise DomainError(errors.COUPON_USED, {"coupon_code": row.code})
    if row.status == CouponStatus.VOIDED.value:
        raise DomainError(errors.COUPON_VOIDED, {"coupon_code": row.code})
    row.status, row.voided_at, row.void_reason = CouponStatus.VOIDED.value, now, reason
    history.record(uow, row.member_id, "coupon_voided", row.code, now, reason=reason, by=actor_id)
    return row


def is_usable(row: Coupon, template: CouponTemplate, now: datetime) -> bool:
    return usable_now(as_issued(row, template), now)
