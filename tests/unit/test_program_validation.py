"""The programme document is validated like an HQ edit: every refusal says where and why."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from dinecard.program.domain import Program
from dinecard.program.presets import PRESETS, default_program, preset

NOVEMBER = {"starts_at": "2026-11-01T00:00:00+08:00", "ends_at": "2026-12-01T00:00:00+08:00"}
DECEMBER = {"starts_at": "2026-12-01T00:00:00+08:00", "ends_at": "2027-01-01T00:00:00+08:00"}


def _document() -> dict[str, Any]:
    """A fresh, mutable copy of the default programme document."""
    return copy.deepcopy(default_program().model_dump(mode="json"))


def _campaign(code: str, window: dict[str, str], stores: list[str] | None = None) -> dict[str, Any]:
    return {"code": code, "name": code, "min_amount": "500", "extra_bonus": "50", "stores": stores, **window}


def _refusal(document: dict[str, Any]) -> tuple[str, str]:
    """The single error's location (dotted) and message; also checks both appear in the text shown."""
    with pytest.raises(ValidationError) as refusal:
        Program.model_validate(document)
    errors = refusal.value.errors()
    assert len(errors) == 1, errors
    where = ".".join(str(part) for part in errors[0]["loc"])
    why = errors[0]["msg"]
    assert why in str(refusal.value)
    if where:
        assert where in str(refusal.value)
    return where, why


# ---------------------------------------------------------------- presets


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_validates(name: str) -> None:
    program = Program.model_validate(PRESETS[name])
    assert program.name == name
    assert program.entry_level.min_recharge is None and program.entry_level.min_consume is None


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Hong_Kong", "UTC", "America/New_York"])
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_validates_in_any_known_time_zone(name: str, zone: str) -> None:
    assert preset(name, zone).business_timezone == zone


def test_the_default_document_round_trips_through_its_json_form() -> None:
    assert Program.model_validate(_document()) == default_program()


# ---------------------------------------------------------------- recharge tiers


@pytest.mark.parametrize("second_amount", ["200", "199.99", "100"])
def test_tiers_that_do_not_strictly_increase_are_refused(second_amount: str) -> None:
    # given the 500 tier moved to the lowest tier's amount or below
    document = _document()
    document["recharge"]["tiers"][1]["amount"] = second_amount
    # then
    assert _refusal(document) == ("recharge.tiers", "Value error, tier amounts must strictly increase")


def test_tiers_one_fen_apart_are_accepted() -> None:
    document = _document()
    document["recharge"]["tiers"][1]["amount"] = "200.01"
    assert Program.model_validate(document).tiers[1].amount.fen == 20001


def test_a_tier_of_zero_yuan_is_refused() -> None:
    document = _document()
    document["recharge"]["tiers"][0]["amount"] = "0"
    assert _refusal(document) == ("recharge.tiers", "Value error, tier amounts must be positive")


# ---------------------------------------------------------------- multipliers and rates


@pytest.mark.parametrize("value", ["0.9999", "0.5", "0"])
def test_a_points_multiplier_below_1_is_refused(value: str) -> None:
    document = _document()
    document["points"]["multipliers"][0]["multiplier"] = value
    assert _refusal(document) == ("points.multipliers.0.multiplier", "Input should be greater than or equal to 1")


def test_a_level_multiplier_below_1_is_refused() -> None:
    document = _document()
    document["levels"][2]["multiplier"] = "0.99"
    assert _refusal(document) == ("levels.2.multiplier", "Input should be greater than or equal to 1")


def test_a_multiplier_of_exactly_1_is_accepted() -> None:
    document = _document()
    document["points"]["multipliers"][0]["multiplier"] = "1"
    assert Program.model_validate(document).points.multipliers[0].multiplier == 1


@pytest.mark.parametrize("value", ["1.01", "1.0001", "2"])
def test_a_level_discount_rate_above_1_is_refused(value: str) -> None:
    document = _document()
    document["levels"][1]["discount"] = value
    assert _refusal(document) == ("levels.1.discount", "Input should be less than or equal to 1")


def test_a_dish_discount_rate_above_1_is_refused() -> None:
    document = copy.deepcopy(PRESETS["hotpot"])
    document["member_day"] = {"dish_discounts": [{"dish_ids": ["soup_spicy"], "rate": "1.5"}]}
    assert _refusal(document) == ("member_day.dish_discounts.0.rate", "Input should be less than or equal to 1")


@pytest.mark.parametrize("value", ["1", "0"])
def test_discount_rates_of_1_and_0_are_accepted(value: str) -> None:
    document = _document()
    document["levels"][1]["discount"] = value
    assert str(Program.model_validate(document).levels[1].discount) == value


# ---------------------------------------------------------------- recharge campaigns


