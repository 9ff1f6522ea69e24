"""Money use cases: recharge, checkout, refunds and closing a card. Each runs in the caller's
transaction, under the member's lock, and writes one balanced journal transaction per order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from math import gcd
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.ledger.models import Account, Posting
from dinecard.ledger.service import MemberAccounts
from dinecard.levels.domain import regrade_after_recharge_refund, upgrade_after
from dinecard.levels.service import apply_level_change
from dinecard.levels.service import standing as standing_of
from dinecard.members.domain import MemberStatus, ensure_can_recharge, ensure_can_spend, ensure_open
from dinecard.members.models import Member
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.points.domain import Lot, take_from_lots, usable_points
from dinecard.program.domain import LevelRule, Program, RechargeCampaign, fraction
from dinecard.program.models import CampaignUsage
from dinecard.shared import errors
from dinecard.shared.calendar import add_months, local_date
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_order_no
from dinecard.shared.money import Money
from dinecard.shared.rounding import floor_points
from dinecard.stores.models import Store
from dinecard.wallet.domain import (
    Balance,
    BillLine,
    CampaignStanding,
    CheckoutPaid,
    CheckoutPricing,
    CheckoutRequest,
    Discount,
    MemberFacts,
    RechargeContext,
    RechargePaid,
    active_campaign,
    allocate_checkout_refund,
    allocate_recharge_refund,
    price_checkout,
    quote_recharge,
)
from dinecard.wallet.models import BonusRelease, Checkout, Recharge, Refund

FEN = Unit.FEN


class PaymentMethod(StrEnum):
    CASH = "cash"
    BANK_CARD = "bank_card"
    WECHAT = "wechat"
    ALIPAY = "alipay"
    OTHER = "other"


class Channel(StrEnum):
    OFFLINE = "offline"  # at the till
    ONLINE = "online"  # on the member's own phone


@dataclass(frozen=True)
class MemberAfter:
    """A member's level, balances and points right after an operation (R-PAY-5)."""

    level: LevelRule
    principal: Money
    bonus: Money
    points_usable: int
    points_lifetime: int


def _after(program: Program, member: Member, accounts: MemberAccounts, now: datetime) -> MemberAfter:
    return MemberAfter(
        level=program.level(member.level_code),
        principal=Money(accounts.principal),
        bonus=Money(accounts.bonus),
        points_usable=usable_points(accounts.lots, accounts.debt, now),
        points_lifetime=member.points_lifetime,
    )


def _require_store(uow: UnitOfWork, store_id: str) -> None:
    known = uow.database.known_store_ids
    if store_id in known:
        return
    if uow.session.execute(select(Store.id).where(Store.id == store_id)).first() is None:
        raise DomainError(errors.STORE_NOT_FOUND)
    # A store row read in an uncommitted transaction could still vanish; stores are created
    # in their own transaction, so one visible here is committed.
    known.add(store_id)


def _money_entries(
    uow: UnitOfWork, accounts: MemberAccounts, principal: int, bonus: int, reason: EntryReason
) -> list[Entry]:
    entries = [
        Entry(accounts.principal_id, AccountKind.MEMBER_PRINCIPAL, principal, FEN, reason),
        Entry(accounts.bonus_id, AccountKind.MEMBER_BONUS, bonus, FEN, reason),
    ]
    ledger.apply_to_snapshot(accounts, entries)
    return entries


# ---------------------------------------------------------------- recharge


@dataclass(frozen=True)
class RechargeCommand:
    member_id: str
    store_id: str
    amount: Money
    payment_method: PaymentMethod
    channel: Channel = Channel.OFFLINE


@dataclass(frozen=True)
class RechargeResult:
    order_no: str
    amount: Money
    bonus: Money
    bonus_now: Money
    bonus_pending: Money
    points_awarded: int
    upgrade_gift_points: int
    campaign_code: str | None
    first_recharge_offer: bool
    member: MemberAfter


