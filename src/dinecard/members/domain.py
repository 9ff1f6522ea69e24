"""Member rules: phone numbers, masking, and what each status allows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from datetime import datetime
from enum import StrEnum

from dinecard.shared import errors
from dinecard.shared.errors import DomainError

# ASCII digits only, so one phone has one spelling (and one blind index).
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


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


# ---------------------------------------------------------------- member code (R-MEM-5)

MEMBER_CODE_STEP_SECONDS = 60
MEMBER_CODE_LENGTH = 18  # 12-digit card number + 6-digit time-based password


def _totp(secret_base32: str, counter: int) -> str:
    """RFC 6238 time-based one-time password, 6 digits, HMAC-SHA1 (what authenticator apps use)."""
    key = base64.b32decode(secret_base32)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def member_code(card_no: str, secret_base32: str, moment: datetime) -> tuple[str, datetime]:
    """The code the member shows at the till now, and when it stops being accepted."""
    counter = int(moment.timestamp()) // MEMBER_CODE_STEP_SECONDS
    valid_until = datetime.fromtimestamp((counter + 2) * MEMBER_CODE_STEP_SECONDS, tz=moment.tzinfo)
    return card_no + _totp(secret_base32, counter), valid_until


def split_member_code(code: str) -> tuple[str, str] | None:
    """(card number, one-time part) of a scanned code, or None if it cannot be one."""
    code = code.strip()
    if len(code) != MEMBER_CODE_LENGTH or not (code.isascii() and code.isdigit()):
        return None
    return code[:12], code[12:]


def member_code_is_fresh(one_time_part: str, secret_base32: str, moment: datetime) -> bool:
    """A code is accepted in its own minute and the next one (a slow scanner), never later."""
    counter = int(moment.timestamp()) // MEMBER_CODE_STEP_SECONDS
    return any(hmac.compare_digest(one_time_part, _totp(secret_base32, step)) for step in (counter, counter - 1))
