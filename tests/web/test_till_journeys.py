"""The cashier's till in a real browser: find a member, recharge with a tier button, check out with
points and a coupon (the live quote first), print the receipt, refund, hand over the shift."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.members.domain import MemberStatus
from dinecard.members.service import RegisterMember, change_status, current_member_code, register_member
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.clock import FixedClock
from dinecard.shared.money import Money
from dinecard.wallet import service as wallet
from dinecard.wallet.models import Checkout
from tests.web.conftest import log_in, screenshot, staff_login

PHONE = "13912345678"


def _member(container: Container, store_id: str, **profile: Any) -> str:
    with container.database.write() as uow:
        return register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone=PHONE, name="韩梅梅", store_id=store_id, profile=profile),
            container.clock.now(),
        )


def _cash_coupon(container: Container, member_id: str) -> str:
    now = container.clock.now()
    with container.database.write() as uow:
        rules = TemplateRules.model_validate({"kind": "cash", "value": "20.00", "validity": {"days": 30}})
        coupons.create_template(uow, "TILL20", coupons.TemplateFields("20元代金券", "20 off", None), rules, now)
        issued = coupons.issue(uow, container.program, member_id, "TILL20", now, coupons.Source.STAFF)
    return issued[0].code


def _recharge(container: Container, member_id: str, store_id: str, yuan: int) -> None:
    command = wallet.RechargeCommand(member_id, store_id, Money(yuan * 100), wallet.PaymentMethod.CASH)
    with container.database.write() as uow:
        wallet.recharge(uow, container.program, command, container.clock.now())


def _find(page: Any, text: str) -> None:
    page.goto("/till")
    page.get_by_label("手机号 / 卡号 / 会员码").fill(text)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_recharge_checkout_with_points_and_coupon_refund_and_shift(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.till1")
    member_id = _member(container, store_id, allergies=["花生"], taste_preferences=["少辣"])
    coupon_code = _cash_coupon(container, member_id)
    log_in(page, "cashier.till1")
    page.wait_for_url("**/till")

    # Find by phone: the panel warns about the allergy first.
    _find(page, PHONE)
    page.wait_for_url(f"**/till/members/{member_id}")
    assert "花生" in page.locator(".till-allergy").inner_text()
    assert page.locator("#bal-total").inner_text() == "¥0.00"
    assert coupon_code in page.locator(".till-coupons").inner_text()
    screenshot(page, "till-member")

    # Recharge with the 200 tier: 200 principal + 20 bonus + 100 points, shown at once.
    page.get_by_role("radio", name="现金").check()
    page.get_by_role("button", name=re.compile("充200送20")).click()
    page.wait_for_url("**/till/receipts/*")
    assert page.locator("#r-amount").inner_text() == "¥200.00"
    assert page.locator("#r-bonus-given").inner_text() == "¥20.00"
    assert page.locator("#r-points-awarded").inner_text() == "100"
    assert page.locator("#after-total").inner_text() == "¥220.00"

    # Check out 100.00 with the 20 coupon and all 100 points (= 1 yuan): 100 − 20 − 1 = 79.00.
    page.get_by_role("link", name="返回会员").click()
    assert page.locator("#bal-principal").inner_text() == "¥200.00"
    assert page.locator("#bal-bonus").inner_text() == "¥20.00"
    page.get_by_label("账单金额（元）").fill("100")
    page.locator(f"#coupon-{coupon_code}").check()
    page.get_by_role("button", name="全部使用").click()
    page.wait_for_function("document.getElementById('q-payable').textContent === '¥79.00'")
    assert page.get_by_label("使用积分").input_value() == "100"
    assert page.locator("#q-coupon").inner_text() == "-¥20.00"
    assert page.locator("#q-points").inner_text().startswith("-¥1.00")
    assert page.locator("#q-balance").inner_text() == "¥79.00"
    assert page.locator("#q-other").inner_text() == "¥0.00"
    assert page.locator("#q-earned").inner_text() == "79"  # 1 point per yuan paid, ordinary level
    page.get_by_role("button", name="确认结账").click()

    page.wait_for_url("**/till/receipts/C*")
    assert page.locator("#r-bill").inner_text() == "¥100.00"
    assert page.locator(".r-coupon").inner_text().endswith("-¥20.00")
    assert page.locator("#r-points-deduction").inner_text() == "-¥1.00"
    assert page.locator("#r-payable").inner_text() == "¥79.00"
    assert page.locator("#r-earned").inner_text() == "79"
    assert page.locator("#after-total").inner_text() == "¥141.00"
    screenshot(page, "till-receipt")
    receipt_url = page.url

    # The shift so far: one cash recharge of 200, one checkout of 79, one coupon used.
    page.goto("/till/shift")
    assert page.locator("#shift-recharge-count").inner_text() == "1"
    assert page.locator("#shift-recharge-amount").inner_text() == "¥200.00"
    assert page.locator("#shift-checkout-count").inner_text() == "1"
    assert page.locator("#shift-payable").inner_text() == "¥79.00"
    assert page.locator("#shift-from-balance").inner_text() == "¥79.00"
    assert page.locator("#shift-coupon-count").inner_text() == "1"
    assert page.locator("#shift-cash").inner_text() == "¥200.00"
    assert "(0)" not in page.locator("#shift-checkouts").inner_text()  # no empty tender rows
    screenshot(page, "till-shift")

    # Refund the whole bill: the balance is back to 220.00.
    page.goto(receipt_url)
    page.get_by_role("button", name="确认退款").click()
    assert page.locator("#r-refund-amount").inner_text() == "¥79.00"
    assert page.locator("#after-total").inner_text() == "¥220.00"
    page.goto("/till/shift")
    assert page.locator("#shift-refund-count").inner_text() == "1"
    assert page.locator("#shift-refund-amount").inner_text() == "¥79.00"


def test_the_member_code_finds_the_member_while_fresh_and_is_refused_when_expired(
    page: Any, container: Container, clock: FixedClock
) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.till2")
    member_id = _member(container, store_id)
    with container.database.read() as session:
        code, _ = current_member_code(session, member_id, clock.now())
    log_in(page, "cashier.till2")
    page.wait_for_url("**/till")

    _find(page, code)
    page.wait_for_url(f"**/till/members/{member_id}")

    clock.advance(timedelta(minutes=3))
    _find(page, code)
    alert = page.get_by_role("alert")
    assert alert.get_attribute("data-code") == "member_code_expired"
    assert "/till/find" in page.url
    assert page.get_by_label("手机号 / 卡号 / 会员码").input_value() == code

    _find(page, "13000000000")
    assert page.get_by_role("alert").inner_text() == "会员不存在"


def test_a_checkout_form_sent_three_times_charges_once(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.till3")
    member_id = _member(container, store_id)
    _recharge(container, member_id, store_id, 300)
    log_in(page, "cashier.till3")
    page.wait_for_url("**/till")
    page.goto(f"/till/members/{member_id}")

    page.get_by_label("账单金额（元）").fill("50.00")
    # Twice behind the page's back with the same form (a retry, a refresh), then the real click.
    statuses = page.evaluate(
        """async () => {
            const form = document.getElementById('checkout-form');
            const sent = [];
            for (let i = 0; i < 2; i++) {
                const body = new URLSearchParams(new FormData(form));
                const answer = await fetch(form.action, {method: 'POST', body: body});
                sent.push(answer.url);
            }
            return sent;
        }"""
    )
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")
    assert statuses == [page.url, page.url]  # every send lands on the one receipt
    assert page.locator("#after-total").inner_text() == "¥270.00"  # 300 + 20 bonus (the 200 tier) − 50
    with container.database.read() as session:
        assert session.execute(select(func.count()).select_from(Checkout)).scalar_one() == 1


def test_a_refusal_is_shown_in_chinese_with_the_form_kept(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.till4")
    member_id = _member(container, store_id)
    with container.database.write() as uow:
        change_status(uow, member_id, MemberStatus.FROZEN, container.clock.now())
    log_in(page, "cashier.till4")
    page.wait_for_url("**/till")
    page.goto(f"/till/members/{member_id}")
    assert page.locator(".till-status").inner_text() == "已冻结：不能储值消费或充值"

    page.get_by_label("其他金额（元）").fill("88")
    with page.expect_navigation():
        page.get_by_label("其他金额（元）").press("Enter")  # Enter sends the typed amount, not a tier
    assert page.locator("#till-refusal").inner_text() == "会员卡已冻结，暂不能消费或充值"
    assert page.get_by_label("其他金额（元）").input_value() == "88"

    with container.database.write() as uow:
        change_status(uow, member_id, MemberStatus.ACTIVE, container.clock.now())
    page.get_by_role("button", name="按其他金额充值").click()
    page.wait_for_url("**/till/receipts/*")
    assert page.locator("#r-amount").inner_text() == "¥88.00"
    assert page.locator("#after-total").inner_text() == "¥88.00"


def test_the_till_speaks_english_when_asked(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.till5")
    member_id = _member(container, store_id, allergies=["peanuts"])
    _recharge(container, member_id, store_id, 500)
    log_in(page, "cashier.till5")
    page.wait_for_url("**/till")
    page.goto(f"/till/members/{member_id}")
    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"**/till/members/{member_id}")

    text = page.locator("main").inner_text()
    assert "till." not in text  # every word has its English
    assert page.get_by_role("button", name=re.compile("Pay 500, get 80")).is_visible()
    assert page.locator("#bal-total").inner_text() == "¥580.00"
    page.get_by_role("button", name=re.compile("Pay 200, get 20")).click()
    page.wait_for_url("**/till/receipts/*")
    assert "till." not in page.locator("main").inner_text()
    page.goto("/till/shift")
    assert "till." not in page.locator("main").inner_text()
    # The handover counts what this cashier rang up: the 200 here, not the 500 recharged elsewhere.
    assert page.locator("#shift-recharge-amount").inner_text() == "¥200.00"
