"""Recharge offers beyond the tier table: campaigns (R-RCH-4), first recharge (R-RCH-5),
deferred bonus (R-RCH-6), package-only and per-yuan points (R-RCH-2, R-RCH-3), pilot stores (R-OPS-6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dinecard.program.domain import Program, RechargeCampaign
from dinecard.program.presets import preset
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet.domain import CampaignStanding, RechargeContext, active_campaign, quote_recharge
from tests.unit.programs import variant

SHANGHAI = timezone(timedelta(hours=8))
STARTS_AT = datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI)
ENDS_AT = datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI)
MID_NOVEMBER = datetime(2026, 11, 15, 12, 0, tzinfo=SHANGHAI)
ONE_MICROSECOND = timedelta(microseconds=1)


def _yuan(text: str) -> Money:
    return Money.parse_yuan(text)


def _campaign_program(**overrides: Any) -> Program:
    """The default tiers with "this month, recharge 500 or more, get 50 extra and 100 points"."""
    campaign = {
        "code": "nov_500_50",
        "name": "十一月充500加送50",
        "starts_at": STARTS_AT.isoformat(),
        "ends_at": ENDS_AT.isoformat(),
        "min_amount": "500",
        "extra_bonus": "50",
        "extra_points": 100,
        **overrides,
    }
    return variant({"recharge": {"campaigns": [campaign]}})


def _standing(program: Program, bonus_given: str = "0", member_uses: int = 0) -> CampaignStanding:
    campaign = active_campaign(program, MID_NOVEMBER, "s1")
    assert campaign is not None
    return CampaignStanding(campaign, _yuan(bonus_given), member_uses)


def _with_campaign(program: Program, standing: CampaignStanding | None = None) -> RechargeContext:
    return RechargeContext(store_id="s1", campaign=standing or _standing(program))


def _first_recharge_program(base: Program | None = None, **overrides: Any) -> Program:
    """新用户首充: a first recharge of 100 or more gets 100 bonus and a 50 gift (the article's 250)."""
    offer = {"min_amount": "100", "extra_bonus": "100", "gift": "50", "extra_points": 50, **overrides}
    return variant({"recharge": {"first_recharge": offer}}, base)


FIRST = RechargeContext(store_id="s1", first_recharge=True)


# ---------------------------------------------------------------- campaigns


def test_a_stacking_campaign_adds_its_extra_bonus_and_points_to_the_tier() -> None:
    # given
    program = _campaign_program()
    # when a member recharges 500 in November
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program))
    # then 80 (tier) + 50 (campaign) bonus, 300 + 100 points
    assert (quote.tier_bonus, quote.campaign_bonus, quote.bonus) == (_yuan("80"), _yuan("50"), _yuan("130"))
    assert (quote.tier_points, quote.campaign_points, quote.points) == (300, 100, 400)
    assert quote.campaign_code == "nov_500_50"


def test_a_stacking_campaign_adds_to_a_higher_tier_too() -> None:
    program = _campaign_program()
    quote = quote_recharge(program, _yuan("1000"), _with_campaign(program))
    assert (quote.bonus, quote.points) == (_yuan("250"), 900)


@pytest.mark.parametrize(
    ("amount", "campaign_code", "bonus", "points"),
    [
        ("499.99", None, "20.00", 100),  # the 200 tier only
        ("500", "nov_500_50", "130.00", 400),
        ("500.01", "nov_500_50", "130.00", 400),
    ],
)
def test_the_campaign_needs_at_least_its_min_amount(
    amount: str, campaign_code: str | None, bonus: str, points: int
) -> None:
    program = _campaign_program()
    quote = quote_recharge(program, _yuan(amount), _with_campaign(program))
    assert (quote.campaign_code, quote.bonus.yuan(), quote.points) == (campaign_code, bonus, points)


def test_a_non_stacking_campaign_worse_than_the_tier_leaves_the_tier() -> None:
    # given the campaign's 50 is less than the 500 tier's 80
    program = _campaign_program(stacks_with_tier=False)
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program))
    # then the member gets the tier alone
    assert quote.campaign_code is None
    assert (quote.tier_bonus, quote.campaign_bonus, quote.points) == (_yuan("80"), Money.zero(), 300)


