"""Refunds of a checkout (whole or part) or of a recharge, named by the order number."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.coupons import service as coupon_service
from dinecard.coupons.service import RestoredCoupon
from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason
from dinecard.ledger.service import MemberAccounts
from dinecard.levels.domain import regrade_after_refund
from dinecard.levels.service import apply_level_change, raw_standing
from dinecard.members.domain import ensure_open
from dinecard.members.models import Member
from dinecard.members.service import lock_member
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.program.domain import Program
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.ids import new_order_no
from dinecard.shared.money import Money
from dinecard.stamps import service as stamps
from dinecard.wallet.common import FEN, MemberAfter, PaymentMethod, member_after, money_entries, notify
from dinecard.wallet.domain import (
    Balance,
    CheckoutPaid,
    RechargePaid,
    allocate_checkout_refund,
    allocate_recharge_refund,
)
from dinecard.wallet.models import BonusRelease, Checkout, Recharge, Refund

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
    coupons_restored: tuple[str, ...] = ()  # usable again
    coupons_not_restored: tuple[str, ...] = ()  # expired since the bill: they stay used


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
            coupons_outstanding=bool(order.coupons) and not order.coupons_returned,
        ),
        amount,
    )
    store = order.store_id
    refund_order_no = new_order_no("F")
    principal, bonus, other = allocation.principal.fen, allocation.bonus.fen, allocation.other_tender.fen
    entries = money_entries(uow, accounts, principal, bonus, EntryReason.REFUND)
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
        points.spent_lots(uow.session, order.journal_transaction_id),
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
    refunded_after = order.refunded_principal_fen + order.refunded_bonus_fen + order.refunded_other_fen
    restored: list[RestoredCoupon] = []
    # Coupons come back only with the whole bill: a partial refund keeps the coupon used.
    if order.coupons and not order.coupons_returned and refunded_after == order.payable_fen:
        coupon_entries, restored = coupon_service.restore_after_refund(uow, order.order_no, store, now)
        entries += coupon_entries
        order.coupons_returned = True
    stamps.take_back(uow, member.id, order.order_no, refunded_after, order.payable_fen, refund_order_no, now)
    member.cumulative_consume_fen -= allocation.amount.fen
    member.points_lifetime -= allocation.points_earned_reversed
    member.updated_at = now
    # A level earned by consumption goes when the consumption is refunded (not a recharge level).
    change = regrade_after_refund(
        program, member.level_code, raw_standing(member), "checkout_refunded", member.level_floor_code
    )
    if change is not None:
        apply_level_change(uow, program, member, accounts, change, refund_order_no, now, store)
    result = _record_refund(
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
        refund_order_no=refund_order_no,
    )
    return replace(
        result,
        coupons_restored=tuple(c.code for c in restored if c.restored),
        coupons_not_restored=tuple(c.code for c in restored if not c.restored),
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
            pending_open=Money(sum(release.amount_fen for release in _open_releases(uow, order))),
        ),
        Balance(Money(accounts.principal), Money(accounts.bonus)),
        amount,
    )
    store = order.store_id
    principal, forfeited = allocation.principal.fen, allocation.bonus_forfeited.fen
    entries = money_entries(uow, accounts, -principal, 0, EntryReason.REFUND)
    entries += money_entries(uow, accounts, 0, -forfeited, EntryReason.BONUS_FORFEIT)
    entries += [
        ledger.counter_entry(
            uow, AccountKind.TENDER, FEN, principal, EntryReason.REFUND, now, store, order.payment_method
        ),
        ledger.counter_entry(uow, AccountKind.BONUS_GRANT, FEN, forfeited, EntryReason.BONUS_FORFEIT, now),
    ]
    entries += points.take_back(uow, accounts, allocation.points_taken_back, now, EntryReason.REFUND_REVERSAL, store)
    # A refunded recharge no longer earns (its share of) the instalments still to come (R-RCH-6).
    cancelled = _cancel_releases(uow, order, allocation.pending_cancelled.fen, now)
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
    change = regrade_after_refund(program, member.level_code, raw_standing(member), floor_code=member.level_floor_code)
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


def _open_releases(uow: UnitOfWork, order: Recharge) -> list[BonusRelease]:
    return list(
        uow.session.execute(
            select(BonusRelease)
            .where(
                BonusRelease.recharge_id == order.id,
                BonusRelease.released_at.is_(None),
                BonusRelease.cancelled_at.is_(None),
            )
            .order_by(BonusRelease.due_on.desc(), BonusRelease.id.desc())
        ).scalars()
    )


def _cancel_releases(uow: UnitOfWork, order: Recharge, amount_fen: int, now: datetime) -> int:
    """Cancel `amount_fen` of the recharge's unreleased instalments, the latest first; returns it.

    An instalment only partly cancelled is split: the cancelled part becomes its own row, so
    the schedule keeps a record of what was promised and what was withdrawn.
    """
    remaining = amount_fen
    for release in _open_releases(uow, order):
        if remaining == 0:
            break
        if release.amount_fen <= remaining:
            release.cancelled_at = now
            remaining -= release.amount_fen
            continue
        release.amount_fen -= remaining
        uow.session.add(
            BonusRelease(
                recharge_id=release.recharge_id,
                member_id=release.member_id,
                due_on=release.due_on,
                amount_fen=remaining,
                cancelled_at=now,
            )
        )
        remaining = 0
    assert remaining == 0, "cannot cancel more than the open instalments hold"
    return amount_fen


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
        member=member_after(program, member, accounts, now),
        paid_back_method=paid_back_method,
    )
    notify(
        uow,
        member.id,
        "refund_completed",
        order_no,
        result.member,
        now,
        {"original_order_no": original_order_no, "amount": amount.yuan()},
    )
    return result


def refund_preview(session: Session, order_no: str, amount: Money | None) -> tuple[str, Money]:
    """The store an order belongs to and how much a refund of it would return (for the edge's checks)."""
    if order_no.startswith("C"):
        checkout = session.execute(select(Checkout).where(Checkout.order_no == order_no)).scalar_one_or_none()
        if checkout is None:
            raise DomainError(errors.ORDER_NOT_FOUND)
        refunded = checkout.refunded_principal_fen + checkout.refunded_bonus_fen + checkout.refunded_other_fen
        return checkout.store_id, amount or Money(checkout.payable_fen - refunded)
    if order_no.startswith("R"):
        recharge = session.execute(select(Recharge).where(Recharge.order_no == order_no)).scalar_one_or_none()
        if recharge is None:
            raise DomainError(errors.ORDER_NOT_FOUND)
        return recharge.store_id, amount or Money(recharge.amount_fen - recharge.refunded_principal_fen)
    if order_no.startswith("F"):
        raise DomainError(errors.ORDER_NOT_REFUNDABLE)
    raise DomainError(errors.ORDER_NOT_FOUND)
