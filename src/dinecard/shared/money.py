"""Money as an integer number of fen; yuan strings only at the edges."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

# ASCII digits only: \d would also accept full-width and other scripts' digits.
_YUAN_PATTERN = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")


class InvalidAmount(ValueError):
    """Text that is not a non-negative yuan amount with at most two decimals."""


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount of Chinese yuan held exactly as integer fen (1 yuan = 100 fen)."""

    fen: int

    def __post_init__(self) -> None:
        # bool is an int subclass; a True amount is always a programmer error.
        assert type(self.fen) is int, f"Money needs int fen, got {type(self.fen).__name__}"

    @classmethod
    def zero(cls) -> Money:
        return cls(0)

    @classmethod
    def parse_yuan(cls, text: str) -> Money:
        """Parse "500", "500.5" or "500.50" into Money; anything else raises InvalidAmount."""
        match = _YUAN_PATTERN.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidAmount(text)
        whole = int(match.group(1))
        decimals = (match.group(2) or ".")[1:].ljust(2, "0")
        return cls(whole * 100 + int(decimals))

    def yuan(self) -> str:
        """The amount as a yuan string with two decimals, e.g. "-12.05"."""
        sign = "-" if self.fen < 0 else ""
        whole, cents = divmod(abs(self.fen), 100)
        return f"{sign}{whole}.{cents:02d}"

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __bool__(self) -> bool:
        return self.fen != 0

    def times_half_up(self, rate: Fraction) -> Money:
        """This amount times a non-negative rate, rounded half up to the fen (used for discounts)."""
        assert rate >= 0 and self.fen >= 0
        exact = self.fen * rate
        return Money(int(exact.numerator * 2 + exact.denominator) // (2 * exact.denominator))

    def __str__(self) -> str:
        return self.yuan()

    def __repr__(self) -> str:
        return f"Money({self.yuan()})"


def min_money(a: Money, b: Money) -> Money:
    return a if a <= b else b
