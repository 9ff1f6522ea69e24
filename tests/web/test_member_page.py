"""The member's own page (会员中心): log in with a one-time code, see balance, points, level
progress and history, and show the rotating member code that the till accepts only while fresh."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from dinecard.members import service as members
from dinecard.members.logins import MemberLoginCode
from dinecard.platform.container import Container
from dinecard.platform.outbox import OutboxMessage
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from dinecard.stores.service import create_store
from tests.conftest import make_token
from tests.web.conftest import screenshot

API = "/api/v1"
PHONE = "13812345678"
PHONE_VIEW = {"width": 390, "height": 844}


def _api(container: Container, live_server: str) -> tuple[httpx.Client, str]:
    """A cashier's API client on the live server, and the cashier's store."""
    with container.database.write() as uow:
        store_id = create_store(uow, "M001", "人民广场店", container.clock.now()).id
    token = make_token(container, Role.CASHIER, store_id)
    return httpx.Client(base_url=live_server + API, headers={"Authorization": f"Bearer {token}"}), store_id


def _register(api: httpx.Client, phone: str = PHONE, name: str = "李雷") -> str:
    response = api.post("/members", json={"phone": phone, "name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _codes_sent(container: Container, member_id: str | None = None) -> list[dict[str, Any]]:
    with container.database.read() as session:
        statement = select(OutboxMessage.payload).where(OutboxMessage.topic == "member_login_code")
        if member_id is not None:
            statement = statement.where(OutboxMessage.member_id == member_id)
        return [dict(row) for row in session.execute(statement.order_by(OutboxMessage.id)).scalars()]


def _ask_for_code(page: Any, phone: str = PHONE) -> None:
    page.goto("/me/login")
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").click()


def _type_code(page: Any, code: str) -> None:
    page.get_by_label("验证码（6 位数字）").fill(code)
    page.get_by_role("button", name="登录", exact=True).click()


def _log_in(page: Any, container: Container, member_id: str, phone: str = PHONE) -> None:
    _ask_for_code(page, phone)
    _type_code(page, _codes_sent(container, member_id)[-1]["code"])
    assert page.url.endswith("/me")


def test_a_member_logs_in_with_a_code_and_sees_the_recharge(page: Any, container: Container, live_server: str) -> None:
    api, store_id = _api(container, live_server)
    member_id = _register(api)
    recharged = api.post(
        f"/members/{member_id}/recharges", json={"amount": "200", "payment_method": "wechat", "store_id": store_id}
    )
    assert recharged.status_code == 201, recharged.text
    page.set_viewport_size(PHONE_VIEW)

    page.goto("/me")
    assert page.url.endswith("/me/login")
    phone_field = page.get_by_label("手机号")
    assert phone_field.get_attribute("inputmode") == "numeric"
    _ask_for_code(page)
    assert page.get_by_role("status").inner_text().startswith("如果该手机号已注册会员")
    sent = _codes_sent(container, member_id)
    assert len(sent) == 1 and len(sent[0]["code"]) == 6
    with container.database.read() as session:  # only a hash is kept
        stored = session.get(MemberLoginCode, member_id)
        assert stored is not None and sent[0]["code"] not in stored.code_hash
    _type_code(page, sent[0]["code"])

    assert page.url.endswith("/me")
    cookie = next(c for c in page.context.cookies() if c["name"] == "dinecard_member")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.get_by_role("heading", name="您好，李雷").is_visible()
    assert page.get_by_test_id("principal").inner_text() == "¥200.00"
    assert page.get_by_test_id("bonus").inner_text() == "¥20.00"
    assert page.get_by_test_id("points").inner_text() == "100"
    # Silver asks for 500 yuan of recharge; 200 are in: 300 to go.
    assert page.get_by_test_id("level-progress").inner_text().strip() == "再充值 ¥300.00 升级银卡会员"
    assert "充值" in page.get_by_test_id("money-history").inner_text()
    assert "+100" in page.get_by_test_id("points-history").inner_text()
    screenshot(page, "member-home")

    page.get_by_role("button", name="退出登录").click()
    assert page.url.endswith("/me/login")
    page.goto("/me")
    assert page.url.endswith("/me/login")


def test_the_page_shows_a_later_recharge_and_the_next_level(page: Any, container: Container, live_server: str) -> None:
    api, store_id = _api(container, live_server)
    member_id = _register(api)
    _log_in(page, container, member_id)
    assert page.get_by_test_id("principal").inner_text() == "¥0.00"

    body = {"amount": "700", "payment_method": "cash", "store_id": store_id}
    assert api.post(f"/members/{member_id}/recharges", json=body).status_code == 201
    page.reload()

    assert page.get_by_test_id("principal").inner_text() == "¥700.00"
    assert page.locator(".me-level").inner_text() == "银卡会员"
    assert page.get_by_test_id("level-progress").inner_text().strip() == "再充值 ¥300.00 升级金卡会员"


def test_five_wrong_codes_lock_the_code(page: Any, container: Container, live_server: str) -> None:
    api, _store = _api(container, live_server)
    member_id = _register(api)
    _ask_for_code(page)
    right = _codes_sent(container, member_id)[-1]["code"]
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    for _ in range(4):
        _type_code(page, wrong)
        assert page.get_by_role("alert").inner_text() == "验证码不正确，请重试（最多 5 次）"
    _type_code(page, wrong)
    assert page.get_by_role("alert").inner_text() == "错误次数过多，请重新获取验证码"
    _type_code(page, right)
    assert page.get_by_role("alert").inner_text() == "错误次数过多，请重新获取验证码"
    assert "dinecard_member" not in {c["name"] for c in page.context.cookies()}


def test_an_expired_code_is_refused(page: Any, container: Container, clock: FixedClock, live_server: str) -> None:
    api, _store = _api(container, live_server)
    member_id = _register(api)
    _ask_for_code(page)
    code = _codes_sent(container, member_id)[-1]["code"]

    clock.advance(timedelta(minutes=6))
    _type_code(page, code)

    assert page.get_by_role("alert").inner_text() == "验证码已失效，请重新获取"
    assert page.url.endswith("/me/login/verify")


def test_an_unknown_phone_gets_the_same_screen(page: Any, container: Container, live_server: str) -> None:
    api, _store = _api(container, live_server)
    _register(api)
    _ask_for_code(page)
    known = page.locator("main").inner_text()

    _ask_for_code(page, "13900001111")

    assert page.locator("main").inner_text() == known
    assert len(_codes_sent(container)) == 1  # nothing sent for the stranger
    _type_code(page, "123456")
    assert page.get_by_role("alert").inner_text() == "验证码不正确，请重试（最多 5 次）"


def test_codes_are_asked_for_at_most_once_a_minute(page: Any, container: Container, live_server: str) -> None:
    api, _store = _api(container, live_server)
    member_id = _register(api)
    _ask_for_code(page)
    _ask_for_code(page)

    assert page.get_by_role("alert").inner_text() == "获取验证码太频繁，请 60 秒后再试"
    assert len(_codes_sent(container, member_id)) == 1
    with container.database.read() as session:
        assert session.execute(select(func.count()).select_from(MemberLoginCode)).scalar_one() == 1


def test_the_member_code_rotates_and_an_old_one_is_refused_at_the_till(
    page: Any, container: Container, clock: FixedClock, live_server: str
) -> None:
    api, _store = _api(container, live_server)
    member_id = _register(api)
    page.set_viewport_size(PHONE_VIEW)
    _log_in(page, container, member_id)
    page.clock.install()  # the page's timers run when the test says so

    page.get_by_role("link", name="出示会员码").click()
    digits = page.locator("#member-code-digits")
    first = digits.get_attribute("data-code")
    first_svg = page.locator("#member-qr svg").inner_html()
    with container.database.read() as session:
        assert first == members.current_member_code(session, member_id, clock.now())[0]
    assert len(first or "") == 18
    assert api.get("/members", params={"member_code": first}).json()["id"] == member_id
    assert page.locator("#member-code-countdown").inner_text() == "60 秒后自动刷新"
    screenshot(page, "member-code")

    clock.advance(timedelta(seconds=60))
    page.clock.run_for(61_000)  # the page fetches the next code by itself
    page.wait_for_function(f"document.getElementById('member-code-digits').dataset.code !== '{first}'")

    second = digits.get_attribute("data-code")
    assert second != first and second is not None and second[:12] == first[:12]  # type: ignore[index]
    assert page.locator("#member-qr svg").inner_html() != first_svg
    assert digits.inner_text().replace(" ", "") == second

    clock.advance(timedelta(minutes=2))  # the first code was made 3 minutes ago
    refused = api.get("/members", params={"member_code": first})
    assert refused.status_code == 409 and refused.json()["code"] == "member_code_expired"
    page.get_by_role("button", name="立即刷新").click()
    page.wait_for_function(f"document.getElementById('member-code-digits').dataset.code !== '{second}'")
    fresh = digits.get_attribute("data-code")
    assert api.get("/members", params={"member_code": fresh}).json()["id"] == member_id


def test_coupons_points_expiring_soon_and_english(
    page: Any, container: Container, clock: FixedClock, live_server: str
) -> None:
    api, store_id = _api(container, live_server)
    hq = httpx.Client(base_url=live_server + API, headers={"Authorization": f"Bearer {make_token(container)}"})
    member_id = _register(api)
    body = {"amount": "200", "payment_method": "wechat", "store_id": store_id}
    assert api.post(f"/members/{member_id}/recharges", json=body).status_code == 201  # 100 points, to March 2027
    template = {"code": "MJ60-10", "name": "满60减10", "kind": "threshold_cash", "value": "10.00", "threshold": "60.00"}
    assert hq.post("/coupon-templates", json={**template, "validity": {"days": 400}}).status_code == 201
    issued = hq.post(f"/members/{member_id}/coupons", json={"template_code": "MJ60-10", "count": 1})
    assert issued.status_code == 201, issued.text

    clock.advance(timedelta(days=370))  # 2027-03-07: the points earned in March 2026 end with March 2027
    _log_in(page, container, member_id)

    assert page.get_by_test_id("expiring").inner_text() == "100 积分有效期至 2027-03-31 23:59"
    assert page.get_by_role("heading", name="可用优惠券 (1)").is_visible()
    assert "满60减10" in page.locator("main").inner_text()
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Usable coupons (1)").is_visible()
    assert page.get_by_test_id("expiring").inner_text() == "100 points usable until 2027-03-31 23:59"
    assert page.get_by_test_id("level-progress").inner_text().strip() == "Recharge ¥300.00 more to become Silver"


def test_embedded_mode_logs_the_code_with_the_phone_masked(
    page: Any, container: Container, live_server: str, caplog: Any
) -> None:
    api, _store = _api(container, live_server)
    member_id = _register(api)
    caplog.set_level("INFO", logger="dinecard.member_login")
    _ask_for_code(page)

    code = _codes_sent(container, member_id)[-1]["code"]
    lines = [record.getMessage() for record in caplog.records if record.name == "dinecard.member_login"]
    if container.database.dialect == "sqlite":
        assert lines == [f"login code for 138****5678: {code} (valid 5 minutes)"]
    else:
        assert lines == []  # a server deployment sends it by the notification channel only
    assert all(PHONE not in line for line in caplog.messages)