def test_overlapping_campaigns_in_every_store_are_refused() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [
        _campaign("nov", NOVEMBER),
        _campaign("late_nov", {"starts_at": "2026-11-30T23:59:59+08:00", "ends_at": "2026-12-15T00:00:00+08:00"}),
    ]
    where, why = _refusal(document)
    assert where == "recharge"
    assert "campaigns 'nov' and 'late_nov' overlap in time and stores" in why


def test_campaigns_overlapping_in_a_shared_pilot_store_are_refused() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [
        _campaign("a", NOVEMBER, stores=["s1", "s2"]),
        _campaign("b", NOVEMBER, stores=["s2", "s3"]),
    ]
    where, why = _refusal(document)
    assert (where, "campaigns 'a' and 'b' overlap" in why) == ("recharge", True)


def test_a_campaign_for_every_store_overlaps_a_pilot_store_campaign() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [_campaign("pilot", NOVEMBER, stores=["s1"]), _campaign("all", NOVEMBER)]
    where, why = _refusal(document)
    assert where == "recharge" and "'pilot' and 'all'" in why


def test_back_to_back_campaigns_are_accepted_because_ends_at_is_exclusive() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [_campaign("nov", NOVEMBER), _campaign("dec", DECEMBER)]
    program = Program.model_validate(document)
    assert [campaign.code for campaign in program.recharge.campaigns] == ["nov", "dec"]


def test_overlap_is_judged_on_instants_not_on_written_offsets() -> None:
    # given "dec" starts at 2026-11-30T16:00Z, the very instant "nov" ends, written in UTC
    document = _document()
    document["recharge"]["campaigns"] = [
        _campaign("nov", NOVEMBER),
        _campaign("dec", {"starts_at": "2026-11-30T16:00:00+00:00", "ends_at": "2026-12-31T16:00:00+00:00"}),
    ]
    assert len(Program.model_validate(document).recharge.campaigns) == 2
    # and one second earlier they overlap
    document["recharge"]["campaigns"][1]["starts_at"] = "2026-11-30T15:59:59+00:00"
    assert _refusal(document)[0] == "recharge"


def test_overlapping_campaigns_in_disjoint_store_sets_are_accepted() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [
        _campaign("north", NOVEMBER, stores=["s1", "s2"]),
        _campaign("south", NOVEMBER, stores=["s3"]),
    ]
    program = Program.model_validate(document)
    assert [campaign.stores for campaign in program.recharge.campaigns] == [
        frozenset({"s1", "s2"}),
        frozenset({"s3"}),
    ]


def test_duplicate_campaign_codes_are_refused_even_when_they_do_not_overlap() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [_campaign("winter", NOVEMBER), _campaign("winter", DECEMBER)]
    assert _refusal(document) == ("recharge", "Value error, campaign codes must be unique")


@pytest.mark.parametrize(
    "ends_at",
    ["2026-10-31T23:59:59+08:00", "2026-11-01T00:00:00+08:00", "2026-10-31T16:00:00+00:00"],
)
def test_a_campaign_ending_at_or_before_its_start_is_refused(ends_at: str) -> None:
    document = _document()
    document["recharge"]["campaigns"] = [_campaign("nov", {**NOVEMBER, "ends_at": ends_at})]
    assert _refusal(document) == ("recharge.campaigns.0", "Value error, ends_at must be after starts_at")


def test_a_campaign_of_one_second_is_accepted() -> None:
    document = _document()
    document["recharge"]["campaigns"] = [_campaign("flash", {**NOVEMBER, "ends_at": "2026-11-01T00:00:01+08:00"})]
    assert len(Program.model_validate(document).recharge.campaigns) == 1


@pytest.mark.parametrize("field", ["starts_at", "ends_at"])
def test_a_datetime_without_an_offset_is_refused(field: str) -> None:
    document = _document()
    campaign = _campaign("nov", NOVEMBER)
    campaign[field] = campaign[field].removesuffix("+08:00")
    document["recharge"]["campaigns"] = [campaign]
    where, why = _refusal(document)
    assert where == f"recharge.campaigns.0.{field}"
    assert "give a time zone offset" in why


def test_a_window_multiplier_with_a_naive_start_is_refused() -> None:
    document = _document()
    document["points"]["multipliers"] = [
        {"code": "w", "kind": "window", "multiplier": "2", "starts_at": "2026-12-01T00:00:00", "ends_at": None}
    ]
    where, why = _refusal(document)
    assert where == "points.multipliers.0.starts_at" and "give a time zone offset" in why


def test_a_campaign_without_an_end_is_refused() -> None:
    document = _document()
    campaign = _campaign("nov", NOVEMBER)
    del campaign["ends_at"]
    document["recharge"]["campaigns"] = [campaign]
    assert _refusal(document) == ("recharge.campaigns.0.ends_at", "Field required")


