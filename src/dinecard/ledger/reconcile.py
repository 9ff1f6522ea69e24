"""Reconciliation: proves the ledger, the cached balances and the business records agree (R-OPS-2)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from dinecard.coupons.domain import CouponStatus
from dinecard.coupons.models import Coupon, CouponTemplate
from dinecard.ledger.domain import NON_NEGATIVE_KINDS, AccountKind, EntryReason
from dinecard.ledger.models import Account, JournalTransaction, Posting
from dinecard.mall.models import Redemption, Reward
from dinecard.members.models import Member
from dinecard.wallet.models import BonusRelease, Checkout, Recharge, Refund

MAX_FAILURES_LISTED = 100


@dataclass
class Check:
    name: str
    failures: list[str] = field(default_factory=list)


@dataclass
class Report:
    checks: list[Check]
    members: int
    transactions: int
    checked_at: datetime

    @property
    def ok(self) -> bool:
        return all(not check.failures for check in self.checks)

    @property
    def summary(self) -> str:
        failed = [check.name for check in self.checks if check.failures]
        verdict = "all checks passed" if not failed else f"FAILED: {', '.join(failed)}"
        return f"Reconciliation of {self.members} members and {self.transactions} journal transactions: {verdict}"


def _balanced_transactions(session: Session) -> list[str]:
    rows = session.execute(
        select(Posting.transaction_id, Posting.unit, func.sum(Posting.amount))
        .group_by(Posting.transaction_id, Posting.unit)
        .having(func.sum(Posting.amount) != 0)
        .limit(MAX_FAILURES_LISTED)
    ).all()
    return [f"transaction {tid} is off by {total} {unit}" for tid, unit, total in rows]


def _cached_balances(session: Session) -> list[str]:
    posted = func.coalesce(func.sum(Posting.amount), 0)
    rows = session.execute(
        select(Account.code, Account.balance, posted)
        .outerjoin(Posting, Posting.account_id == Account.id)
        .where(Account.member_id.is_not(None))
        .group_by(Account.id, Account.code, Account.balance)
        .having(Account.balance != posted)
        .limit(MAX_FAILURES_LISTED)
    ).all()
    return [f"{code}: cached {cached}, postings add up to {total}" for code, cached, total in rows]


def _signs(session: Session) -> list[str]:
    rows = session.execute(
        select(Account.code, Account.balance)
        .where(
            or_(
                and_(Account.kind.in_([kind.value for kind in NON_NEGATIVE_KINDS]), Account.balance < 0),
                and_(Account.kind == AccountKind.MEMBER_POINTS_DEBT.value, Account.balance > 0),
            )
        )
        .limit(MAX_FAILURES_LISTED)
    ).all()
    return [f"{code} has a balance of the wrong sign: {balance}" for code, balance in rows]


def _member_totals(session: Session) -> list[str]:
    recharged = (
        select(Recharge.member_id, func.sum(Recharge.amount_fen - Recharge.refunded_principal_fen).label("net"))
        .group_by(Recharge.member_id)
        .subquery()
    )
    consumed = (
        select(
            Checkout.member_id,
            func.sum(
                Checkout.payable_fen
                - Checkout.refunded_principal_fen
                - Checkout.refunded_bonus_fen
                - Checkout.refunded_other_fen
            ).label("net"),
        )
        .group_by(Checkout.member_id)
        .subquery()
    )
    issued = (
        select(JournalTransaction.member_id, (-func.sum(Posting.amount)).label("net"))
        .join(Posting, Posting.transaction_id == JournalTransaction.id)
        .join(Account, Account.id == Posting.account_id)
        .where(Account.kind == AccountKind.POINTS_ISSUED.value)
        .group_by(JournalTransaction.member_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Member.id,
            Member.cumulative_recharge_fen,
            func.coalesce(recharged.c.net, 0),
            Member.cumulative_consume_fen,
            func.coalesce(consumed.c.net, 0),
            Member.points_lifetime,
            func.coalesce(issued.c.net, 0),
        )
        .outerjoin(recharged, recharged.c.member_id == Member.id)
        .outerjoin(consumed, consumed.c.member_id == Member.id)
        .outerjoin(issued, issued.c.member_id == Member.id)
        .where(
            or_(
                Member.cumulative_recharge_fen != func.coalesce(recharged.c.net, 0),
                Member.cumulative_consume_fen != func.coalesce(consumed.c.net, 0),
                Member.points_lifetime != func.coalesce(issued.c.net, 0),
            )
        )
        .limit(MAX_FAILURES_LISTED)
    ).all()
    return [
        f"member {mid}: cumulative recharge {cr} vs records {rr}, consume {cc} vs records {rc}, "
        f"lifetime points {lp} vs ledger {lr}"
        for mid, cr, rr, cc, rc, lp, lr in rows
    ]


def _member_money_in_transaction(kind: AccountKind, reason: EntryReason | None = None):  # type: ignore[no-untyped-def]
    conditions = [
        Posting.transaction_id == JournalTransaction.id,
        Account.id == Posting.account_id,
        Account.kind == kind.value,
    ]
    if reason is not None:
        conditions.append(Posting.reason == reason.value)
    return (
        select(func.coalesce(func.sum(Posting.amount), 0))
        .select_from(Posting)
        .join(Account, Account.id == Posting.account_id)
        .where(*conditions)
        .correlate(JournalTransaction)
        .scalar_subquery()
    )


def _orders_match_ledger(session: Session) -> list[str]:
    principal = _member_money_in_transaction(AccountKind.MEMBER_PRINCIPAL)
    bonus = _member_money_in_transaction(AccountKind.MEMBER_BONUS)
    failures: list[str] = []
    recharge_rows = session.execute(
        select(Recharge.order_no, Recharge.amount_fen, Recharge.bonus_fen, principal, bonus)
        .join(JournalTransaction, JournalTransaction.id == Recharge.journal_transaction_id)
        .where(or_(principal != Recharge.amount_fen, bonus != Recharge.bonus_fen - Recharge.bonus_pending_fen))
        .limit(MAX_FAILURES_LISTED)
    ).all()
    failures += [f"recharge {o}: record {a}+{b}, ledger {p}+{q}" for o, a, b, p, q in recharge_rows]
    checkout_rows = session.execute(
        select(Checkout.order_no, Checkout.paid_principal_fen, Checkout.paid_bonus_fen, principal, bonus)
        .join(JournalTransaction, JournalTransaction.id == Checkout.journal_transaction_id)
        .where(or_(principal != -Checkout.paid_principal_fen, bonus != -Checkout.paid_bonus_fen))
        .limit(MAX_FAILURES_LISTED)
    ).all()
    failures += [f"checkout {o}: record {a}+{b}, ledger {p}+{q}" for o, a, b, p, q in checkout_rows]
    refund_principal = _member_money_in_transaction(AccountKind.MEMBER_PRINCIPAL, EntryReason.REFUND)
    refund_bonus = _member_money_in_transaction(AccountKind.MEMBER_BONUS, EntryReason.REFUND)
    sign = case((Refund.kind == "recharge_refund", -1), else_=1)
    refund_rows = session.execute(
        select(Refund.order_no, Refund.principal_fen, Refund.bonus_fen, refund_principal, refund_bonus)
        .join(JournalTransaction, JournalTransaction.id == Refund.journal_transaction_id)
        .where(or_(refund_principal != sign * Refund.principal_fen, refund_bonus != sign * Refund.bonus_fen))
        .limit(MAX_FAILURES_LISTED)
    ).all()
    failures += [f"refund {o}: record {a}+{b}, ledger {p}+{q}" for o, a, b, p, q in refund_rows]
    return failures


def _refunds_match_orders(session: Session) -> list[str]:
    refunded = (
        select(
            Refund.original_order_no,
            func.sum(Refund.principal_fen).label("principal"),
            func.sum(Refund.amount_fen).label("amount"),
        )
        .group_by(Refund.original_order_no)
        .subquery()
    )
    failures: list[str] = []
    rows = session.execute(
        select(
            Checkout.order_no,
            Checkout.refunded_principal_fen + Checkout.refunded_bonus_fen + Checkout.refunded_other_fen,
            func.coalesce(refunded.c.amount, 0),
        )
        .outerjoin(refunded, refunded.c.original_order_no == Checkout.order_no)
        .where(
            Checkout.refunded_principal_fen + Checkout.refunded_bonus_fen + Checkout.refunded_other_fen
            != func.coalesce(refunded.c.amount, 0)
        )
        .limit(MAX_FAILURES_LISTED)
    ).all()
    failures += [f"checkout {o}: marked refunded {a}, refunds add up to {b}" for o, a, b in rows]
    rows = session.execute(
        select(Recharge.order_no, Recharge.refunded_principal_fen, func.coalesce(refunded.c.principal, 0))
        .outerjoin(refunded, refunded.c.original_order_no == Recharge.order_no)
        .where(Recharge.refunded_principal_fen != func.coalesce(refunded.c.principal, 0))
        .limit(MAX_FAILURES_LISTED)
    ).all()
    failures += [f"recharge {o}: marked refunded {a}, refunds add up to {b}" for o, a, b in rows]
    return failures


def _pending_bonus_matches_releases(session: Session) -> list[str]:
    open_releases = (
        select(BonusRelease.member_id, func.sum(BonusRelease.amount_fen).label("due"))
        .where(BonusRelease.released_at.is_(None), BonusRelease.cancelled_at.is_(None))
        .group_by(BonusRelease.member_id)
        .subquery()
    )
    rows = session.execute(
        select(Account.member_id, Account.balance, func.coalesce(open_releases.c.due, 0))
        .outerjoin(open_releases, open_releases.c.member_id == Account.member_id)
        .where(
            Account.kind == AccountKind.MEMBER_PENDING_BONUS.value,
            Account.balance != func.coalesce(open_releases.c.due, 0),
        )
        .limit(MAX_FAILURES_LISTED)
    ).all()
    return [f"member {m}: pending bonus {b}, open instalments {d}" for m, b, d in rows]


def _coupon_costs_match_bills(session: Session) -> list[str]:
    """What coupons took off the bills still standing equals the coupon cost booked in the ledger."""
    booked = session.execute(
        select(func.coalesce(-func.sum(Posting.amount), 0))
        .join(Account, Account.id == Posting.account_id)
        .where(Account.kind == AccountKind.COUPON_COST.value)
    ).scalar_one()
    on_bills = session.execute(
        select(func.coalesce(func.sum(Checkout.coupon_discount_fen), 0)).where(Checkout.coupons_returned.is_(False))
    ).scalar_one()
    used = session.execute(
        select(func.coalesce(func.sum(Coupon.discount_fen), 0)).where(Coupon.status == CouponStatus.USED.value)
    ).scalar_one()
    failures = []
    if booked != on_bills:
        failures.append(f"coupon cost booked {booked}, coupons on bills not refunded {on_bills}")
    if used < on_bills:
        failures.append(f"coupons marked used took {used}, bills say {on_bills}")
    return failures


def _stock_counters_match_records(session: Session) -> list[str]:
    """Stock is claimed on a counter; the counter must equal what was actually handed out."""
    issued = select(Coupon.template_code, func.count().label("n")).group_by(Coupon.template_code).subquery()
    templates = session.execute(
        select(CouponTemplate.code, CouponTemplate.issued_count, func.coalesce(issued.c.n, 0))
        .outerjoin(issued, issued.c.template_code == CouponTemplate.code)
        .where(CouponTemplate.issued_count != func.coalesce(issued.c.n, 0))
        .limit(MAX_FAILURES_LISTED)
    ).all()
    redeemed = (
        select(Redemption.reward_id, func.count().label("n"))
        .where(Redemption.status == "redeemed")
        .group_by(Redemption.reward_id)
        .subquery()
    )
    rewards = session.execute(
        select(Reward.id, Reward.redeemed_count, func.coalesce(redeemed.c.n, 0))
        .outerjoin(redeemed, redeemed.c.reward_id == Reward.id)
        .where(Reward.redeemed_count != func.coalesce(redeemed.c.n, 0))
        .limit(MAX_FAILURES_LISTED)
    ).all()
    return [f"coupon template {c}: counter {n}, coupons {k}" for c, n, k in templates] + [
        f"mall reward {r}: counter {n}, redemptions {k}" for r, n, k in rewards
    ]


CHECKS: list[tuple[str, Callable[[Session], list[str]]]] = [
    ("every journal transaction balances (per unit)", _balanced_transactions),
    ("member balances equal the sum of their postings", _cached_balances),
    ("no negative balance, no positive points debt", _signs),
    ("member cumulative figures and lifetime points match the records", _member_totals),
    ("every order's money matches its journal transaction", _orders_match_ledger),
    ("refunds add up to what each order says was refunded", _refunds_match_orders),
    ("pending bonus equals the instalments not yet released", _pending_bonus_matches_releases),
    ("coupon cost equals what coupons took off the bills", _coupon_costs_match_bills),
    ("coupon and reward stock counters equal what was handed out", _stock_counters_match_records),
]


def run_reconciliation(session: Session, now: datetime) -> Report:
    checks = [Check(name, function(session)) for name, function in CHECKS]
    members = session.execute(select(func.count()).select_from(Member)).scalar_one()
    transactions = session.execute(select(func.count()).select_from(JournalTransaction)).scalar_one()
    return Report(checks=checks, members=members, transactions=transactions, checked_at=now)
