"""The console's front page: today's figures and the last 30 business days in bars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from dinecard.members.models import Member
from dinecard.shared.calendar import local_date, start_of_day
from dinecard.wallet.models import Checkout, Recharge
from dinecard.web.console_common import CONSOLE_ROLES, container_of
from dinecard.web.i18n import register
from dinecard.web.session import staff_page
from dinecard.web.templating import render, yuan

DAYS = 30

register(
    {
        "dash.today": ("今日概览", "Today"),
        "dash.recharged": ("今日充值", "Recharged today"),
        "dash.consumed": ("今日消费", "Consumption today"),
        "dash.new_members": ("今日新会员", "New members today"),
        "dash.recharge_count": ("{count} 笔", "{count} recharges"),
        "dash.checkout_count": ("{count} 单", "{count} bills"),
        "dash.chart_recharge": ("近 30 日充值金额", "Recharges, last 30 days"),
        "dash.chart_consume": ("近 30 日消费金额（应付）", "Consumption (payable), last 30 days"),
        "dash.chart_members": ("近 30 日新会员", "New members, last 30 days"),
    }
)


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    label: str
    height: float


@dataclass(frozen=True)
class Series:
    bars: list[Bar]
    total: int
    count: int
    today: int
    today_count: int


def _series(days: list[date], moments: list[tuple[datetime, int]], timezone: str, money: bool) -> Series:
    sums = dict.fromkeys(days, 0)
    counts = dict.fromkeys(days, 0)
    for moment, value in moments:
        day = local_date(moment, timezone)
        if day in sums:
            sums[day] += value
            counts[day] += 1
    top = max(sums.values()) or 1
    bars = [
        Bar(day, sums[day], yuan(sums[day]) if money else str(sums[day]), round(100 * sums[day] / top, 1))
        for day in days
    ]
    today = days[-1]
    return Series(bars, sum(sums.values()), sum(counts.values()), sums[today], counts[today])


def figures(session: Session, now: datetime, timezone: str) -> dict[str, Series]:
    """Daily recharge amount, consumption (payable) and new members, bucketed by business date."""
    today = local_date(now, timezone)
    days = [today - timedelta(days=offset) for offset in range(DAYS - 1, -1, -1)]
    since = start_of_day(days[0], timezone)
    recharges = session.execute(
        select(Recharge.created_at, Recharge.amount_fen).where(Recharge.created_at >= since)
    ).all()
    checkouts = session.execute(
        select(Checkout.created_at, Checkout.payable_fen).where(Checkout.created_at >= since)
    ).all()
    members = session.execute(select(Member.registered_at).where(Member.registered_at >= since)).scalars().all()
    return {
        "recharge": _series(days, [(row[0], row[1]) for row in recharges], timezone, money=True),
        "consume": _series(days, [(row[0], row[1]) for row in checkouts], timezone, money=True),
        "members": _series(days, [(moment, 1) for moment in members], timezone, money=False),
    }


def console_home(request: Request) -> Response:
    principal = staff_page(request, CONSOLE_ROLES)
    container = container_of(request)
    timezone = container.program.business_timezone
    with container.database.read() as session:
        charts = figures(session, container.clock.now(), timezone)
    return render(request, "console/home.html", principal=principal, charts=charts, section="home")