# ---------------------------------------------------------------- time zone


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Asia/Beijing", "", "+08:00"])
def test_an_unknown_time_zone_is_refused(zone: str) -> None:
    document = _document()
    document["business_timezone"] = zone
    assert _refusal(document) == ("business_timezone", f"Value error, unknown time zone {zone!r}")


# ---------------------------------------------------------------- levels


@pytest.mark.parametrize(("field", "value"), [("min_recharge", "0"), ("min_recharge", "100"), ("min_consume", "1")])
def test_the_first_level_may_not_have_a_threshold(field: str, value: str) -> None:
    document = _document()
    document["levels"][0][field] = value
    assert _refusal(document) == ("levels", "Value error, the first level is the entry level: it has no threshold")


@pytest.mark.parametrize("gold_threshold", ["500", "499.99", "100"])
def test_level_recharge_thresholds_must_increase(gold_threshold: str) -> None:
    document = _document()
    document["levels"][2]["min_recharge"] = gold_threshold
    assert _refusal(document) == (
        "levels",
        "Value error, level 'gold': min_recharge must be higher than the level below",
    )


def test_level_consumption_thresholds_must_increase_over_the_levels_that_have_one() -> None:
    # given silver and diamond have consumption paths, gold has none: diamond must beat silver
    document = _document()
    document["levels"][1]["min_consume"] = "3000"
    document["levels"][3]["min_consume"] = "3000"
    assert _refusal(document) == (
        "levels",
        "Value error, level 'diamond': min_consume must be higher than the level below",
    )
    document["levels"][3]["min_consume"] = "3000.01"
    assert Program.model_validate(document).levels[3].min_consume is not None


def test_a_level_without_any_threshold_is_refused() -> None:
    document = _document()
    document["levels"][2]["min_recharge"] = None
    assert _refusal(document) == ("levels", "Value error, level 'gold' needs min_recharge or min_consume")


def test_a_level_reached_by_consumption_only_is_accepted() -> None:
    document = _document()
    document["levels"][2]["min_recharge"] = None
    document["levels"][2]["min_consume"] = "3000"
    assert Program.model_validate(document).level("gold").min_consume is not None


def test_no_levels_at_all_is_refused() -> None:
    document = _document()
    document["levels"] = []
    assert _refusal(document) == ("levels", "Value error, at least one level (the entry level) is needed")


def test_duplicate_level_codes_are_refused() -> None:
    document = _document()
    document["levels"][2]["code"] = "silver"
    assert _refusal(document) == ("levels", "Value error, level codes must be unique")


# ---------------------------------------------------------------- earn multipliers


def test_a_new_member_multiplier_needs_days() -> None:
    document = _document()
    document["points"]["multipliers"] = [{"code": "welcome", "kind": "new_member", "multiplier": "2"}]
    assert _refusal(document) == ("points.multipliers.0", "Value error, a new_member multiplier needs days")


def test_a_new_member_multiplier_with_days_is_accepted() -> None:
    document = _document()
    document["points"]["multipliers"] = [{"code": "welcome", "kind": "new_member", "multiplier": "2", "days": 7}]
    assert Program.model_validate(document).points.multipliers[0].days == 7


@pytest.mark.parametrize(
    "window",
    [{}, {"starts_at": "2026-12-01T00:00:00+08:00"}, {"ends_at": "2026-12-08T00:00:00+08:00"}],
)
def test_a_window_multiplier_needs_both_ends_of_its_window(window: dict[str, str]) -> None:
    document = _document()
    document["points"]["multipliers"] = [{"code": "week", "kind": "window", "multiplier": "3", **window}]
    assert _refusal(document) == (
        "points.multipliers.0",
        "Value error, a window multiplier needs starts_at and ends_at",
    )


def test_a_member_day_multiplier_needs_the_member_day_section() -> None:
    document = _document()
    document["points"]["multipliers"] = [{"code": "md", "kind": "member_day", "multiplier": "2"}]
    assert document["member_day"] is None
    assert _refusal(document) == ("", "Value error, a member_day multiplier needs the member_day section")
    # and with the section it is accepted
    document["member_day"] = {"day_of_month": 18}
    assert Program.model_validate(document).member_day is not None


# ---------------------------------------------------------------- unknown fields


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ((), "colour"),
        (("recharge",), "max_per_day"),
        (("recharge", "tiers", 0), "bonus_points"),
        (("points",), "earn_rate"),
        (("levels", 1), "discount_rate"),
        (("level_policy",), "downgrade_months"),
    ],
)
def test_unknown_fields_are_refused_where_they_appear(path: tuple[str | int, ...], field: str) -> None:
    # a typo must not be silently ignored: the rule the editor meant would not apply
    document = _document()
    target: Any = document
    for part in path:
        target = target[part]
    target[field] = "1"
    where, why = _refusal(document)
    assert where == ".".join(str(part) for part in (*path, field))
    assert why == "Extra inputs are not permitted"
