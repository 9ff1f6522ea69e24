"""A year of one member under the article's default programme (sections 3 and 4).

Tiers 200→+20/100 pts, 500→+80/300, 1000→+200/800; silver 500 (95 %, ×1.2, birthday 200 pts),
gold 1000 (90 %, ×1.5, 500 pts); birthday month ×2; points expire at the end of the month 12
months on; a level is kept by consuming 500 in a quarter, otherwise it drops by one.
"""

from __future__ import annotations

from datetime import date

from dinecard.program.presets import DEFAULT
from dinecard.shared.money import Money
from tests.scenarios.conftest import Life

SILVER = ("normal", "silver", "recharge")
GOLD = ("silver", "gold", "recharge")
GOLD_LOST = ("gold", "silver", "review_downgrade")
SILVER_LOST = ("silver", "normal", "review_downgrade")


def test_a_year_under_the_default_programme(life: Life) -> None:
    # given the default preset saved as the programme, and Li, born on 15 July, registering
    life.at(2026, 3, 2)
    assert life.adopt(DEFAULT).version == 1
    life.register("13900000001", birthday=date(1990, 7, 15))
    life.expect(principal="0.00", bonus="0.00", usable=0, lifetime=0, level="normal", history=[])

    # 100 is below the lowest tier (200): no bonus, no points
    result = life.recharge("100")
    assert (result.bonus, result.points_awarded) == (Money(0), 0)
    life.expect(principal="100.00", bonus="0.00", usable=0, lifetime=0, level="normal", history=[])

    # 400 gets the highest tier at or below it (200: +20, +100 pts); 100 + 400 = 500 recharged → silver
    result = life.recharge("400")
    assert (result.bonus, result.points_awarded, result.member.level.code) == (Money(2000), 100, "silver")
    life.expect(principal="500.00", bonus="20.00", usable=100, lifetime=100, level="silver", history=[SILVER])

    # a bill of 100 paid in cash: silver 95 % → 95.00; 95 × 1.2 = 114 pts; the balance is untouched
    life.at(2026, 3, 20)
    result = life.checkout("100", pay_with_balance=False)
    assert (result.payable, result.due_other_tender, result.points_earned) == (Money(9500), Money(9500), 114)
    life.expect(principal="500.00", bonus="20.00", usable=214, lifetime=214, level="silver", history=[SILVER])

    # 500 tier: +80, +300 pts; 1000 recharged → gold at once
    life.at(2026, 4, 10)
    result = life.recharge("500")
    assert (result.bonus, result.points_awarded, result.member.level.code) == (Money(8000), 300, "gold")
    gold_history = [SILVER, GOLD]
    life.expect(principal="1000.00", bonus="100.00", usable=514, lifetime=514, level="gold", history=gold_history)

    # gold 90 %: 110 → 99.00, from balance 1000:100 → 90.00 principal + 9.00 bonus; 99 × 1.5 = 148.5 → 148 pts
    life.at(2026, 4, 20)
    dinner = life.checkout("110")
    assert (dinner.paid_principal, dinner.paid_bonus, dinner.points_earned) == (Money(9000), Money(900), 148)
    life.expect(principal="910.00", bonus="91.00", usable=662, lifetime=662, level="gold", history=gold_history)

    # the dinner is refunded the next day: 90 + 9 back; its 148 pts (earned into April's lot: 300 + 148)
    # are taken back from the soonest-expiring lot (March: 214 → 66)
    life.at(2026, 4, 21)
    refund = life.refund(dinner.order_no)
    assert (refund.principal, refund.bonus, refund.points_taken_back) == (Money(9000), Money(900), 148)
    life.expect(principal="1000.00", bonus="100.00", usable=514, lifetime=514, level="gold", history=gold_history)
    assert life.lots() == {date(2027, 4, 1): 66, date(2027, 5, 1): 448}

    # 600 → 540.00 at 90 %, less 12 pts (0.12) → 539.88; 1000:100 → 490.80 + 49.08;
    # earned 539.88 × 1.5 = 809.82 → 809; the 12 pts come from March (66 → 54)
    life.at(2026, 5, 8)
    banquet = life.checkout("600", use_points=12)
    assert (banquet.payable, banquet.paid_principal, banquet.paid_bonus) == (Money(53988), Money(49080), Money(4908))
    assert banquet.points_earned == 809
    # usable 514 − 12 + 809 = 1311; lifetime 514 + 809 = 1323
    life.expect(principal="509.20", bonus="50.92", usable=1311, lifetime=1323, level="gold", history=gold_history)

    # 10 July: gold since 10 April, consumed 99 − 99 (refunded) + 539.88 = 539.88 ≥ 500 → kept
    life.at(2026, 7, 10, hour=18)
    assert life.run_jobs()["level_review"] == {"kept": 1}
    life.expect(principal="509.20", bonus="50.92", usable=1311, lifetime=1323, level="gold", history=gold_history)

    # 15 July, the birthday: the job gives gold's 500 pts, once a year however often it runs
    life.at(2026, 7, 15, hour=9)
    assert life.run_jobs()["birthday_gifts"] == {"members": 1, "points": 500}
    assert life.run_jobs(rerun=True)["birthday_gifts"] == {}
    life.expect(principal="509.20", bonus="50.92", usable=1811, lifetime=1823, level="gold", history=gold_history)

    # a birthday dinner: 220 → 198.00; 509.20:50.92 is 10:1 → 180.00 + 18.00; 198 × 1.5 × 2 = 594 pts
    life.at(2026, 7, 15)
    result = life.checkout("220")
    assert (result.paid_principal, result.paid_bonus, result.points_earned) == (Money(18000), Money(1800), 594)
    assert result.points_multiplier == 3
    life.expect(principal="329.20", bonus="32.92", usable=2405, lifetime=2417, level="gold", history=gold_history)

    # later in the birthday month, still ×2: 400 → 360.00, less 8 pts → 359.92 → 327.20 + 32.72;
    # 359.92 × 3 = 1079.76 → 1079; usable 2405 − 8 + 1079 = 3476
    life.at(2026, 7, 28)
    result = life.checkout("400", use_points=8)
    assert (result.paid_principal, result.paid_bonus, result.points_earned) == (Money(32720), Money(3272), 1079)
    life.expect(principal="2.00", bonus="0.20", usable=3476, lifetime=3496, level="gold", history=gold_history)

    # out of the birthday month, at the next quarter: consumed 198 + 359.92 = 557.92 ≥ 500 → kept again
    life.at(2026, 10, 10, hour=18)
    assert life.run_jobs()["level_review"] == {"kept": 1}

    # a recharge is not consumption: 200 tier (+20, +100 pts) and still gold (1200 < 2000)
    life.at(2026, 11, 5)
    life.recharge("200")
    life.expect(principal="202.00", bonus="20.20", usable=3576, lifetime=3596, level="gold", history=gold_history)

    # a quiet quarter (nothing consumed since 10 October) → one level down, to silver, never two
    life.at(2027, 1, 10, hour=18)
    assert life.run_jobs()["level_review"] == {"lowered": 1}
    silver_history = [*gold_history, GOLD_LOST]
    life.expect(principal="202.00", bonus="20.20", usable=3576, lifetime=3596, level="silver", history=silver_history)
    life.at(2027, 1, 11, hour=18)
    assert life.run_jobs()["level_review"] == {}
    life.expect(principal="202.00", bonus="20.20", usable=3576, lifetime=3596, level="silver", history=silver_history)

    # March 2026 points (46 left: 66 − 12 − 8) are usable to the end of March 2027
    assert life.lots()[date(2027, 4, 1)] == 46
    life.at(2027, 3, 31, hour=20)
    assert life.run_jobs()["points_expiry"] == {}
    life.expect(principal="202.00", bonus="20.20", usable=3576, lifetime=3596, level="silver", history=silver_history)

    # on 1 April they are no longer usable (3576 − 46 = 3530); the job moves them into the ledger's expired account
    life.at(2027, 4, 1, hour=9)
    life.expect(principal="202.00", bonus="20.20", usable=3530, lifetime=3596, level="silver", history=silver_history)
    assert life.points_expired() == 0
    assert life.run_jobs()["points_expiry"] == {"members": 1, "lots": 1, "points": 46}
    assert life.points_expired() == 46
    assert life.lots()[date(2027, 4, 1)] == 0
    life.expect(principal="202.00", bonus="20.20", usable=3530, lifetime=3596, level="silver", history=silver_history)

    # another quiet quarter since 10 January → silver drops to normal, again exactly one level
    life.at(2027, 4, 10, hour=18)
    assert life.run_jobs()["level_review"] == {"lowered": 1}
    life.expect(
        principal="202.00",
        bonus="20.20",
        usable=3530,
        lifetime=3596,
        level="normal",
        history=[*silver_history, SILVER_LOST],
    )
    life.assert_reconciles()


