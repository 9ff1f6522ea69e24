"""Identifiers: ULIDs, order numbers, and card numbers with a Luhn check digit."""

from __future__ import annotations

import time

import pytest

from dinecard.shared.ids import is_valid_card_no, luhn_check_digit, new_card_no, new_order_no, new_ulid

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid_milliseconds(ulid: str) -> int:
    value = 0
    for char in ulid[:10]:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_a_ulid_is_26_crockford_base32_characters() -> None:
    ulid = new_ulid()
    assert len(ulid) == 26
    assert set(ulid) <= set(CROCKFORD)


def test_ulids_are_unique_over_10000() -> None:
    assert len({new_ulid() for _ in range(10_000)}) == 10_000


def test_a_ulid_starts_with_the_current_unix_milliseconds() -> None:
    before_ms = int(time.time() * 1000)
    ulid = new_ulid()
    after_ms = int(time.time() * 1000)
    assert before_ms <= _ulid_milliseconds(ulid) <= after_ms


def test_ulids_from_different_milliseconds_sort_by_time() -> None:
    earlier = new_ulid()
    time.sleep(0.003)
    later = new_ulid()
    assert _ulid_milliseconds(earlier) < _ulid_milliseconds(later)
    assert earlier < later


@pytest.mark.parametrize("prefix", ["R", "C", "F"])
def test_an_order_number_is_its_kind_letter_and_a_ulid(prefix: str) -> None:
    order_no = new_order_no(prefix)
    assert len(order_no) == 27
    assert order_no[0] == prefix
    assert set(order_no[1:]) <= set(CROCKFORD)


@pytest.mark.parametrize("prefix", ["", "RC", "1"])
def test_an_order_number_prefix_must_be_one_letter(prefix: str) -> None:
    with pytest.raises(AssertionError):
        new_order_no(prefix)


@pytest.mark.parametrize(
    ("payload", "check_digit"),
    [
        ("7992739871", "3"),  # the textbook example 79927398713
        ("0", "0"),
        ("1", "8"),
        ("80000000000", "3"),  # 8 doubled is 16, digit sum 7
        ("4111111111111111"[:-1], "1"),  # a well-known test card number
    ],
)
def test_the_luhn_check_digit_matches_known_numbers(payload: str, check_digit: str) -> None:
    assert luhn_check_digit(payload) == check_digit


def test_a_card_number_is_12_digits_starting_with_8_and_luhn_valid() -> None:
    for _ in range(1000):
        card_no = new_card_no()
        assert len(card_no) == 12
        assert card_no.isascii() and card_no.isdigit()
        assert card_no[0] == "8"
        assert luhn_check_digit(card_no[:-1]) == card_no[-1]
        assert is_valid_card_no(card_no)


def test_card_numbers_are_random() -> None:
    assert len({new_card_no() for _ in range(1000)}) > 990


def test_any_single_changed_digit_makes_a_card_number_invalid() -> None:
    # given
    card_no = "800000000003"
    assert is_valid_card_no(card_no)
    # then every one-digit typo is caught
    for position in range(12):
        for digit in "0123456789":
            if digit != card_no[position]:
                typo = card_no[:position] + digit + card_no[position + 1 :]
                assert not is_valid_card_no(typo), typo


def test_swapping_two_adjacent_different_digits_is_caught() -> None:
    assert is_valid_card_no("812345678906")
    assert not is_valid_card_no("821345678906")


@pytest.mark.parametrize("text", ["", "80000000003", "8000000000030", "80000000000a", "8000 0000003", "-80000000003"])
def test_a_card_number_of_the_wrong_shape_is_invalid(text: str) -> None:
    assert not is_valid_card_no(text)


@pytest.mark.parametrize("text", ["8²0000000000", "8００００００００００3", "８00000000003"])
def test_a_card_number_with_non_ascii_digits_is_invalid_and_never_raises(text: str) -> None:
    assert is_valid_card_no(text) is False
