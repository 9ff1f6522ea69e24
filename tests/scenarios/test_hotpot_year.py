"""A year of one member under the hotpot preset (the article's case 7.1, 锅底英雄).

Recharge 500→+100, 1000→+300, 2000→+800 (no points); 1 point per yuan, 100 points = 1 yuan;
silver 95 %, gold 90 %, diamond 85 %, no level multipliers; member day on the 18th: double
points and soup bases half price; on the birthday the soup base is free.
"""

from __future__ import annotations

from datetime import date

from dinecard.program.presets import HOTPOT, SOUP_BASES
from dinecard.shared.money import Money
from dinecard.wallet.domain import Discount
from tests.scenarios.conftest import Life

SILVER = ("normal", "silver", "recharge")
GOLD = ("silver", "gold", "recharge")
GOLD_LOST = ("gold", "silver", "review_downgrade")
SILVER_LOST = ("silver", "normal", "review_downgrade")


def test_a_year_under_the_hotpot_programme(life: Life) -> None:
    # given the hotpot preset, and Zhang, born on 9 May
    life.at(2026, 3, 2)
    life.adopt(HOTPOT)
    life.register("13900000002", birthday=date(1992, 5, 9))
    life.expect(principal="0.00", bonus="0.00", usable=0, lifetime=0, level="normal", history=[])

    # 300 is below the lowest tier (500): nothing extra
    assert life.recharge("300").bonus == Money(0)
    life.expect(principal="300.00", bonus="0.00", usable=0, lifetime=0, level="normal", history=[])

    # 500 → +100 and no points; 300 + 500 = 800 recharged → silver
    result = life.recharge("500")
    assert (result.bonus, result.points_awarded) == (Money(10000), 0)
    life.expect(principal="800.00", bonus="100.00", usable=0, lifetime=0, level="silver", history=[SILVER])

    # the soup bases on these bills are the preset's promoted dishes
    assert {"soup_tomato", "soup_bone", "soup_mushroom"} <= set(SOUP_BASES)
    dinner = (("soup_tomato", "番茄锅底", 1, "48"), ("beef", "肥牛", 1, "88"), ("shrimp", "虾滑", 1, "44"))

    # 10 March, an ordinary day: 180 at silver 95 % → 171.00; 800:100 is 8:1 → 152.00 + 19.00; 171 pts
    life.at(2026, 3, 10)
    result = life.checkout("180", items=dinner)
    assert result.discounts == (Discount("level", Money(900)),)
    assert (result.paid_principal, result.paid_bonus, result.points_earned) == (Money(15200), Money(1900), 171)
    life.expect(principal="648.00", bonus="81.00", usable=171, lifetime=171, level="silver", history=[SILVER])

    # 18 March, member day: the soup base half price (48 → 24), the rest 132 at 95 % → 125.40 (6.60 off);
    # 149.40 from 648:81 (8:1) → 132.80 + 16.60; points 149.40 × 2 = 298.8 → 298
    life.at(2026, 3, 18)
    result = life.checkout("180", items=dinner)
    assert result.discounts == (Discount("member_day_dish", Money(2400)), Discount("level", Money(660)))
    assert (result.payable, result.paid_principal, result.paid_bonus) == (Money(14940), Money(13280), Money(1660))
    assert (result.points_earned, result.points_multiplier) == (298, 2)
    life.expect(principal="515.20", bonus="64.40", usable=469, lifetime=469, level="silver", history=[SILVER])

    # 1000 → +300; 1800 recharged → gold
    life.at(2026, 4, 5)
    result = life.recharge("1000")
    assert (result.bonus, result.member.level.code) == (Money(30000), "gold")
    gold_history = [SILVER, GOLD]
    life.expect(principal="1515.20", bonus="364.40", usable=469, lifetime=469, level="gold", history=gold_history)

    # 9 May, the birthday: the hotpot programme gives no birthday points but a 50 yuan voucher
    life.at(2026, 5, 9, hour=9)
    assert life.run_jobs()["birthday_gifts"] == {"members": 1, "coupons": 1}
    life.expect(principal="1515.20", bonus="364.40", usable=469, lifetime=469, level="gold", history=gold_history)

    # the birthday dinner: the soup base free (58 off), the rest 142 at 90 % → 127.80 (14.20 off);
    # 127.80 from 1515.20:364.40 → 103.02 + 24.78 (largest remainder); 127.8 → 127 pts (no multiplier)
    life.at(2026, 5, 9)
    birthday = (("soup_bone", "骨汤锅底", 1, "58"), ("lamb", "羊肉", 1, "98"), ("greens", "时蔬", 1, "44"))
    result = life.checkout("200", items=birthday)
    assert result.discounts == (Discount("birthday_dish", Money(5800)), Discount("level", Money(1420)))
    assert (result.paid_principal, result.paid_bonus, result.points_earned) == (Money(10302), Money(2478), 127)
    life.expect(principal="1412.18", bonus="339.62", usable=596, lifetime=596, level="gold", history=gold_history)

    # 18 May, member day, with 300 points: soup 52 → 26, the rest 88 at 90 % → 79.20 (8.80 off); 105.20 − 3.00
    # = 102.20 → 82.39 + 19.81; 102.20 × 2 = 204.4 → 204 pts; the 300 come from March's lot (469 → 169)
    life.at(2026, 5, 18)
    member_day = (("soup_mushroom", "菌汤锅底", 1, "52"), ("beef", "肥牛", 1, "88"))
    feast = life.checkout("140", items=member_day, use_points=300)
    assert feast.discounts == (Discount("member_day_dish", Money(2600)), Discount("level", Money(880)))
    assert (feast.points_deduction, feast.payable) == (Money(300), Money(10220))
    assert (feast.paid_principal, feast.paid_bonus, feast.points_earned) == (Money(8239), Money(1981), 204)
    # usable 596 − 300 + 204 = 500; lifetime 596 + 204 = 800
    life.expect(principal="1329.79", bonus="319.81", usable=500, lifetime=800, level="gold", history=gold_history)
    assert life.lots() == {date(2027, 4, 1): 169, date(2027, 6, 1): 331}

    # 50.00 of it refunded: split 82.39:19.81 → 40.31 + 9.69 back; points used given back
    # 300 × 50/102.20 → 146 (to March's lot, 315), points earned taken back 204 × 50/102.20 → 99 (from March, 216)
    life.at(2026, 5, 20)
    refund = life.refund(feast.order_no, "50")
    assert (refund.principal, refund.bonus) == (Money(4031), Money(969))
    assert (refund.points_restored, refund.points_taken_back) == (146, 99)
    # usable 500 + 146 − 99 = 547; lifetime 800 − 99 = 701
    life.expect(principal="1370.10", bonus="329.50", usable=547, lifetime=701, level="gold", history=gold_history)
    assert life.lots() == {date(2027, 4, 1): 216, date(2027, 6, 1): 331}

    # a party of 500 (no items) at 90 % → 450.00 → 362.76 + 87.24; 450 pts
    life.at(2026, 6, 20)
    result = life.checkout("500")
    assert (result.paid_principal, result.paid_bonus, result.points_earned) == (Money(36276), Money(8724), 450)
    life.expect(principal="1007.34", bonus="242.26", usable=997, lifetime=1151, level="gold", history=gold_history)

    # 5 July: gold since 5 April, consumed 127.80 + 102.20 − 50 + 450 = 630 ≥ 500 → kept
    life.at(2026, 7, 5, hour=18)
    assert life.run_jobs()["level_review"] == {"kept": 1}
    life.expect(principal="1007.34", bonus="242.26", usable=997, lifetime=1151, level="gold", history=gold_history)

    # 5 October, after a quiet quarter → silver (one level), and nothing more the next day
    life.at(2026, 10, 5, hour=18)
    assert life.run_jobs()["level_review"] == {"lowered": 1}
    silver_history = [*gold_history, GOLD_LOST]
    life.expect(principal="1007.34", bonus="242.26", usable=997, lifetime=1151, level="silver", history=silver_history)
    life.at(2026, 10, 6, hour=18)
    assert life.run_jobs()["level_review"] == {}

    # 18 October, a member day at silver: double points still; the level discount is now 95 %
    # 40 → 38.00 from 1007.34:242.26 → 30.63 + 7.37 (largest remainder); 38 × 2 = 76 pts
    life.at(2026, 10, 18)
    result = life.checkout("40")
    assert (result.paid_principal, result.paid_bonus, result.points_earned) == (Money(3063), Money(737), 76)
    life.expect(principal="976.71", bonus="234.89", usable=1073, lifetime=1227, level="silver", history=silver_history)

    # 5 January: silver since 5 October, consumed only 38 < 500 → normal
    life.at(2027, 1, 5, hour=18)
    assert life.run_jobs()["level_review"] == {"lowered": 1}
    normal_history = [*silver_history, SILVER_LOST]
    life.expect(principal="976.71", bonus="234.89", usable=1073, lifetime=1227, level="normal", history=normal_history)

    # 1 April 2027: March 2026's 216 points are gone (1073 − 216 = 857) and the job writes them off
    life.at(2027, 4, 1, hour=9)
    life.expect(principal="976.71", bonus="234.89", usable=857, lifetime=1227, level="normal", history=normal_history)
    assert life.run_jobs()["points_expiry"] == {"members": 1, "lots": 1, "points": 216}
    assert life.points_expired() == 216
    assert life.lots()[date(2027, 4, 1)] == 0
    life.expect(principal="976.71", bonus="234.89", usable=857, lifetime=1227, level="normal", history=normal_history)
    life.assert_reconciles()