def test_a_non_stacking_campaign_equal_to_the_tier_leaves_the_tier() -> None:
    program = _campaign_program(stacks_with_tier=False, extra_bonus="80")
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program))
    assert (quote.campaign_code, quote.tier_bonus, quote.bonus) == (None, _yuan("80"), _yuan("80"))


def test_a_non_stacking_campaign_better_than_the_tier_replaces_it() -> None:
    # given the campaign gives 100 instead of the tier's 80
    program = _campaign_program(stacks_with_tier=False, extra_bonus="100")
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program))
    # then the tier's bonus and points are replaced by the campaign's
    assert quote.campaign_code == "nov_500_50"
    assert (quote.tier_bonus, quote.tier_points) == (Money.zero(), 0)
    assert (quote.campaign_bonus, quote.campaign_points) == (_yuan("100"), 100)
    assert (quote.bonus, quote.points) == (_yuan("100"), 100)


def test_the_same_non_stacking_campaign_loses_to_a_higher_tier() -> None:
    program = _campaign_program(stacks_with_tier=False, extra_bonus="100")
    quote = quote_recharge(program, _yuan("1000"), _with_campaign(program))
    assert (quote.campaign_code, quote.bonus, quote.points) == (None, _yuan("200"), 800)


def test_without_a_campaign_standing_only_the_tier_applies() -> None:
    program = _campaign_program()
    quote = quote_recharge(program, _yuan("500"), RechargeContext(store_id="s1"))
    assert (quote.campaign_code, quote.bonus, quote.points) == (None, _yuan("80"), 300)


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        (STARTS_AT - ONE_MICROSECOND, False),
        (STARTS_AT, True),
        (MID_NOVEMBER, True),
        (ENDS_AT - ONE_MICROSECOND, True),  # the campaign's last instant
        (ENDS_AT, False),  # ends_at is exclusive
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), False),  # the same instant as ENDS_AT, in UTC
        (datetime(2026, 11, 30, 15, 59, 59, 999999, tzinfo=UTC), True),
    ],
)
def test_a_campaign_runs_from_its_start_to_just_before_its_end(moment: datetime, active: bool) -> None:
    program = _campaign_program()
    campaign = active_campaign(program, moment, "s1")
    assert (campaign is not None) is active
    if active:
        assert isinstance(campaign, RechargeCampaign) and campaign.code == "nov_500_50"


@pytest.mark.parametrize(("store_id", "active"), [("s1", True), ("s2", True), ("s3", False), (None, False)])
def test_a_pilot_store_campaign_runs_only_in_its_stores(store_id: str | None, active: bool) -> None:
    program = _campaign_program(stores=["s1", "s2"])
    assert (active_campaign(program, MID_NOVEMBER, store_id) is not None) is active


def test_a_campaign_for_every_store_runs_even_without_a_store() -> None:
    program = _campaign_program()
    assert active_campaign(program, MID_NOVEMBER, None) is not None
    assert active_campaign(program, MID_NOVEMBER, "any-store") is not None


def test_active_campaign_picks_the_one_whose_window_contains_the_moment() -> None:
    december = {
        "code": "dec",
        "name": "dec",
        "starts_at": ENDS_AT.isoformat(),
        "ends_at": "2027-01-01T00:00:00+08:00",
        "min_amount": "200",
    }
    november = {**december, "code": "nov", "starts_at": STARTS_AT.isoformat(), "ends_at": ENDS_AT.isoformat()}
    program = variant({"recharge": {"campaigns": [november, december]}})
    codes = [active_campaign(program, moment, None) for moment in (ENDS_AT - ONE_MICROSECOND, ENDS_AT)]
    assert [campaign.code if campaign else None for campaign in codes] == ["nov", "dec"]