def test_default_birthday_gifts_follow_the_level_once_a_year(life: Life) -> None:
    # given four members born on 15 May at each level (recharges of 0, 500, 1000 and 2000),
    # their birthday inside the first quarter, before any level review
    life.at(2026, 3, 2)
    life.adopt(DEFAULT)
    members = {}
    for index, amount in enumerate(["0", "500", "1000", "2000"]):
        members[amount] = life.register(f"1390000010{index}", birthday=date(1988, 5, 15))
        if amount != "0":
            life.recharge(amount)

    # when the jobs run on 14 May, then nobody gets anything
    life.at(2026, 5, 14, hour=9)
    assert life.run_jobs()["birthday_gifts"] == {}

    # when they run on the birthday: silver 200, gold 500, diamond 1000, normal nothing
    life.at(2026, 5, 15, hour=9)
    assert life.run_jobs()["birthday_gifts"] == {"members": 3, "points": 1700}
    tier_points = {"0": 0, "500": 300, "1000": 800, "2000": 2000}
    gift = {"0": 0, "500": 200, "1000": 500, "2000": 1000}
    for amount, member_id in members.items():
        life.member_id = member_id
        figures = life.figures()
        assert (figures.usable, figures.lifetime) == (tier_points[amount] + gift[amount],) * 2, amount

    # and running the day's jobs again, that day or the next, gives nothing more
    assert life.run_jobs(rerun=True)["birthday_gifts"] == {}
    life.at(2026, 5, 16, hour=9)
    assert life.run_jobs(date(2026, 5, 15), rerun=True)["birthday_gifts"] == {}
    life.member_id = members["2000"]
    assert life.figures().usable == 3000
    life.assert_reconciles()


def test_a_level_gained_on_the_31st_is_reviewed_on_the_last_day_of_the_month_three_months_on(life: Life) -> None:
    # given a member who became silver on 31 August and consumed nothing since
    life.at(2026, 5, 1)
    life.adopt(DEFAULT)
    life.register("13900000201")
    life.at(2026, 8, 31)
    life.recharge("500")

    # when the jobs run on 30 November, the end of the third month
    life.at(2026, 11, 30, hour=18)
    outcome = life.run_jobs()["level_review"]

    # then the quiet quarter has ended and silver drops to normal that day
    assert outcome == {"lowered": 1}
    assert life.figures().level == "normal"