def recharge(uow: UnitOfWork, program: Program, command: RechargeCommand, now: datetime) -> RechargeResult:
    """Credit principal and bonus apart, apply tier, campaign and first-recharge offer, give the
    points, defer part of the bonus if the programme says so, upgrade at once on a threshold."""
    member = lock_member(uow, command.member_id)
    ensure_can_recharge(member.status)
    _require_store(uow, command.store_id)
    store = command.store_id
    campaign = active_campaign(program, now, store)
    standing = _campaign_standing(uow, campaign, member.id) if campaign else None
    quote = quote_recharge(
        program,
        command.amount,
        RechargeContext(store_id=store, first_recharge=member.first_recharge_at is None, campaign=standing),
    )
    accounts = ledger.load_member_accounts(uow.session, member.id)
    order_no = new_order_no("R")
    pending = sum((part for part in quote.bonus_later), Money.zero())
    entries = _money_entries(uow, accounts, quote.amount.fen, quote.bonus_now.fen, EntryReason.RECHARGE)
    entries += [
        ledger.counter_entry(
            uow,
            AccountKind.TENDER,
            FEN,
            -quote.amount.fen,
            EntryReason.RECHARGE,
            now,
            store,
            command.payment_method.value,
        ),
        ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, -quote.bonus.fen, EntryReason.RECHARGE_BONUS, now),
    ]
    if pending.fen:
        pending_id = ledger.pending_bonus_account(uow, accounts, member.id, now)
        deferred = [Entry(pending_id, AccountKind.MEMBER_PENDING_BONUS, pending.fen, FEN, EntryReason.BONUS_DEFERRED)]
        ledger.apply_to_snapshot(accounts, deferred)
        entries += deferred
    entries += points.award(uow, program, accounts, member.id, quote.points, now, EntryReason.RECHARGE_GIFT, store)
    member.cumulative_recharge_fen += quote.amount.fen
    if member.first_recharge_at is None:
        member.first_recharge_at = now
    if quote.campaign_code is not None:
        _use_campaign(uow, quote.campaign_code, quote.campaign_bonus)
    gift_points = 0
    change = upgrade_after(program, member.level_code, standing_of(member), "recharge")
    if change is not None:
        gift_entries, gift_points = apply_level_change(uow, program, member, accounts, change, order_no, now, store)
        entries += gift_entries
    member.points_lifetime += quote.points + gift_points
    member.updated_at = now
    transaction_id = ledger.record(
        uow,
        kind="recharge",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=store,
        order_no=order_no,
        program_version=program.version,
    )
    row = Recharge(
        order_no=order_no,
        member_id=member.id,
        store_id=store,
        amount_fen=quote.amount.fen,
        bonus_fen=quote.bonus.fen,
        points_awarded=quote.points,
        tier_amount_fen=quote.tier.amount.fen if quote.tier else None,
        campaign_code=quote.campaign_code,
        campaign_bonus_fen=quote.campaign_bonus.fen,
        first_recharge_bonus_fen=quote.first_recharge_bonus.fen,
        bonus_pending_fen=pending.fen,
        payment_method=command.payment_method.value,
        channel=command.channel.value,
        level_after=member.level_code,
        refunded_principal_fen=0,
        bonus_forfeited_fen=0,
        points_taken_back=0,
        program_version=program.version,
        journal_transaction_id=transaction_id,
        created_at=now,
    )
    uow.session.add(row)
    if quote.bonus_later:
        uow.session.flush()
        _schedule_releases(uow, program, row, quote.bonus_later, now)
    result = RechargeResult(
        order_no=order_no,
        amount=quote.amount,
        bonus=quote.bonus,
        bonus_now=quote.bonus_now,
        bonus_pending=pending,
        points_awarded=quote.points,
        upgrade_gift_points=gift_points,
        campaign_code=quote.campaign_code,
        first_recharge_offer=quote.first_recharge_bonus.fen > 0 or quote.first_recharge_points > 0,
        member=_after(program, member, accounts, now),
    )
    _notify(
        uow,
        member.id,
        "recharge_completed",
        order_no,
        result.member,
        now,
        {"amount": quote.amount.yuan(), "bonus": quote.bonus.yuan(), "points": quote.points},
    )
    return result