@pytest.mark.parametrize(
    ("bonus_given", "campaign_applies"),
    [
        ("0", True),
        ("949.99", True),
        ("950.00", True),  # 950 + 50 is exactly the budget: allowed
        ("950.01", False),  # one fen over the budget
        ("1000", False),
    ],
)
def test_the_campaign_stops_when_its_budget_cannot_cover_the_extra(bonus_given: str, campaign_applies: bool) -> None:
    # given a budget of 1,000 yuan of extra bonus
    program = _campaign_program(budget="1000")
    standing = _standing(program, bonus_given=bonus_given)
    # when
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program, standing))
    # then
    assert (quote.campaign_code == "nov_500_50") is campaign_applies
    assert quote.bonus == (_yuan("130") if campaign_applies else _yuan("80"))


@pytest.mark.parametrize(("member_uses", "campaign_applies"), [(0, True), (1, True), (2, False), (5, False)])
def test_the_campaign_applies_at_most_per_member_limit_times(member_uses: int, campaign_applies: bool) -> None:
    program = _campaign_program(per_member_limit=2)
    standing = _standing(program, member_uses=member_uses)
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program, standing))
    assert (quote.campaign_bonus == _yuan("50")) is campaign_applies


# ---------------------------------------------------------------- first recharge


def test_the_articles_first_recharge_of_100_credits_250() -> None:
    # given the default tiers start at 200, so 100 gets no tier
    program = _first_recharge_program()
    # when a new member first recharges 100
    quote = quote_recharge(program, _yuan("100"), FIRST)
    # then 100 principal + 100 bonus + 50 gift
    assert quote.tier is None
    assert quote.first_recharge_bonus == _yuan("150")
    assert quote.amount + quote.bonus == _yuan("250")
    assert quote.points == 50
    assert (quote.bonus_now, quote.bonus_later) == (_yuan("150"), ())


def test_the_first_recharge_offer_is_not_given_on_a_later_recharge() -> None:
    program = _first_recharge_program()
    quote = quote_recharge(program, _yuan("100"), RechargeContext(store_id="s1", first_recharge=False))
    assert (quote.bonus, quote.points) == (Money.zero(), 0)


@pytest.mark.parametrize(("amount", "bonus"), [("99.99", "0.00"), ("100", "150.00"), ("199.99", "150.00")])
def test_the_first_recharge_offer_needs_its_min_amount(amount: str, bonus: str) -> None:
    quote = quote_recharge(_first_recharge_program(), _yuan(amount), FIRST)
    assert quote.bonus.yuan() == bonus


def test_a_stacking_first_recharge_offer_adds_to_the_tier() -> None:
    quote = quote_recharge(_first_recharge_program(), _yuan("200"), FIRST)
    assert (quote.tier_bonus, quote.first_recharge_bonus, quote.bonus) == (_yuan("20"), _yuan("150"), _yuan("170"))
    assert quote.points == 100 + 50


def test_a_non_stacking_first_recharge_offer_better_than_the_tier_replaces_it() -> None:
    # given 150 offered against the 200 tier's 20
    program = _first_recharge_program(stacks_with_tier=False)
    quote = quote_recharge(program, _yuan("200"), FIRST)
    assert (quote.tier_bonus, quote.tier_points) == (Money.zero(), 0)
    assert (quote.bonus, quote.points) == (_yuan("150"), 50)


@pytest.mark.parametrize(("amount", "bonus", "points"), [("1000", "200.00", 800), ("2000", "500.00", 2000)])
def test_a_non_stacking_first_recharge_offer_worse_than_the_tier_leaves_the_tier(
    amount: str, bonus: str, points: int
) -> None:
    program = _first_recharge_program(stacks_with_tier=False)
    quote = quote_recharge(program, _yuan(amount), FIRST)
    assert (quote.first_recharge_bonus, quote.bonus.yuan(), quote.points) == (Money.zero(), bonus, points)


def test_a_non_stacking_first_recharge_offer_equal_to_the_tier_leaves_the_tier() -> None:
    program = _first_recharge_program(stacks_with_tier=False, extra_bonus="30", gift="50")
    quote = quote_recharge(program, _yuan("500"), FIRST)
    assert (quote.first_recharge_bonus, quote.tier_bonus) == (Money.zero(), _yuan("80"))


