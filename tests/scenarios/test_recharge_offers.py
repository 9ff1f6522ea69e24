"""Recharge offers over time: deferred bonus (section 8.1), the first-recharge offer and a budgeted
campaign (section 3.1), each on the default programme with one part changed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from dinecard.program.domain import Program
from dinecard.program.models import CampaignUsage
from dinecard.shared.money import Money
from dinecard.wallet.models import BonusRelease
from tests.scenarios.conftest import Life
from tests.unit.programs import variant

SILVER = ("normal", "silver", "recharge")


def _deferred() -> Program:
    return variant({"recharge": {"deferred_bonus": {"immediate_share": "0.5", "instalments": 5}}})


def test_a_deferred_bonus_arrives_monthly_and_stops_when_the_recharge_is_refunded(life: Life) -> None:
    # given half of every bonus now and the rest over 5 months
    life.at(2026, 3, 2)
    life.adopt(_deferred())
    life.register("13900000011")

    # when Wu recharges 500: bonus 80 → 40 now, 40 pending (5 × 8.00); 300 pts; silver
    result = life.recharge("500")
    assert (result.bonus, result.bonus_now, result.bonus_pending) == (Money(8000), Money(4000), Money(4000))
    life.expect(
        principal="500.00",
        bonus="40.00",
        pending_bonus="40.00",
        usable=300,
        lifetime=300,
        level="silver",
        history=[SILVER],
    )

    # the day before the first instalment is due, nothing arrives
    life.at(2026, 4, 1, hour=9)
    assert life.run_jobs()["bonus_release"] == {}

    # on 2 April and 2 May, 8.00 each: 40 + 8 = 48 (32 pending), then 56 (24 pending)
    life.at(2026, 4, 2, hour=9)
    assert life.run_jobs()["bonus_release"] == {"members": 1, "fen": 800}
    life.expect(
        principal="500.00",
        bonus="48.00",
        pending_bonus="32.00",
        usable=300,
        lifetime=300,
        level="silver",
        history=[SILVER],
    )
    assert life.run_jobs(rerun=True)["bonus_release"] == {}
    life.at(2026, 5, 2, hour=9)
    assert life.run_jobs()["bonus_release"] == {"members": 1, "fen": 800}
    life.expect(
        principal="500.00",
        bonus="56.00",
        pending_bonus="24.00",
        usable=300,
        lifetime=300,
        level="silver",
        history=[SILVER],
    )

    # when the recharge is refunded: 500 back, the 56 received forfeited, the 24 still to come cancelled,
    # its 300 pts taken back, and the silver it bought with it
    life.at(2026, 5, 10)
    refund = life.refund(result.order_no)
    assert (refund.principal, refund.bonus_forfeited, refund.points_taken_back) == (Money(50000), Money(5600), 300)
    history = [SILVER, ("silver", "normal", "recharge_refunded")]
    life.expect(
        principal="0.00", bonus="0.00", pending_bonus="0.00", usable=0, lifetime=0, level="normal", history=history
    )

    # then no instalment arrives any more
    for month in (6, 7, 8):
        life.at(2026, month, 2, hour=9)
        assert life.run_jobs()["bonus_release"] == {}
    life.expect(
        principal="0.00", bonus="0.00", pending_bonus="0.00", usable=0, lifetime=0, level="normal", history=history
    )
    with life.container.database.read() as session:
        releases = session.execute(select(BonusRelease).order_by(BonusRelease.due_on)).scalars().all()
        schedule = [(r.due_on, r.amount_fen, r.released_at is not None, r.cancelled_at is not None) for r in releases]
    assert schedule == [
        (date(2026, 4, 2), 800, True, False),
        (date(2026, 5, 2), 800, True, False),
        (date(2026, 6, 2), 800, False, True),
        (date(2026, 7, 2), 800, False, True),
        (date(2026, 8, 2), 800, False, True),
    ]
    life.assert_reconciles()


def test_refunding_half_of_a_recharge_with_a_deferred_bonus_keeps_half_of_its_bonus(life: Life) -> None:
    # given 500 recharged (bonus 80: 40 now, 5 × 8.00 later) and two instalments received: 56 + 24 pending
    life.at(2026, 3, 2)
    life.adopt(_deferred())
    life.register("13900000012")
    result = life.recharge("500")
    for month in (4, 5):
        life.at(2026, month, 2, hour=9)
        life.run_jobs()

    # when 250 of the 500 is refunded
    life.at(2026, 5, 10)
    life.refund(result.order_no, "250")

    # then the 250 kept still earns half of the bonus: 40.00, on the card or still to come
    figures = life.figures()
    assert Money.parse_yuan(figures.bonus) + Money.parse_yuan(figures.pending_bonus) == Money(4000), figures


def test_the_first_recharge_offer_is_given_once(life: Life) -> None:
    # given first recharge of at least 100 → 100 extra bonus and a 50 new-member gift
    life.at(2026, 3, 2)
    life.adopt(variant({"recharge": {"first_recharge": {"min_amount": "100", "extra_bonus": "100", "gift": "50"}}}))
    zhou = life.register("13900000021")

    # when Zhou first recharges 100 (below the 200 tier): 100 + 100 + 50 = 250 on the card
    first = life.recharge("100")
    assert (first.first_recharge_offer, first.bonus, first.points_awarded) == (True, Money(15000), 0)
    life.expect(principal="100.00", bonus="150.00", usable=0, lifetime=0, level="normal", history=[])

    # then the second recharge of 100 gets nothing extra
    second = life.recharge("100")
    assert (second.first_recharge_offer, second.bonus) == (False, Money(0))
    life.expect(principal="200.00", bonus="150.00", usable=0, lifetime=0, level="normal", history=[])

    # a first recharge of 500 gets the tier too (the offer stacks): 80 + 150 = 230, 300 pts, silver
    life.register("13900000022")
    result = life.recharge("500")
    assert (result.first_recharge_offer, result.bonus) == (True, Money(23000))
    life.expect(principal="500.00", bonus="230.00", usable=300, lifetime=300, level="silver", history=[SILVER])

    # a first recharge below the offer's minimum uses up the "first": the next one is not first
    life.register("13900000023")
    assert life.recharge("50").first_recharge_offer is False
    assert life.recharge("100").first_recharge_offer is False
    life.expect(principal="150.00", bonus="0.00", usable=0, lifetime=0, level="normal", history=[])

    life.member_id = zhou
    life.expect(principal="200.00", bonus="150.00", usable=0, lifetime=0, level="normal", history=[])
    life.assert_reconciles()


def test_a_campaign_stops_at_its_budget_and_its_per_member_limit(life: Life) -> None:
    # given March's campaign: recharge 500 or more, get 50 more; 100.00 in all, once per member
    campaign = {
        "code": "spring50",
        "name": "本月充500送50",
        "starts_at": "2026-03-01T00:00:00+08:00",
        "ends_at": "2026-04-01T00:00:00+08:00",
        "min_amount": "500",
        "extra_bonus": "50",
        "budget": "100",
        "per_member_limit": 1,
    }
    life.at(2026, 3, 2)
    life.adopt(variant({"recharge": {"campaigns": [campaign]}}))

    # when Ma recharges 500 twice: 80 + 50 the first time, only the tier's 80 the second (limit 1)
    life.register("13900000031")
    first = life.recharge("500")
    assert (first.campaign_code, first.bonus) == ("spring50", Money(13000))
    second = life.recharge("500")
    assert (second.campaign_code, second.bonus) == (None, Money(8000))
    # principal 1000, bonus 130 + 80 = 210, pts 300 + 300, gold
    life.expect(
        principal="1000.00",
        bonus="210.00",
        usable=600,
        lifetime=600,
        level="gold",
        history=[SILVER, ("silver", "gold", "recharge")],
    )

    # Niu's 400 is under the campaign's minimum (tier 200: +20); her 500 gets the extra (budget now 100 used)
    life.register("13900000032")
    assert life.recharge("400").campaign_code is None
    assert life.recharge("500").campaign_code == "spring50"
    life.expect(
        principal="900.00", bonus="150.00", usable=400, lifetime=400, level="silver", history=[SILVER]
    )  # 20 + 80 + 50 = 150

    # then the third qualifying recharge in the window finds the budget spent: tier only
    life.register("13900000033")
    third = life.recharge("500")
    assert (third.campaign_code, third.bonus) == (None, Money(8000))
    life.expect(principal="500.00", bonus="80.00", usable=300, lifetime=300, level="silver", history=[SILVER])

    with life.container.database.read() as session:
        usage = session.execute(select(CampaignUsage)).scalar_one()
        assert (usage.campaign_code, usage.bonus_given_fen, usage.uses) == ("spring50", 10000, 2)
    life.assert_reconciles()
