"""Checkout and its quote: promotions, discount, points, balance, other tender (R-PAY-2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from math import gcd
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupon_service
from dinecard.coupons.domain import CouponEffect, IssuedCoupon, UseContext
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, EntryReason
from dinecard.ledger.service import MemberAccounts
from dinecard.levels.domain import upgrade_after
from dinecard.levels.service import NO_COUPONS, apply_level_change
from dinecard.levels.service import standing as standing_of
from dinecard.members.domain import ensure_can_spend
from dinecard.members.models import Member
from dinecard.members.service import lock_member, set_locked_member_columns, write_locked_member_columns
from dinecard.menu.domain import MenuDish, check_orderable
from dinecard.menu.service import dishes_by_id
from dinecard.platform import metrics
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.points.domain import usable_points
from dinecard.program.domain import LevelRule, Program, fraction
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_order_no
from dinecard.shared.money import Money
from dinecard.shared.rounding import floor_points
from dinecard.stamps import service as stamps
from dinecard.stamps.domain import StampLine, free_units_by_dish
from dinecard.stamps.service import StampsEarned
from dinecard.stores.models import Store
from dinecard.wallet.common import FEN, MemberAfter, PaymentMethod, member_after, money_entries, notify, require_store
from dinecard.wallet.domain import (
    Balance,
    BillLine,
    CheckoutPricing,
    CheckoutRequest,
    Discount,
    MemberFacts,
    price_checkout,
)
from dinecard.wallet.models import Checkout

# ---------------------------------------------------------------- checkout

INSERT_CHECKOUT = insert(cast(Table, Checkout.__table__))  # built once (UnitOfWork.execute)


@dataclass(frozen=True)
class LineItem:
    """A bill line. A line naming a menu dish may leave out its name and price: the menu's are used."""

    dish_id: str | None
    name: str | None
    quantity: int
    unit_price: Money | None

    @property
    def total(self) -> Money:
        assert self.unit_price is not None, "resolve lines against the menu first"
        return Money(self.unit_price.fen * self.quantity)


@dataclass(frozen=True)
class CheckoutCommand:
    member_id: str
    store_id: str
    bill_total: Money | None  # None: the sum of the items
    items: tuple[LineItem, ...] = ()
    coupon_codes: tuple[str, ...] = ()
    use_points: int = 0
    pay_with_balance: bool = True
    balance_only: bool = False
    other_tender_method: PaymentMethod = PaymentMethod.OTHER


@dataclass(frozen=True)
class CheckoutQuote:
    pricing: CheckoutPricing
    level: LevelRule
    points_usable_now: int
    max_points_usable: int
    principal_after: Money
    bonus_after: Money
    points_after: int


@dataclass(frozen=True)
class CheckoutResult:
    order_no: str
    bill_total: Money
    discount: Money
    payable: Money
    points_used: int
    points_deduction: Money
    paid_principal: Money
    paid_bonus: Money
    due_other_tender: Money
    points_earned: int
    upgrade_gift_points: int
    member: MemberAfter
    discounts: tuple[Discount, ...] = ()
    points_multiplier: Fraction = Fraction(1)
    coupons: tuple[CouponEffect, ...] = ()
    stamps: tuple[StampsEarned, ...] = ()
    upgrade_gift_coupons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bill:
    """A checkout's lines resolved against the menu, and its coupons checked for this member."""

    total: Money
    items: tuple[LineItem, ...]
    coupons: tuple[IssuedCoupon, ...]
    dishes: dict[str, MenuDish]


def _bill(session: Session, program: Program, member: Member, command: CheckoutCommand, now: datetime) -> Bill:
    level_code = member.level_code
    dishes = dishes_by_id(session, [item.dish_id for item in command.items if item.dish_id is not None])
    items: list[LineItem] = []
    for item in command.items:
        name, price = item.name, item.unit_price
        if item.dish_id is not None:
            dish = check_orderable(dishes.get(item.dish_id), item.dish_id, command.store_id, level_code)
            name, price = name or dish.name, price if price is not None else dish.price
        if name is None or price is None:
            raise DomainError(errors.ITEM_NEEDS_NAME_AND_PRICE)
        items.append(LineItem(item.dish_id, name, item.quantity, price))
    total = sum((item.total for item in items), Money.zero())
    if command.bill_total is None and not items:
        raise DomainError(errors.ITEM_NEEDS_NAME_AND_PRICE)
    if command.bill_total is not None and items and total != command.bill_total:
        raise DomainError(errors.ITEMS_TOTAL_MISMATCH, {"items_total": total.yuan()})
    context = UseContext(member.id, level_code, command.store_id, now, program.business_timezone)
    coupons = coupon_service.load_for_bill(session, list(command.coupon_codes), context)
    bill_total = command.bill_total if command.bill_total is not None else total
    return Bill(bill_total, tuple(items), tuple(coupons), dishes)