def test_a_non_stacking_first_recharge_offer_is_compared_with_tier_and_campaign_together() -> None:
    # given a 500 recharge in November earns 80 (tier) + 50 (campaign) = 130
    with_campaign = _campaign_program()
    better = _first_recharge_program(with_campaign, stacks_with_tier=False)  # 150 offered
    worse = _first_recharge_program(with_campaign, stacks_with_tier=False, extra_bonus="70")  # 120 offered
    context = RechargeContext(store_id="s1", first_recharge=True, campaign=_standing(with_campaign))
    # when
    replaced = quote_recharge(better, _yuan("500"), context)
    kept = quote_recharge(worse, _yuan("500"), context)
    # then
    assert (replaced.campaign_code, replaced.bonus, replaced.points) == (None, _yuan("150"), 50)
    assert (kept.campaign_code, kept.first_recharge_bonus, kept.bonus) == ("nov_500_50", Money.zero(), _yuan("130"))


def test_a_stacking_first_recharge_offer_adds_to_tier_and_campaign() -> None:
    program = _first_recharge_program(_campaign_program())
    context = RechargeContext(store_id="s1", first_recharge=True, campaign=_standing(program))
    quote = quote_recharge(program, _yuan("500"), context)
    assert (quote.bonus, quote.points) == (_yuan("280"), 300 + 100 + 50)


@pytest.mark.parametrize(("store_id", "bonus"), [("s1", "150.00"), ("s2", "0.00"), (None, "0.00")])
def test_a_pilot_store_first_recharge_offer_applies_only_in_its_stores(store_id: str | None, bonus: str) -> None:
    program = _first_recharge_program(stores=["s1"])
    quote = quote_recharge(program, _yuan("100"), RechargeContext(store_id=store_id, first_recharge=True))
    assert quote.bonus.yuan() == bonus


# ---------------------------------------------------------------- deferred bonus


def _deferred(base: Program | None = None, share: str = "0.5", instalments: int = 5) -> Program:
    return variant({"recharge": {"deferred_bonus": {"immediate_share": share, "instalments": instalments}}}, base)


def test_the_articles_500_with_100_bonus_gives_50_now_and_10_a_month_for_5_months() -> None:
    # given the hotpot chain's 500 → +100 tier, half now and half over 5 months
    program = _deferred(preset("hotpot"))
    # when
    quote = quote_recharge(program, _yuan("500"))
    # then
    assert quote.bonus == _yuan("100")
    assert quote.bonus_now == _yuan("50")
    assert quote.bonus_later == tuple([_yuan("10")] * 5)


@pytest.mark.parametrize(
    ("instalments", "later"),
    [
        (5, ("8.01", "8.00", "8.00", "8.00", "8.00")),
        (3, ("13.34", "13.34", "13.33")),
        (1, ("40.01",)),
    ],
)
def test_an_odd_fen_goes_to_the_later_part_and_the_first_instalments(instalments: int, later: tuple[str, ...]) -> None:
    # given a bonus of 80.01: half is 40.005, rounded down to 40.00 now; 40.01 later
    program = _deferred(
        variant({"recharge": {"tiers": [{"amount": "500", "bonus": "80.01", "points": 0}]}}), instalments=instalments
    )
    quote = quote_recharge(program, _yuan("500"))
    assert quote.bonus_now == _yuan("40.00")
    assert tuple(part.yuan() for part in quote.bonus_later) == later


def test_no_deferral_when_there_is_no_bonus() -> None:
    # a 100 recharge is below the default's lowest tier
    quote = quote_recharge(_deferred(), _yuan("100"))
    assert (quote.bonus, quote.bonus_now, quote.bonus_later) == (Money.zero(), Money.zero(), ())


def test_instalments_of_zero_fen_are_left_out() -> None:
    # given a bonus of 0.03: 1 fen now, 2 fen over 5 months → 1, 1, 0, 0, 0
    program = _deferred(variant({"recharge": {"tiers": [{"amount": "1", "bonus": "0.03", "points": 0}]}}))
    quote = quote_recharge(program, _yuan("1"))
    assert (quote.bonus_now, quote.bonus_later) == (_yuan("0.01"), (_yuan("0.01"), _yuan("0.01")))


