"""A year of one member under the tea preset (the article's case 7.2, 茶语心声).

Recharge 100→+10/100 pts, 300→+40/300, 500→+80/500; levels by cumulative consumption: silver 300
(95 %, ×1.2), gold 1000 (90 %, ×1.5); winter warmth: a bill paying at least 50 between 1 December
2026 and 1 March 2027 (+08:00) earns 50 more points.
"""

from __future__ import annotations

from datetime import date

from dinecard.program.presets import TEA
from dinecard.shared.money import Money
from tests.scenarios.conftest import Life

SILVER = ("normal", "silver", "consumption")
SILVER_LOST = ("silver", "normal", "review_downgrade")


def test_a_year_under_the_tea_programme(life: Life) -> None:
    # given the tea preset, and Chen, born on Christmas Eve
    life.at(2026, 3, 2)
    life.adopt(TEA)
    life.register("13900000003", birthday=date(1995, 12, 24))
    life.expect(principal="0.00", bonus="0.00", usable=0, lifetime=0, level="normal", history=[])

    # 100 → +10, 100 pts; 300 → +40, 300 pts; recharging earns no level in this programme
    life.recharge("100")
    life.expect(principal="100.00", bonus="10.00", usable=100, lifetime=100, level="normal", history=[])
    life.recharge("300")
    life.expect(principal="400.00", bonus="50.00", usable=400, lifetime=400, level="normal", history=[])

    # 45 from 400:50 (8:1) → 40 + 5; 45 pts
    life.at(2026, 3, 15)
    life.checkout("45")
    life.expect(principal="360.00", bonus="45.00", usable=445, lifetime=445, level="normal", history=[])

    # 270 at normal → 240 + 30; 270 pts; consumed 45 + 270 = 315 ≥ 300 → silver after this bill
    life.at(2026, 4, 20)
    result = life.checkout("270")
    assert (result.payable, result.points_earned, result.member.level.code) == (Money(27000), 270, "silver")
    life.expect(principal="120.00", bonus="15.00", usable=715, lifetime=715, level="silver", history=[SILVER])

    # at silver: 90 → 85.50 → 76.00 + 9.50; 85.50 × 1.2 = 102.6 → 102 pts
    life.at(2026, 5, 10)
    tea = life.checkout("90")
    assert (tea.payable, tea.paid_principal, tea.paid_bonus, tea.points_earned) == (
        Money(8550),
        Money(7600),
        Money(950),
        102,
    )
    life.expect(principal="44.00", bonus="5.50", usable=817, lifetime=817, level="silver", history=[SILVER])

    # refunded whole: the money back, the 102 pts taken back (from March's lot, 445 → 343); still silver
    life.at(2026, 5, 11)
    life.refund(tea.order_no)
    life.expect(principal="120.00", bonus="15.00", usable=715, lifetime=715, level="silver", history=[SILVER])
    assert life.lots() == {date(2027, 4, 1): 343, date(2027, 5, 1): 270, date(2027, 6, 1): 102}

    # 300 at 95 % → 285.00: the whole balance (120 + 15) and 150 in cash; 285 × 1.2 = 342 pts
    life.at(2026, 6, 15)
    result = life.checkout("300")
    assert (result.paid_principal, result.paid_bonus, result.due_other_tender) == (
        Money(12000),
        Money(1500),
        Money(15000),
    )
    life.expect(principal="0.00", bonus="0.00", usable=1057, lifetime=1057, level="silver", history=[SILVER])

    # 20 July: silver since 20 April, consumed 270 + (85.50 − 85.50) + 285 = 555 ≥ 500 → kept
    life.at(2026, 7, 20, hour=18)
    assert life.run_jobs()["level_review"] == {"kept": 1}

    # 500 → +80, 500 pts
    life.at(2026, 9, 1)
    life.recharge("500")
    life.expect(principal="500.00", bonus="80.00", usable=1557, lifetime=1557, level="silver", history=[SILVER])

    # 20 October, a quiet quarter → normal; the 600 consumed so far no longer counts towards silver
    life.at(2026, 10, 20, hour=18)
    assert life.run_jobs()["level_review"] == {"lowered": 1}
    history = [SILVER, SILVER_LOST]
    life.expect(principal="500.00", bonus="80.00", usable=1557, lifetime=1557, level="normal", history=history)

    # the last evening before winter: 60 → 51.72 + 8.28 (500:80, largest remainder); 60 pts, no winter bonus
    life.at(2026, 11, 30, hour=23)
    assert life.checkout("60").points_earned == 60
    life.expect(principal="448.28", bonus="71.72", usable=1617, lifetime=1617, level="normal", history=history)

    # the first instant of winter: 50 paid → 50 + 50 pts; 50 → 43.10 + 6.90
    life.at(2026, 12, 1, hour=0)
    assert life.checkout("50").points_earned == 100
    life.expect(principal="405.18", bonus="64.82", usable=1717, lifetime=1717, level="normal", history=history)

    # 49.99 is under 50: 49 pts only; → 43.10 + 6.89
    life.at(2026, 12, 10)
    assert life.checkout("49.99").points_earned == 49
    life.expect(principal="362.08", bonus="57.93", usable=1766, lifetime=1766, level="normal", history=history)

    # 200 on the birthday (no birthday rules in this programme): 200 + 50 pts; → 172.41 + 27.59;
    # consumed since the downgrade 60 + 50 + 49.99 + 200 = 359.99 ≥ 300 → silver again
    life.at(2026, 12, 24)
    result = life.checkout("200")
    assert (result.points_earned, result.member.level.code) == (250, "silver")
    history = [*history, SILVER]
    life.expect(principal="189.67", bonus="30.34", usable=2016, lifetime=2016, level="silver", history=history)

    # 55 at 95 % → 52.25, less 300 pts (3.00) → 49.25 paid: under 50, so no winter bonus;
    # 49.25 × 1.2 = 59.1 → 59 pts; → 42.46 + 6.79; the 300 come from March 2026's lot (343 → 43)
    life.at(2027, 1, 8)
    result = life.checkout("55", use_points=300)
    assert (result.payable, result.points_earned) == (Money(4925), 59)
    # usable 2016 − 300 + 59 = 1775; lifetime 2016 + 59 = 2075
    life.expect(principal="147.21", bonus="23.55", usable=1775, lifetime=2075, level="silver", history=history)

    # the last evening of winter: 60 → 57.00; 57 × 1.2 = 68.4 → 68, + 50; → 49.14 + 7.86
    life.at(2027, 2, 28, hour=20)
    assert life.checkout("60").points_earned == 118
    life.expect(principal="98.07", bonus="15.69", usable=1893, lifetime=2193, level="silver", history=history)

    # 1 March 00:00 is after winter (the end is exclusive): 68 pts only
    life.at(2027, 3, 1, hour=0)
    assert life.checkout("60").points_earned == 68
    life.expect(principal="48.93", bonus="7.83", usable=1961, lifetime=2261, level="silver", history=history)

    # 24 March: silver since 24 December, consumed 200 + 49.25 + 57 + 57 = 363.25 < 500 → normal
    life.at(2027, 3, 24, hour=18)
    assert life.run_jobs()["level_review"] == {"lowered": 1}
    history = [*history, SILVER_LOST]
    life.expect(principal="48.93", bonus="7.83", usable=1961, lifetime=2261, level="normal", history=history)

    # 1 April: March 2026's remaining 43 pts expire (1961 − 43 = 1918)
    life.at(2027, 4, 1, hour=9)
    assert life.run_jobs()["points_expiry"] == {"members": 1, "lots": 1, "points": 43}
    assert life.points_expired() == 43
    life.expect(principal="48.93", bonus="7.83", usable=1918, lifetime=2261, level="normal", history=history)
    life.assert_reconciles()


def test_refunding_the_bill_that_earned_silver_takes_silver_back(life: Life) -> None:
    # given a tea member who became silver with one bill of 300
    life.at(2026, 3, 2)
    life.adopt(TEA)
    life.register("13900000301")
    life.recharge("500")
    bill = life.checkout("300")
    assert bill.member.level.code == "silver"

    # when the whole bill is refunded, then 0 consumed is below silver's 300 again
    life.refund(bill.order_no)
    figures = life.figures()
    assert figures.level == "normal"
    assert figures.history[-1][:2] == ("silver", "normal")