def _list_price(bill: Bill, dish_id: str | None) -> Money | None:
    dish = bill.dishes.get(dish_id) if dish_id is not None else None
    return dish.price if dish is not None else None


def _unit_price(item: LineItem) -> Money:
    assert item.unit_price is not None, "lines are resolved against the menu first"
    return item.unit_price


def _price(
    program: Program, member: Member, accounts: MemberAccounts, bill: Bill, command: CheckoutCommand, now: datetime
) -> CheckoutPricing:
    request = CheckoutRequest(
        bill_total=bill.total,
        use_points=command.use_points,
        pay_with_balance=command.pay_with_balance,
        balance_only=command.balance_only,
        lines=tuple(
            BillLine(item.dish_id, item.quantity, _unit_price(item), _list_price(bill, item.dish_id))
            for item in bill.items
        ),
        moment=now,
        store_id=command.store_id,
        coupons=bill.coupons,
    )
    return price_checkout(
        program,
        program.level(member.level_code),
        request,
        Balance(Money(accounts.principal), Money(accounts.bonus)),
        usable_points(accounts.lots, accounts.debt, now),
        MemberFacts(birthday=member.birthday, registered_at=member.registered_at),
    )


def quote(session: Session, program: Program, command: CheckoutCommand, now: datetime) -> CheckoutQuote:
    """What a checkout would cost and earn, changing nothing (the points calculator, R-PTS-6)."""
    member = session.get(Member, command.member_id)
    if member is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)
    if session.execute(select(Store.id).where(Store.id == command.store_id)).first() is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    ensure_can_spend(member.status, command.pay_with_balance or command.balance_only or command.use_points > 0)
    accounts = ledger.load_member_accounts(session, member.id)
    pricing = _price(program, member, accounts, _bill(session, program, member, command, now), command, now)
    usable = usable_points(accounts.lots, accounts.debt, now)
    return CheckoutQuote(
        pricing=pricing,
        level=program.level(member.level_code),
        points_usable_now=usable,
        max_points_usable=_max_usable_points(program, pricing, usable),
        principal_after=Money(accounts.principal) - pricing.paid_principal,
        bonus_after=Money(accounts.bonus) - pricing.paid_bonus,
        points_after=max(usable - pricing.points_used + pricing.points_earned, 0),
    )


def _max_usable_points(program: Program, pricing: CheckoutPricing, usable: int) -> int:
    """The most points this bill accepts (for the till's "use all points" button)."""
    redemption = program.points.redemption
    discounted = pricing.payable + pricing.points_deduction
    limit_fen = floor_points(Fraction(discounted.fen) * fraction(redemption.max_share))
    by_bill = limit_fen * redemption.points_per_yuan // 100
    best = min(by_bill, max(usable, 0))
    # Only whole-fen amounts of points can be used.
    step = redemption.points_per_yuan // gcd(redemption.points_per_yuan, 100)
    best -= best % step
    return best if best >= redemption.min_points else 0


def _stamp_lines(bill: Bill, pricing: CheckoutPricing) -> list[StampLine]:
    free = free_units_by_dish([effect.dish_id for effect in pricing.coupons])
    lines: list[StampLine] = []
    for item in bill.items:
        dish = bill.dishes.get(item.dish_id) if item.dish_id is not None else None
        taken = min(free.get(item.dish_id, 0), item.quantity) if item.dish_id is not None else 0
        if item.dish_id is not None and taken:
            free = {**free, item.dish_id: free[item.dish_id] - taken}
        lines.append(StampLine(item.dish_id, dish.category if dish else None, item.quantity, taken))
    return lines


