"""The member page's one-time login code: hashed, bound to the member, 5 minutes, 5 tries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dinecard.members.logins import (
    CODE_LIFETIME,
    TRIES_MAX,
    CodeCheck,
    CodeState,
    hash_code,
    judge,
    new_code,
    tries_left,
)

SECRET = b"k" * 32
NOW = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def _state(code: str = "123456", member_id: str = "M1", failed: int = 0, used: bool = False) -> CodeState:
    return CodeState(hash_code(SECRET, member_id, code), NOW + CODE_LIFETIME, failed, used)


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_code() for _ in range(50)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert len(codes) > 40


def test_the_hash_hides_the_code_and_binds_it_to_the_member_and_the_secret() -> None:
    stored = hash_code(SECRET, "M1", "123456")
    assert "123456" not in stored and len(stored) == 64
    assert stored != hash_code(SECRET, "M2", "123456")
    assert stored != hash_code(b"other secret", "M1", "123456")


def test_the_right_code_is_accepted_within_five_minutes() -> None:
    assert judge(_state(), SECRET, "M1", "123456", NOW) is CodeCheck.ACCEPTED
    assert judge(_state(), SECRET, "M1", " 123456 ", NOW + timedelta(minutes=4, seconds=59)) is CodeCheck.ACCEPTED


def test_a_wrong_or_malformed_code_is_wrong() -> None:
    assert judge(_state(), SECRET, "M1", "654321", NOW) is CodeCheck.WRONG
    assert judge(_state(), SECRET, "M1", "12345", NOW) is CodeCheck.WRONG
    assert judge(_state(), SECRET, "M1", "１２３４５６", NOW) is CodeCheck.WRONG  # full-width digits
    assert judge(_state(member_id="M2"), SECRET, "M1", "123456", NOW) is CodeCheck.WRONG


def test_an_old_used_or_missing_code_is_expired() -> None:
    assert judge(_state(), SECRET, "M1", "123456", NOW + CODE_LIFETIME) is CodeCheck.EXPIRED
    assert judge(_state(used=True), SECRET, "M1", "123456", NOW) is CodeCheck.EXPIRED
    assert judge(None, SECRET, "M1", "123456", NOW) is CodeCheck.EXPIRED


def test_after_five_wrong_tries_even_the_right_code_is_locked() -> None:
    assert judge(_state(failed=TRIES_MAX - 1), SECRET, "M1", "123456", NOW) is CodeCheck.ACCEPTED
    assert judge(_state(failed=TRIES_MAX), SECRET, "M1", "123456", NOW) is CodeCheck.LOCKED
    assert tries_left(0) == 5 and tries_left(4) == 1 and tries_left(7) == 0
