"""Identifiers that are unique without coordination: ULIDs (time-ordered, random)."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid() -> str:
    """A 26-character ULID: 48 bits of milliseconds then 80 random bits."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        value, index = divmod(value, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_order_no(prefix: str) -> str:
    """An order number: a one-letter kind prefix (R recharge, C checkout, F refund) and a ULID."""
    assert len(prefix) == 1 and prefix.isalpha()
    return prefix + new_ulid()


def luhn_check_digit(digits: str) -> str:
    """The Luhn check digit, so a mistyped card number is caught at the till."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def new_card_no() -> str:
    """A 12-digit card number starting with 8, random body, Luhn check digit."""
    body = "8" + str(int.from_bytes(os.urandom(8), "big") % 10**10).zfill(10)
    return body + luhn_check_digit(body)


def is_valid_card_no(text: str) -> bool:
    return len(text) == 12 and text.isascii() and text.isdigit() and luhn_check_digit(text[:-1]) == text[-1]