@pytest.mark.parametrize(("share", "now", "later"), [("1", "80.00", ()), ("0", "0.00", ("16.00",) * 5)])
def test_an_immediate_share_of_1_or_0_credits_all_now_or_all_later(
    share: str, now: str, later: tuple[str, ...]
) -> None:
    quote = quote_recharge(_deferred(share=share), _yuan("500"))
    assert (quote.bonus_now.yuan(), tuple(part.yuan() for part in quote.bonus_later)) == (now, later)


def test_the_deferral_covers_campaign_and_first_recharge_bonus_too() -> None:
    # given 80 (tier) + 50 (campaign) + 150 (first recharge) = 280
    program = _deferred(_first_recharge_program(_campaign_program()))
    context = RechargeContext(store_id="s1", first_recharge=True, campaign=_standing(program))
    quote = quote_recharge(program, _yuan("500"), context)
    assert quote.bonus_now == _yuan("140")
    assert quote.bonus_later == tuple([_yuan("28")] * 5)


@settings(max_examples=150, deadline=None)
@given(
    bonus_fen=st.integers(min_value=1, max_value=10_000_000),
    share_ten_thousandths=st.integers(min_value=0, max_value=10_000),
    instalments=st.integers(min_value=1, max_value=36),
)
def test_the_deferred_split_always_adds_up_to_the_bonus(
    bonus_fen: int, share_ten_thousandths: int, instalments: int
) -> None:
    # given a single tier whose bonus is bonus_fen
    share = f"{share_ten_thousandths // 10_000}.{share_ten_thousandths % 10_000:04d}"
    tier = {"amount": "1", "bonus": Money(bonus_fen).yuan(), "points": 0}
    program = _deferred(variant({"recharge": {"tiers": [tier]}}), share=share, instalments=instalments)
    # when
    quote = quote_recharge(program, _yuan("1"))
    # then not a fen is lost or made up, and the now-part never exceeds the share
    assert quote.bonus_now + sum(quote.bonus_later, Money.zero()) == Money(bonus_fen)
    assert quote.bonus_now.fen == bonus_fen * share_ten_thousandths // 10_000
    assert len(quote.bonus_later) <= instalments
    assert all(part.fen > 0 for part in quote.bonus_later)
    # instalments differ by at most one fen, larger ones first
    fens = [part.fen for part in quote.bonus_later]
    assert fens == sorted(fens, reverse=True)
    assert not fens or fens[0] - fens[-1] <= 1


# ---------------------------------------------------------------- package-only and per-yuan points


def test_package_only_refuses_a_first_recharge_that_is_not_a_package() -> None:
    program = variant({"recharge": {"package_amounts_only": True}}, _first_recharge_program())
    with pytest.raises(DomainError) as refusal:
        quote_recharge(program, _yuan("100"), FIRST)
    assert refusal.value.code == "amount_not_a_package"
    assert refusal.value.detail == {"allowed": ["200.00", "500.00", "1000.00", "2000.00"]}
    # while a listed package gets the tier and the offer
    assert quote_recharge(program, _yuan("200"), FIRST).bonus == _yuan("170")


@pytest.mark.parametrize(
    ("amount", "points"),
    [
        ("0.66", 0),  # 0.99
        ("0.67", 1),  # 1.005
        ("200", 300),
        ("600.99", 901),  # 901.485
        ("1000.01", 1500),  # 1500.015
    ],
)
def test_per_yuan_points_of_1_5_are_rounded_down(amount: str, points: int) -> None:
    program = variant({"recharge": {"points_mode": "per_yuan", "points_per_yuan": "1.5"}})
    assert quote_recharge(program, _yuan(amount)).points == points


def test_per_yuan_points_add_the_campaigns_extra_points() -> None:
    program = variant({"recharge": {"points_mode": "per_yuan", "points_per_yuan": "1.5"}}, _campaign_program())
    quote = quote_recharge(program, _yuan("500"), _with_campaign(program))
    assert (quote.tier_points, quote.campaign_points, quote.points) == (750, 100, 850)