def _campaign_standing(uow: UnitOfWork, campaign: RechargeCampaign, member_id: str) -> CampaignStanding:
    """Lock the campaign's usage row so its budget is never overspent by concurrent recharges."""
    uow.insert_ignoring_conflict(
        CampaignUsage.__table__, {"campaign_code": campaign.code, "bonus_given_fen": 0, "uses": 0}, "campaign_code"
    )
    usage = uow.session.execute(
        select(CampaignUsage)
        .where(CampaignUsage.campaign_code == campaign.code)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    member_uses = uow.session.execute(
        select(func.count())
        .select_from(Recharge)
        .where(Recharge.member_id == member_id, Recharge.campaign_code == campaign.code)
    ).scalar_one()
    return CampaignStanding(campaign, Money(usage.bonus_given_fen), member_uses)


def _use_campaign(uow: UnitOfWork, code: str, bonus: Money) -> None:
    uow.session.execute(
        update(CampaignUsage)
        .where(CampaignUsage.campaign_code == code)
        .values(bonus_given_fen=CampaignUsage.bonus_given_fen + bonus.fen, uses=CampaignUsage.uses + 1)
    )


def _schedule_releases(
    uow: UnitOfWork, program: Program, recharge_row: Recharge, parts: tuple[Money, ...], now: datetime
) -> None:
    """Instalments fall on the same day of the following months (clamped at month ends)."""
    today = local_date(now, program.business_timezone)
    for index, part in enumerate(parts, start=1):
        due = add_months(datetime(today.year, today.month, today.day), index).date()
        uow.session.add(
            BonusRelease(recharge_id=recharge_row.id, member_id=recharge_row.member_id, due_on=due, amount_fen=part.fen)
        )


def _notify(
    uow: UnitOfWork,
    member_id: str,
    topic: str,
    order_no: str,
    after: MemberAfter,
    now: datetime,
    extra: dict[str, Any],
) -> None:
    outbox.enqueue(
        uow,
        member_id=member_id,
        topic=topic,
        now=now,
        payload={
            "order_no": order_no,
            "principal": after.principal.yuan(),
            "bonus": after.bonus.yuan(),
            "points": after.points_usable,
            "level": after.level.code,
            **extra,
        },
    )


# ---------------------------------------------------------------- checkout


@dataclass(frozen=True)
class LineItem:
    dish_id: str | None
    name: str
    quantity: int
    unit_price: Money

    @property
    def total(self) -> Money:
        return Money(self.unit_price.fen * self.quantity)


@dataclass(frozen=True)
class CheckoutCommand:
    member_id: str
    store_id: str
    bill_total: Money
    items: tuple[LineItem, ...] = ()
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


def _price(
    program: Program, member: Member, accounts: MemberAccounts, command: CheckoutCommand, now: datetime
) -> CheckoutPricing:
    if command.items and sum((item.total for item in command.items), Money.zero()) != command.bill_total:
        raise DomainError(errors.ITEMS_TOTAL_MISMATCH)
    request = CheckoutRequest(
        bill_total=command.bill_total,
        use_points=command.use_points,
        pay_with_balance=command.pay_with_balance,
        balance_only=command.balance_only,
        lines=tuple(BillLine(item.dish_id, item.quantity, item.unit_price) for item in command.items),
        moment=now,
        store_id=command.store_id,
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
    accounts = ledger.load_member_accounts(session, member.id)
    pricing = _price(program, member, accounts, command, now)
    usable = usable_points(accounts.lots, accounts.debt, now)
    return CheckoutQuote(
        pricing=pricing,
        level=program.level(member.level_code),
        points_usable_now=usable,
        max_points_usable=_max_usable_points(program, pricing, usable),
        principal_after=Money(accounts.principal) - pricing.paid_principal,
        bonus_after=Money(accounts.bonus) - pricing.paid_bonus,
        points_after=usable - pricing.points_used + pricing.points_earned,
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


def checkout(uow: UnitOfWork, program: Program, command: CheckoutCommand, now: datetime) -> CheckoutResult:
    """Promotions, discount, points, balance, other tender (R-PAY-2); points earned on what is paid."""
    member = lock_member(uow, command.member_id)
    spends = command.pay_with_balance or command.balance_only or command.use_points > 0
    ensure_can_spend(member.status, spends)
    _require_store(uow, command.store_id)
    accounts = ledger.load_member_accounts(uow.session, member.id)
    level = program.level(member.level_code)
    pricing = _price(program, member, accounts, command, now)
    order_no = new_order_no("C")
    store = command.store_id
    principal, bonus, other = pricing.paid_principal.fen, pricing.paid_bonus.fen, pricing.due_other_tender.fen
    entries = _money_entries(uow, accounts, -principal, -bonus, EntryReason.PAYMENT)
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
    entries += points.spend(uow, accounts, pricing.points_used, now, store)
    entries += points.award(uow, program, accounts, member.id, pricing.points_earned, now, EntryReason.PURCHASE, store)
    member.cumulative_consume_fen += pricing.payable.fen
    member.checkout_count += 1
    member.last_consumed_at = now
    gift_points = 0
    change = upgrade_after(program, member.level_code, standing_of(member), "consumption")
    if change is not None:
        gift_entries, gift_points = apply_level_change(uow, program, member, accounts, change, order_no, now, store)
        entries += gift_entries
    member.points_lifetime += pricing.points_earned + gift_points
    member.updated_at = now
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
    uow.session.add(
        Checkout(
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
            items=[
                {"dish_id": i.dish_id, "name": i.name, "quantity": i.quantity, "unit_price_fen": i.unit_price.fen}
                for i in command.items
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
        )
    )
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
        member=_after(program, member, accounts, now),
        discounts=pricing.discounts,
        points_multiplier=pricing.points_multiplier,
    )
    _notify(
        uow,
        member.id,
        "checkout_completed",
        order_no,
        result.member,
        now,
        {"payable": pricing.payable.yuan(), "points_earned": pricing.points_earned, "points_used": pricing.points_used},
    )
    return result


# ---------------------------------------------------------------- refunds


@dataclass(frozen=True)
class RefundResult:
    order_no: str
    original_order_no: str
    kind: str
    amount: Money
    principal: Money
    bonus: Money
    other_tender: Money
    bonus_forfeited: Money
    points_taken_back: int
    points_restored: int
    member: MemberAfter
    paid_back_method: str | None = None  # how the money handed back to the customer is paid


def refund(
    uow: UnitOfWork, program: Program, order_no: str, amount: Money | None, now: datetime, reason: str | None = None
) -> RefundResult:
    """Refund a checkout (whole or part) or a recharge, named by its order number."""
    model: type[Checkout] | type[Recharge]
    if order_no.startswith("C"):
        model = Checkout
    elif order_no.startswith("R"):
        model = Recharge
    elif order_no.startswith("F"):
        raise DomainError(errors.ORDER_NOT_REFUNDABLE)
    else:
        raise DomainError(errors.ORDER_NOT_FOUND)
    member_id = uow.session.execute(select(model.member_id).where(model.order_no == order_no)).scalar_one_or_none()
    if member_id is None:
        raise DomainError(errors.ORDER_NOT_FOUND)
    member = lock_member(uow, member_id)
    ensure_open(member.status)
    # Read the order only now, under the member's lock, so earlier refunds are all visible.
    order = uow.session.execute(
        select(model).where(model.order_no == order_no).execution_options(populate_existing=True)
    ).scalar_one()
    accounts = ledger.load_member_accounts(uow.session, member.id)
    if isinstance(order, Checkout):
        return _refund_checkout(uow, program, member, accounts, order, amount, now, reason)
    assert isinstance(order, Recharge)
    return _refund_recharge(uow, program, member, accounts, order, amount, now, reason)


def _spent_lots(uow: UnitOfWork, journal_transaction_id: int) -> list[Lot]:
    rows = uow.session.execute(
        select(Posting.account_id, Posting.amount, Account.expires_at)
        .join(Account, Account.id == Posting.account_id)
        .where(
            Posting.transaction_id == journal_transaction_id,
            Posting.reason == EntryReason.REDEEM.value,
            Account.kind == AccountKind.MEMBER_POINTS_LOT.value,
        )
    ).all()
    return [Lot(account_id, -amount, expires_at) for account_id, amount, expires_at in rows]


def _refund_checkout(
    uow: UnitOfWork,
    program: Program,
    member: Member,
    accounts: MemberAccounts,
    order: Checkout,
    amount: Money | None,
    now: datetime,
    reason: str | None,
) -> RefundResult:
    allocation = allocate_checkout_refund(
        CheckoutPaid(
            payable=Money(order.payable_fen),
            principal=Money(order.paid_principal_fen),
            bonus=Money(order.paid_bonus_fen),
            other_tender=Money(order.other_tender_fen),
            points_earned=order.points_earned,
            points_used=order.points_used,
            refunded_principal=Money(order.refunded_principal_fen),
            refunded_bonus=Money(order.refunded_bonus_fen),
            refunded_other=Money(order.refunded_other_fen),
            points_earned_reversed=order.points_earned_reversed,
            points_used_restored=order.points_used_restored,
        ),
        amount,
    )
    store = order.store_id
    principal, bonus, other = allocation.principal.fen, allocation.bonus.fen, allocation.other_tender.fen
    entries = _money_entries(uow, accounts, principal, bonus, EntryReason.REFUND)
    entries += [
        ledger.counter_entry(
            uow, AccountKind.CONSUMPTION, FEN, -principal, EntryReason.REFUND, now, store, "principal"
        ),
        ledger.counter_entry(uow, AccountKind.CONSUMPTION, FEN, -bonus, EntryReason.REFUND, now, store, "bonus"),
    ]
    if other:
        entries += [
            ledger.counter_entry(uow, AccountKind.CONSUMPTION, FEN, -other, EntryReason.REFUND, now, store, "other"),
            ledger.counter_entry(
                uow,
                AccountKind.TENDER,
                FEN,
                other,
                EntryReason.REFUND,
                now,
                store,
                order.other_tender_method or PaymentMethod.OTHER.value,
            ),
        ]
    # Give used points back before taking earned ones, so a take-back can draw on them.
    entries += points.restore(
        uow,
        program,
        accounts,
        member.id,
        _spent_lots(uow, order.journal_transaction_id),
        order.points_used_restored,
        allocation.points_used_restored,
        now,
        store,
    )
    entries += points.take_back(
        uow, accounts, allocation.points_earned_reversed, now, EntryReason.REFUND_REVERSAL, store
    )
    order.refunded_principal_fen += principal
    order.refunded_bonus_fen += bonus
    order.refunded_other_fen += other
    order.points_earned_reversed += allocation.points_earned_reversed
    order.points_used_restored += allocation.points_used_restored
    member.cumulative_consume_fen -= allocation.amount.fen
    member.points_lifetime -= allocation.points_earned_reversed
    member.updated_at = now
    return _record_refund(
        uow,
        program,
        member,
        accounts,
        order.order_no,
        "checkout_refund",
        store,
        entries,
        now,
        reason,
        amount=allocation.amount,
        principal=allocation.principal,
        bonus=allocation.bonus,
        other=allocation.other_tender,
        bonus_forfeited=Money.zero(),
        points_taken_back=allocation.points_earned_reversed,
        points_restored=allocation.points_used_restored,
        paid_back_method=order.other_tender_method if allocation.other_tender.fen else None,
    )


def _refund_recharge(
    uow: UnitOfWork,
    program: Program,
    member: Member,
    accounts: MemberAccounts,
    order: Recharge,
    amount: Money | None,
    now: datetime,
    reason: str | None,
) -> RefundResult:
    allocation = allocate_recharge_refund(
        RechargePaid(
            principal=Money(order.amount_fen),
            bonus=Money(order.bonus_fen),
            points=order.points_awarded,
            refunded_principal=Money(order.refunded_principal_fen),
            bonus_forfeited=Money(order.bonus_forfeited_fen),
            points_taken_back=order.points_taken_back,
        ),
        Balance(Money(accounts.principal), Money(accounts.bonus)),
        amount,
    )
    store = order.store_id
    principal, forfeited = allocation.principal.fen, allocation.bonus_forfeited.fen
    entries = _money_entries(uow, accounts, -principal, 0, EntryReason.REFUND)
    entries += _money_entries(uow, accounts, 0, -forfeited, EntryReason.BONUS_FORFEIT)
    entries += [
        ledger.counter_entry(
            uow, AccountKind.TENDER, FEN, principal, EntryReason.REFUND, now, store, order.payment_method
        ),
        ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, forfeited, EntryReason.BONUS_FORFEIT, now),
    ]
    entries += points.take_back(uow, accounts, allocation.points_taken_back, now, EntryReason.REFUND_REVERSAL, store)
    # A refunded recharge no longer earns the instalments still to come (R-RCH-6).
    cancelled = _cancel_releases(uow, order, now)
    if cancelled:
        assert accounts.pending_bonus_id is not None, "a scheduled release implies a pending-bonus account"
        cancel_entries = [
            Entry(
                accounts.pending_bonus_id, AccountKind.MEMBER_PENDING_BONUS, -cancelled, FEN, EntryReason.BONUS_FORFEIT
            ),
            ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, cancelled, EntryReason.BONUS_FORFEIT, now),
        ]
        ledger.apply_to_snapshot(accounts, cancel_entries)
        entries += cancel_entries
    order.refunded_principal_fen += principal
    order.bonus_forfeited_fen += forfeited + cancelled
    order.points_taken_back += allocation.points_taken_back
    member.cumulative_recharge_fen -= principal
    member.points_lifetime -= allocation.points_taken_back
    member.updated_at = now
    change = regrade_after_recharge_refund(program, member.level_code, standing_of(member))
    refund_order_no = new_order_no("F")
    if change is not None:
        apply_level_change(uow, program, member, accounts, change, refund_order_no, now, store)
    return _record_refund(
        uow,
        program,
        member,
        accounts,
        order.order_no,
        "recharge_refund",
        store,
        entries,
        now,
        reason,
        amount=allocation.principal,
        principal=allocation.principal,
        bonus=Money.zero(),
        other=Money.zero(),
        bonus_forfeited=allocation.bonus_forfeited,
        points_taken_back=allocation.points_taken_back,
        points_restored=0,
        refund_order_no=refund_order_no,
        paid_back_method=order.payment_method,
    )


def _cancel_releases(uow: UnitOfWork, order: Recharge, now: datetime) -> int:
    """Cancel the recharge's unreleased instalments; returns the fen they held."""
    open_releases = (
        uow.session.execute(
            select(BonusRelease).where(
                BonusRelease.recharge_id == order.id,
                BonusRelease.released_at.is_(None),
                BonusRelease.cancelled_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    for release in open_releases:
        release.cancelled_at = now
    return sum(release.amount_fen for release in open_releases)


def _record_refund(
    uow: UnitOfWork,
    program: Program,
    member: Member,
    accounts: MemberAccounts,
    original_order_no: str,
    kind: str,
    store_id: str,
    entries: list[Entry],
    now: datetime,
    reason: str | None,
    *,
    amount: Money,
    principal: Money,
    bonus: Money,
    other: Money,
    bonus_forfeited: Money,
    points_taken_back: int,
    points_restored: int,
    refund_order_no: str | None = None,
    paid_back_method: str | None = None,
) -> RefundResult:
    order_no = refund_order_no or new_order_no("F")
    transaction_id = ledger.record(
        uow,
        kind=kind,
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=store_id,
        order_no=order_no,
        program_version=program.version,
        memo=f"refund of {original_order_no}",
    )
    uow.session.add(
        Refund(
            order_no=order_no,
            original_order_no=original_order_no,
            kind=kind,
            member_id=member.id,
            store_id=store_id,
            amount_fen=amount.fen,
            principal_fen=principal.fen,
            bonus_fen=bonus.fen,
            other_tender_fen=other.fen,
            bonus_forfeited_fen=bonus_forfeited.fen,
            points_taken_back=points_taken_back,
            points_restored=points_restored,
            reason=reason,
            journal_transaction_id=transaction_id,
            created_at=now,
        )
    )
    result = RefundResult(
        order_no=order_no,
        original_order_no=original_order_no,
        kind=kind,
        amount=amount,
        principal=principal,
        bonus=bonus,
        other_tender=other,
        bonus_forfeited=bonus_forfeited,
        points_taken_back=points_taken_back,
        points_restored=points_restored,
        member=_after(program, member, accounts, now),
        paid_back_method=paid_back_method,
    )
    _notify(
        uow,
        member.id,
        "refund_completed",
        order_no,
        result.member,
        now,
        {"original_order_no": original_order_no, "amount": amount.yuan()},
    )
    return result


# ---------------------------------------------------------------- closing a card


@dataclass(frozen=True)
class CloseResult:
    refunds: list[RefundResult]
    principal_returned: Money
    bonus_forfeited: Money
    points_forfeited: int
    member: MemberAfter


def _cancel_all_pending_bonus(uow: UnitOfWork, accounts: MemberAccounts, member_id: str, now: datetime) -> list[Entry]:
    """A closed card gets no more instalments, whichever recharge promised them."""
    open_releases = (
        uow.session.execute(
            select(BonusRelease).where(
                BonusRelease.member_id == member_id,
                BonusRelease.released_at.is_(None),
                BonusRelease.cancelled_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    for release in open_releases:
        release.cancelled_at = now
    cancelled = sum(release.amount_fen for release in open_releases)
    if not cancelled:
        return []
    assert accounts.pending_bonus_id is not None
    entries = [
        Entry(accounts.pending_bonus_id, AccountKind.MEMBER_PENDING_BONUS, -cancelled, FEN, EntryReason.BONUS_FORFEIT),
        ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, cancelled, EntryReason.BONUS_FORFEIT, now),
    ]
    ledger.apply_to_snapshot(accounts, entries)
    return entries


def _settle_points_on_close(uow: UnitOfWork, accounts: MemberAccounts, now: datetime) -> list[Entry]:
    """Net a points debt against the lots, then write off what remains of the debt."""
    entries: list[Entry] = []
    usable = sum(lot.balance for lot in accounts.lots if lot.usable_at(now))
    for lot_id, portion in take_from_lots(accounts.lots, min(-accounts.debt, usable), now):
        entries.append(Entry(lot_id, AccountKind.MEMBER_POINTS_LOT, -portion, Unit.POINTS, EntryReason.DEBT))
        entries.append(Entry(accounts.debt_id, AccountKind.MEMBER_POINTS_DEBT, portion, Unit.POINTS, EntryReason.DEBT))
    ledger.apply_to_snapshot(accounts, entries)
    if accounts.debt:
        write_off = [
            Entry(
                accounts.debt_id,
                AccountKind.MEMBER_POINTS_DEBT,
                -accounts.debt,
                Unit.POINTS,
                EntryReason.DEBT_WRITE_OFF,
            ),
            ledger.counter_entry(
                uow, AccountKind.POINTS_DEBT_WRITTEN_OFF, Unit.POINTS, accounts.debt, EntryReason.DEBT_WRITE_OFF, now
            ),
        ]
        ledger.apply_to_snapshot(accounts, write_off)
        entries += write_off
    return entries


def close_card(uow: UnitOfWork, program: Program, member_id: str, now: datetime, reason: str | None) -> CloseResult:
    """Refund every recharge's unspent principal, forfeit bonus and points, and close the card."""
    member = lock_member(uow, member_id)
    ensure_open(member.status)
    recharges = (
        uow.session.execute(
            select(Recharge.order_no)
            .where(Recharge.member_id == member_id, Recharge.refunded_principal_fen < Recharge.amount_fen)
            .order_by(Recharge.id.desc())
        )
        .scalars()
        .all()
    )
    refunds: list[RefundResult] = []
    for order_no in recharges:
        accounts = ledger.load_member_accounts(uow.session, member_id)
        if accounts.principal == 0:
            break
        refunds.append(refund(uow, program, order_no, None, now, reason or "card closed"))
    accounts = ledger.load_member_accounts(uow.session, member_id)
    assert accounts.principal == 0, "every fen of principal came from a recharge that can be refunded"
    bonus_left = accounts.bonus
    entries = _money_entries(uow, accounts, 0, -bonus_left, EntryReason.BONUS_FORFEIT)
    entries.append(ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, bonus_left, EntryReason.BONUS_FORFEIT, now))
    entries += _cancel_all_pending_bonus(uow, accounts, member_id, now)
    entries += _settle_points_on_close(uow, accounts, now)
    lot_points = sum(lot.balance for lot in accounts.lots)
    forfeits = [
        Entry(lot.lot_id, AccountKind.MEMBER_POINTS_LOT, -lot.balance, Unit.POINTS, EntryReason.FORFEIT)
        for lot in accounts.lots
        if lot.balance
    ]
    ledger.apply_to_snapshot(accounts, forfeits)
    forfeits.append(
        ledger.counter_entry(uow, AccountKind.POINTS_FORFEITED, Unit.POINTS, lot_points, EntryReason.FORFEIT, now)
    )
    entries += forfeits
    ledger.record(
        uow,
        kind="card_closed",
        entries=entries,
        now=now,
        member_id=member_id,
        store_id=None,
        order_no=None,
        program_version=program.version,
        memo=reason,
    )
    member.status = MemberStatus.CLOSED.value
    member.updated_at = now
    outbox.enqueue(
        uow,
        member_id=member_id,
        topic="card_closed",
        now=now,
        payload={"principal_returned": sum((r.principal for r in refunds), Money.zero()).yuan()},
    )
    return CloseResult(
        refunds=refunds,
        principal_returned=sum((r.principal for r in refunds), Money.zero()),
        bonus_forfeited=Money(bonus_left) + sum((r.bonus_forfeited for r in refunds), Money.zero()),
        points_forfeited=lot_points,
        member=_after(program, member, accounts, now),
    )
