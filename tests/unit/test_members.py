"""Member rules: mainland mobile numbers, masking, and what each status allows (R-MEM-1, R-MEM-2, R-MEM-4)."""

from __future__ import annotations

import pytest

from dinecard.members.domain import ensure_can_recharge, ensure_can_spend, ensure_open, mask_phone, normalize_phone
from dinecard.shared.errors import DomainError


@pytest.mark.parametrize(
    "text",
    [
        "13812341234",
        "138 1234 1234",
        "138-1234-1234",
        "+8613812341234",
        "+86 138 1234 1234",
        "008613812341234",
        " 13812341234\t",
    ],
)
def test_a_mainland_mobile_number_is_normalized_to_11_digits(text: str) -> None:
    assert normalize_phone(text) == "13812341234"


@pytest.mark.parametrize("text", ["19912341234", "15012341234"])
def test_every_mobile_prefix_from_13_to_19_is_accepted(text: str) -> None:
    assert normalize_phone(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "1381234123",  # ten digits
        "138123412345",  # twelve digits
        "12812341234",  # no mobile numbers start with 12
        "10012341234",
        "23812341234",
        "1381234abcd",
        "phone",
        "",
        "+85213812341234",
        "(138)12341234",
        "13812341234\n0",
    ],
)
def test_anything_but_a_mainland_mobile_number_is_refused(text: str) -> None:
    with pytest.raises(DomainError) as refusal:
        normalize_phone(text)
    assert refusal.value.code == "phone_invalid"


@pytest.mark.parametrize("text", ["１３８１２３４１２３４", "138１２３４1234", "١٣٨١٢٣٤١٢٣٤"])
def test_digits_from_other_scripts_are_refused(text: str) -> None:
    # a phone must come out as ASCII digits: it is hashed for uniqueness and sent to SMS gateways
    with pytest.raises(DomainError) as refusal:
        normalize_phone(text)
    assert refusal.value.code == "phone_invalid"


def test_a_phone_is_masked_to_its_first_three_and_last_four_digits() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("19987654321") == "199****4321"


def test_an_active_member_may_recharge_spend_and_be_changed() -> None:
    ensure_can_recharge("active")
    ensure_can_spend("active", spends_balance_or_points=True)
    ensure_open("active")


@pytest.mark.parametrize("spends", [True, False])
def test_a_closed_member_may_do_nothing(spends: bool) -> None:
    for check in (ensure_can_recharge, ensure_open, lambda status: ensure_can_spend(status, spends)):
        with pytest.raises(DomainError) as refusal:
            check("closed")
        assert refusal.value.code == "member_closed"


def test_a_frozen_member_may_not_recharge() -> None:
    with pytest.raises(DomainError) as refusal:
        ensure_can_recharge("frozen")
    assert refusal.value.code == "member_frozen"


def test_a_frozen_member_may_not_spend_balance_or_points() -> None:
    with pytest.raises(DomainError) as refusal:
        ensure_can_spend("frozen", spends_balance_or_points=True)
    assert refusal.value.code == "member_frozen"


def test_a_frozen_member_may_still_collect_points_on_a_bill_paid_otherwise() -> None:
    ensure_can_spend("frozen", spends_balance_or_points=False)
    ensure_open("frozen")


def test_a_scanned_code_with_non_ascii_digits_is_not_a_member_code() -> None:
    from dinecard.members.domain import split_member_code

    assert split_member_code("812345678901" + "１２３４５６") is None
    assert split_member_code("812345678901123456") == ("812345678901", "123456")
