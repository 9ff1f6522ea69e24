"""Member rules: phone numbers, masking, and what each status allows."""

from __future__ import annotations

import re
from enum import StrEnum

from dinecard.shared import errors
from dinecard.shared.errors import DomainError

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class MemberStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"  # e.g. a lost phone: nothing may be spent, nothing recharged
    CLOSED = "closed"  # balance refunded, card ended


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNDISCLOSED = "undisclosed"


def normalize_phone(text: str) -> str:
    """A mainland mobile number as 11 digits; spaces, dashes and a +86 prefix are tolerated."""
    digits = re.sub(r"[\s\-]", "", text)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if not _MOBILE.match(digits):
        raise DomainError(errors.PHONE_INVALID)
    return digits


def mask_phone(phone: str) -> str:
    """138****1234: enough for the member to recognise, not enough to call."""
    return phone[:3] + "****" + phone[-4:]


def ensure_can_recharge(status: str) -> None:
    if status == MemberStatus.CLOSED:
        raise DomainError(errors.MEMBER_CLOSED)
    if status == MemberStatus.FROZEN:
        raise DomainError(errors.MEMBER_FROZEN)


def ensure_can_spend(status: str, spends_balance_or_points: bool) -> None:
    """A frozen card may still collect points on a bill paid otherwise; it may not spend."""
    if status == MemberStatus.CLOSED:
        raise DomainError(errors.MEMBER_CLOSED)
    if status == MemberStatus.FROZEN and spends_balance_or_points:
        raise DomainError(errors.MEMBER_FROZEN)


def ensure_open(status: str) -> None:
    if status == MemberStatus.CLOSED:
        raise DomainError(errors.MEMBER_CLOSED)
