"""The member page's session token: signed, bound to its purpose, judged on the app's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt

from dinecard.web.member_session import SESSION_LIFETIME, issue_token, member_of_token

NOW = datetime(2027, 3, 2, 4, 0, tzinfo=UTC)  # later than the wall clock may be: the app's clock rules
APP: Any = SimpleNamespace(token_secret=b"s" * 32)
OTHER_APP: Any = SimpleNamespace(token_secret=b"o" * 32)


def test_a_token_names_its_member_for_thirty_days() -> None:
    token = issue_token(APP, "M1", NOW)
    assert member_of_token(APP, token, NOW) == "M1"
    assert member_of_token(APP, token, NOW + SESSION_LIFETIME - timedelta(seconds=1)) == "M1"
    assert member_of_token(APP, token, NOW + SESSION_LIFETIME) is None


def test_a_forged_or_foreign_token_is_refused() -> None:
    token = issue_token(APP, "M1", NOW)
    assert member_of_token(OTHER_APP, token, NOW) is None
    assert member_of_token(APP, token[:-2] + "xx", NOW) is None
    # Signed with the raw staff secret (not the member-page key): refused.
    staff_like = jwt.encode({"sub": "M1", "aud": "dinecard-member", "exp": 2_000_000_000}, APP.token_secret)
    assert member_of_token(APP, staff_like, NOW) is None
    assert member_of_token(APP, "not a token", NOW) is None
