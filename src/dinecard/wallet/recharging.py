"""Recharge: principal and bonus apart, tier, campaign and first-recharge offer, deferred bonus, points."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason
from dinecard.levels.domain import upgrade_after
from dinecard.levels.service import NO_COUPONS, apply_level_change
from dinecard.levels.service import standing as standing_of
from dinecard.members.domain import ensure_can_recharge
from dinecard.members.service import lock_member
from dinecard.platform.db import UnitOfWork
from dinecard.points import service as points
from dinecard.program.domain import Program, RechargeCampaign
from dinecard.program.models import CampaignUsage
from dinecard.shared.calendar import add_months, local_date, start_of_day
from dinecard.shared.ids import new_order_no
from dinecard.shared.money import Money
from dinecard.wallet.common import (
    FEN,
    Channel,
    MemberAfter,
    PaymentMethod,
    member_after,
    money_entries,
    notify,
    require_store,
)
from dinecard.wallet.domain import (
    CampaignStanding,
    RecentRecharges,
    RechargeContext,
    RechargeLimits,
    active_campaign,
    check_recharge_limits,
    quote_recharge,
)
from dinecard.wallet.models import BonusRelease, Recharge

# ---------------------------------------------------------------- recharge


@dataclass(frozen=True)
class RechargeCommand:
    member_id: str
    store_id: str
    amount: Money
    payment_method: PaymentMethod
    channel: Channel = Channel.OFFLINE
    limits: RechargeLimits = field(default_factory=RechargeLimits)


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
    upgrade_gift_coupons: tuple[str, ...] = ()


def recharge(uow: UnitOfWork, program: Program, command: RechargeCommand, now: datetime) -> RechargeResult:
    """Credit principal and bonus apart, apply tier, campaign and first-recharge offer, give the
    points, defer part of the bonus if the programme says so, upgrade at once on a threshold."""
    member = lock_member(uow, command.member_id)
    ensure_can_recharge(member.status)
    require_store(uow, command.store_id)
    store = command.store_id
    campaign = active_campaign(program, now, store)
    standing = _campaign_standing(uow, campaign, member.id) if campaign else None
    quote = quote_recharge(
        program,
        command.amount,
        RechargeContext(store_id=store, first_recharge=member.first_recharge_at is None, campaign=standing),
    )
    accounts = ledger.load_member_accounts(uow.session, member.id)
    balance_after = Money(accounts.principal + accounts.bonus + accounts.pending_bonus) + quote.amount + quote.bonus
    check_recharge_limits(
        command.limits, quote.amount, _recent_recharges(uow, program, member.id, now), balance_after, now
    )
    order_no = new_order_no("R")
    pending = sum((part for part in quote.bonus_later), Money.zero())
    entries = money_entries(uow, accounts, quote.amount.fen, quote.bonus_now.fen, EntryReason.RECHARGE)
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
    gift_points, gift_coupons = 0, NO_COUPONS
    change = upgrade_after(program, member.level_code, standing_of(member), "recharge")
    if change is not None:
        gifts = apply_level_change(uow, program, member, accounts, change, order_no, now, store)
        entries += gifts.entries
        gift_points, gift_coupons = gifts.points, gifts.coupons
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
        upgrade_gift_coupons=gift_coupons,
        campaign_code=quote.campaign_code,
        first_recharge_offer=quote.first_recharge_bonus.fen > 0 or quote.first_recharge_points > 0,
        member=member_after(program, member, accounts, now),
    )
    notify(
        uow,
        member.id,
        "recharge_completed",
        order_no,
        result.member,
        now,
        {"amount": quote.amount.yuan(), "bonus_given": quote.bonus.yuan(), "points_awarded": quote.points},
    )
    return result


def _recent_recharges(uow: UnitOfWork, program: Program, member_id: str, now: datetime) -> RecentRecharges:
    """Today's total and the last hour's recharges (net of refunds), read under the member's lock."""
    day_start = start_of_day(local_date(now, program.business_timezone), program.business_timezone)
    since = min(day_start, now - timedelta(hours=1))
    rows = uow.session.execute(
        select(Recharge.created_at, Recharge.amount_fen - Recharge.refunded_principal_fen)
        .where(Recharge.member_id == member_id, Recharge.created_at >= since)
        .order_by(Recharge.created_at)
    ).all()
    today = sum(net for created_at, net in rows if created_at >= day_start)
    last_hour = tuple(created_at for created_at, _net in rows if created_at > now - timedelta(hours=1))
    return RecentRecharges(Money(int(today)), last_hour)


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
