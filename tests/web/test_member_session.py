"""The member page's login on the server: an expired login sends every member page to the member
login (never a 401 or a 500), and logging out ends the login itself, so a copy of the cookie kept
from before is refused; another phone's login of the same member is not touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dinecard.members import sessions
from dinecard.members.service import RegisterMember, register_member
from dinecard.members.sessions import MemberSession
from dinecard.platform.container import Container
from dinecard.platform.outbox import OutboxMessage
from dinecard.shared.clock import FixedClock
from dinecard.stores.service import create_store
from dinecard.web.member_session import SESSION_LIFETIME, issue_token

PHONE = "13812340021"
COOKIE = "dinecard_member"


@pytest.fixture
def other_phone(browser: Any, live_server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _member(container: Container) -> str:
    with container.database.write() as uow:
        store_id = create_store(uow, "MS01", "人民广场店", container.clock.now()).id
        return register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone=PHONE, name="李雷", store_id=store_id),
            container.clock.now(),
        )


def _log_in(page: Any, container: Container, member_id: str) -> None:
    page.goto("/me/login")
    page.get_by_label("手机号").fill(PHONE)
    page.get_by_role("button", name="获取验证码").click()
    with container.database.read() as session:
        payloads = session.execute(
            select(OutboxMessage.payload)
            .where(OutboxMessage.topic == "member_login_code", OutboxMessage.member_id == member_id)
            .order_by(OutboxMessage.id)
        ).scalars()
        code = list(payloads)[-1]["code"]
    page.get_by_label("验证码（6 位数字）").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()
    page.wait_for_url("**/me")


def _other_login(page: Any, container: Container, member_id: str, live_server: str) -> None:
    """The member's second phone, logged in a while ago (codes are sent at most once a minute)."""
    now = container.clock.now()
    with container.database.write() as uow:
        session_id = sessions.open_session(uow, member_id, now, SESSION_LIFETIME).id
    token = issue_token(container, member_id, now, session_id)
    page.context.add_cookies([{"name": COOKIE, "value": token, "url": live_server + "/me"}])


def test_an_expired_login_is_sent_to_the_member_login(
    page: Any, container: Container, clock: FixedClock, live_server: str
) -> None:
    member_id = _member(container)
    _log_in(page, container, member_id)
    page.goto("/me/code")
    assert page.url.endswith("/me/code")

    kept = next(c for c in page.context.cookies() if c["name"] == COOKIE)

    clock.advance(SESSION_LIFETIME + timedelta(minutes=1))
    for path in ("/me", "/me/code", "/me/history?kind=points"):
        page.context.add_cookies([kept])
        response = page.goto(path)
        assert response.status == 200, path  # the login page, after the redirect: no 401, no 500
        assert page.url.endswith("/me/login?expired=1"), path
        assert page.get_by_role("status").inner_text() == "登录已过期或已退出，请重新登录"
    assert COOKIE not in {c["name"] for c in page.context.cookies()}  # the dead cookie is dropped
    answer = page.request.get("/me/code", max_redirects=0)
    assert answer.status == 303 and answer.headers["location"] == "/me/login"


def test_logging_out_revokes_the_login_on_the_server(
    page: Any, other_phone: Any, container: Container, live_server: str
) -> None:
    member_id = _member(container)
    _log_in(page, container, member_id)
    _other_login(other_phone, container, member_id, live_server)
    kept = next(c for c in page.context.cookies() if c["name"] == COOKIE)

    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/me/login")
    with container.database.read() as session:
        rows = session.execute(select(MemberSession).where(MemberSession.member_id == member_id)).scalars().all()
        assert sorted(row.revoked_at is None for row in rows) == [False, True]  # this login ended, the other not

    # The cookie from before the logout, sent again: refused, back to the login.
    page.context.add_cookies([kept])
    page.goto("/me")
    assert page.url.endswith("/me/login?expired=1")
    page.context.add_cookies([kept])
    assert page.request.get("/me/code.json").status == 401
    # The member's other phone is still logged in.
    other_phone.goto("/me")
    assert other_phone.url.endswith("/me")
    assert other_phone.get_by_role("heading", name="您好，李雷").is_visible()