def checkout(uow: UnitOfWork, program: Program, command: CheckoutCommand, now: datetime) -> CheckoutResult:
    """Promotions, discount, points, balance, other tender (R-PAY-2); points earned on what is paid."""
    member = lock_member(uow, command.member_id)
    spends = command.pay_with_balance or command.balance_only or command.use_points > 0
    ensure_can_spend(member.status, spends)
    require_store(uow, command.store_id)
    accounts = ledger.load_member_accounts(uow.session, member.id)
    level = program.level(member.level_code)
    bill = _bill(uow.session, program, member, command, now)
    pricing = _price(program, member, accounts, bill, command, now)
    order_no = new_order_no("C")
    store = command.store_id
    principal, bonus, other = pricing.paid_principal.fen, pricing.paid_bonus.fen, pricing.due_other_tender.fen
    entries = money_entries(uow, accounts, -principal, -bonus, EntryReason.PAYMENT)
    entries += [
        ledger.counter_entry(
            uow, AccountKind.CONSUMPTION, FEN, principal, EntryReason.PAYMENT, now, store, "principal"
        ),
        ledger.counter_entry(uow, AccountKind.CONSUMPTION, FEN, bonus, EntryReason.PAYMENT, now, store, "bonus"),
    ]
    if other:
        entries += [
            ledger.counter_entry(
                uow, AccountKind.TENDER, FEN, -other, EntryReason.PAYMENT, now, store, command.other_tender_method.value
            ),
            ledger.counter_entry(uow, AccountKind.CONSUMPTION, FEN, other, EntryReason.PAYMENT, now, store, "other"),
        ]
    entries += coupon_service.use(uow, member.id, pricing.coupons, order_no, store, now)
    entries += points.spend(uow, accounts, pricing.points_used, now, store)
    entries += points.award(uow, program, accounts, member.id, pricing.points_earned, now, EntryReason.PURCHASE, store)
    stamps_earned = stamps.earn(uow, program, member.id, order_no, _stamp_lines(bill, pricing), store, now)
    counters = {
        "cumulative_consume_fen": member.cumulative_consume_fen + pricing.payable.fen,
        "checkout_count": member.checkout_count + 1,
        "last_consumed_at": now,
    }
    set_locked_member_columns(member, counters)  # the level rule below reads them
    gift_points, gift_coupons = 0, NO_COUPONS
    change = upgrade_after(program, member.level_code, standing_of(member), "consumption")
    if change is not None:
        gifts = apply_level_change(uow, program, member, accounts, change, order_no, now, store)
        entries += gifts.entries
        gift_points, gift_coupons = gifts.points, gifts.coupons
    lifetime = {"points_lifetime": member.points_lifetime + pricing.points_earned + gift_points, "updated_at": now}
    set_locked_member_columns(member, lifetime)
    write_locked_member_columns(uow, member.id, counters | lifetime)
    transaction_id = ledger.record(
        uow,
        kind="checkout",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=store,
        order_no=order_no,
        program_version=program.version,
    )
    uow.execute(
        INSERT_CHECKOUT,
        dict(
            order_no=order_no,
            member_id=member.id,
            store_id=store,
            bill_total_fen=pricing.bill_total.fen,
            discount_fen=pricing.discount.fen,
            points_used=pricing.points_used,
            points_deduction_fen=pricing.points_deduction.fen,
            payable_fen=pricing.payable.fen,
            paid_principal_fen=principal,
            paid_bonus_fen=bonus,
            other_tender_fen=other,
            other_tender_method=command.other_tender_method.value if other else None,
            points_earned=pricing.points_earned,
            level_code=level.code,
            discounts=[{"kind": d.kind, "amount_fen": d.amount.fen} for d in pricing.discounts] or None,
            coupon_discount_fen=pricing.coupon_discount.fen,
            coupons=[
                {"code": c.code, "template_code": c.template_code, "kind": c.kind.value, "amount_fen": c.amount.fen}
                for c in pricing.coupons
            ]
            or None,
            items=[
                {"dish_id": i.dish_id, "name": i.name, "quantity": i.quantity, "unit_price_fen": _unit_price(i).fen}
                for i in bill.items
            ]
            or None,
            refunded_principal_fen=0,
            refunded_bonus_fen=0,
            refunded_other_fen=0,
            points_earned_reversed=0,
            points_used_restored=0,
            program_version=program.version,
            journal_transaction_id=transaction_id,
            created_at=now,
        ),
    )
    metrics.count_checkout(uow.session, pricing.payable.fen)
    result = CheckoutResult(
        order_no=order_no,
        bill_total=pricing.bill_total,
        discount=pricing.discount,
        payable=pricing.payable,
        points_used=pricing.points_used,
        points_deduction=pricing.points_deduction,
        paid_principal=pricing.paid_principal,
        paid_bonus=pricing.paid_bonus,
        due_other_tender=pricing.due_other_tender,
        points_earned=pricing.points_earned,
        upgrade_gift_points=gift_points,
        upgrade_gift_coupons=gift_coupons,
        member=member_after(program, member, accounts, now),
        discounts=pricing.discounts,
        points_multiplier=pricing.points_multiplier,
        coupons=pricing.coupons,
        stamps=tuple(stamps_earned),
    )
    notify(
        uow,
        member.id,
        "checkout_completed",
        order_no,
        result.member,
        now,
        {"payable": pricing.payable.yuan(), "points_earned": pricing.points_earned, "points_used": pricing.points_used},
    )
    return result
