"""Line-item checkout at the till: the cashier picks dishes from the store's menu (search, category,
+/−, keyboard), the live quote prices the lines through the API, a dish voucher pays for its dish,
and the receipt shows the lines and the stamp cards' progress.

The menu: D01 水煮鱼 88.00 (热菜), T01 奶茶 18.00 (饮品), X01 龙虾 388.00 for gold members only, and
N01 外店菜 sold at another store only. FREE_TEA is a dish voucher for one 奶茶.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.coupons.models import Coupon
from dinecard.members.service import RegisterMember, register_member
from dinecard.menu import service as menu
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.shared.money import Money
from dinecard.stamps import admin as stamp_admin
from dinecard.stamps.models import StampBalance
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from dinecard.wallet.models import Checkout
from tests.web.conftest import log_in, screenshot, staff_login

PHONE = "13912340001"


def _menu(container: Container, store_id: str) -> None:
    now = container.clock.now()
    with container.database.write() as uow:
        other = create_store(uow, "W-OTHER", "外滩店", now).id
        for dish_id, name, category, price, stores, levels in [
            ("D01", "水煮鱼", "热菜", "88.00", None, None),
            ("T01", "奶茶", "饮品", "18.00", None, None),
            ("X01", "龙虾", "热菜", "388.00", None, {"gold"}),
            ("N01", "外店菜", "热菜", "10.00", {other}, None),
        ]:
            fields = menu.DishFields(
                name=name,
                name_en=None,
                category=category,
                price=Money.parse_yuan(price),
                stores=frozenset(stores) if stores else None,
                exclusive_levels=frozenset(levels) if levels else None,
            )
            menu.create_dish(uow, dish_id, fields, now, container.program)
        rules = TemplateRules.model_validate({"kind": "dish", "dish_ids": ["T01"], "validity": {"days": 30}})
        coupons.create_template(uow, "FREE_TEA", coupons.TemplateFields("奶茶兑换券", "Free tea", None), rules, now)


def _member(container: Container, store_id: str) -> str:
    with container.database.write() as uow:
        return register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone=PHONE, name="王芳", store_id=store_id),
            container.clock.now(),
        )


def _tea_voucher(container: Container, member_id: str) -> str:
    with container.database.write() as uow:
        issued = coupons.issue(
            uow, container.program, member_id, "FREE_TEA", container.clock.now(), coupons.Source.STAFF
        )
    return issued[0].code


def _stamp_card(container: Container, needed: int) -> None:
    fields = stamp_admin.CardFields(
        name="奶茶集点卡",
        name_en="Tea card",
        dish_ids=["T01"],
        categories=None,
        stamps_needed=needed,
        reward_template_code="FREE_TEA",
        stores=None,
        starts_at=None,
        ends_at=None,
        active=True,
    )
    with container.database.write() as uow:
        stamp_admin.create_card(uow, "TEA", fields, container.clock.now())


def _open_member(page: Any, username: str, member_id: str) -> None:
    log_in(page, username)
    page.wait_for_url("**/till")
    page.goto(f"/till/members/{member_id}")


def test_two_dishes_and_a_vouchered_tea_are_checked_out_by_lines(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.lines1")
    _menu(container, store_id)
    member_id = _member(container, store_id)
    voucher = _tea_voucher(container, member_id)
    with container.database.write() as uow:  # 300 + 20 bonus (the 200 tier): still an ordinary member
        command = wallet.RechargeCommand(member_id, store_id, Money(30000), wallet.PaymentMethod.CASH)
        wallet.recharge(uow, container.program, command, container.clock.now())
    _open_member(page, "cashier.lines1", member_id)

    # The store's menu: the other store's dish is not offered; the gold dish is shown but cannot be picked.
    dish_list = page.locator("#menu-list")
    assert "外店菜" not in dish_list.inner_text()
    gold_only = page.locator(".till-dish[data-dish=X01]")
    assert "金卡会员专享" in gold_only.inner_text()
    assert gold_only.locator("input").count() == 0

    # Keyboard: the dish search has the focus; typing and Enter adds the first match, twice.
    search = page.get_by_label("搜索菜品（名称、类别或编号）")
    assert page.evaluate("document.activeElement.id") == "menu-filter"
    search.fill("水煮")
    assert page.locator(".till-dish[data-dish=T01]").is_hidden()
    search.press("Enter")
    search.press("Enter")
    assert page.get_by_label("水煮鱼 数量").input_value() == "2"
    search.press("Escape")
    # A category chip, the big dish button and + add the tea; − on the bill's line takes one off.
    page.get_by_role("button", name="饮品").click()
    assert page.locator(".till-dish[data-dish=D01]").is_hidden()
    page.get_by_role("button", name="点一份 奶茶 ¥18.00").click()
    page.locator("#menu-list").get_by_role("button", name="加一份 奶茶").click()
    page.locator("#lines-table").get_by_role("button", name="减一份 奶茶").click()  # the bill's own −
    assert page.get_by_label("奶茶 数量").input_value() == "1"
    page.locator(f"#coupon-{voucher}").check()

    # The quote prices the lines: 2 × 88 + 18 = 194; the voucher takes the tea off: 176 to pay.
    page.wait_for_function(
        "document.getElementById('q-bill').textContent === '¥194.00'"
        " && document.getElementById('q-payable').textContent === '¥176.00'"
    )
    assert page.locator(".q-coupon").inner_text().replace("\t", " ").endswith("-¥18.00")
    assert page.locator("#q-balance").inner_text() == "¥176.00"
    lines = page.locator("#lines-body tr")
    assert lines.count() == 2
    assert "¥88.00 × 2" in lines.nth(0).inner_text()
    assert page.get_by_label("账单金额（元）").input_value() == ""
    page.get_by_role("button", name="全部", exact=True).click()
    assert page.locator(".till-dish[data-dish=D01]").is_visible()
    screenshot(page, "till-line-items")
    page.get_by_role("button", name="确认结账").click()

    page.wait_for_url("**/till/receipts/C*")
    items = page.locator(".r-item")
    assert items.count() == 2
    assert re.sub(r"\s+", " ", items.nth(0).inner_text()) == "水煮鱼 2 × ¥88.00 ¥176.00"
    assert page.locator("#r-bill").inner_text() == "¥194.00"
    assert page.locator(".r-coupon").inner_text().endswith("-¥18.00")
    assert page.locator("#r-payable").inner_text() == "¥176.00"
    assert page.locator("#after-total").inner_text() == "¥144.00"  # 320 − 176
    order_no = page.locator("#receipt-order").inner_text()
    with container.database.read() as session:
        row = session.execute(select(Checkout).where(Checkout.order_no == order_no)).scalar_one()
        assert (row.bill_total_fen, row.coupon_discount_fen, row.payable_fen) == (19400, 1800, 17600)
        assert row.paid_principal_fen + row.paid_bonus_fen == 17600 and row.other_tender_fen == 0
        assert [(i["dish_id"], i["quantity"], i["unit_price_fen"]) for i in row.items or []] == [
            ("D01", 2, 8800),
            ("T01", 1, 1800),
        ]
        used = session.execute(select(Coupon).where(Coupon.code == voucher)).scalar_one()
        assert (used.status, used.used_order_no, used.discount_fen) == ("used", order_no, 1800)


def test_a_plain_total_still_checks_out_and_a_refused_line_keeps_the_form(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.lines2")
    _menu(container, store_id)
    member_id = _member(container, store_id)
    _open_member(page, "cashier.lines2", member_id)

    # Lines and a typed total that disagree: the API's refusal, in Chinese, with the picks kept.
    page.get_by_role("button", name="点一份 水煮鱼 ¥88.00").click()
    page.get_by_label("账单金额（元）").fill("50")
    page.wait_for_function("!document.getElementById('quote-error').hidden")
    assert page.locator("#quote-error").inner_text() == "菜品明细合计与账单总额不一致"
    page.get_by_role("button", name="确认结账").click()
    assert page.locator("#till-refusal").inner_text() == "菜品明细合计与账单总额不一致"
    assert page.get_by_label("水煮鱼 数量").input_value() == "1"
    with container.database.read() as session:
        assert session.execute(select(Checkout)).first() is None

    # No dishes, a typed total: checked out as before (no balance, so all by the other tender).
    page.get_by_role("button", name="清空已点").click()
    page.wait_for_function("document.getElementById('q-payable').textContent === '¥50.00'")
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")
    assert page.locator("#r-bill").inner_text() == "¥50.00"
    assert page.locator("#r-other").inner_text() == "¥50.00"
    assert page.locator(".r-item").count() == 0


def test_the_receipt_shows_stamps_earned_to_go_and_the_voucher_won(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.lines3")
    _menu(container, store_id)
    _stamp_card(container, needed=3)
    member_id = _member(container, store_id)
    _open_member(page, "cashier.lines3", member_id)

    # Two teas: 2 of 3 stamps, one more for the voucher.
    page.get_by_label("奶茶 数量").fill("2")
    page.wait_for_function("document.getElementById('q-payable').textContent === '¥36.00'")
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")
    stamp = page.locator(".r-stamp")
    assert stamp.count() == 1
    assert "奶茶集点卡" in stamp.inner_text()
    assert stamp.locator(".r-stamp-earned").inner_text() == "本单集 2 个，现有 2/3"
    assert stamp.locator(".r-stamp-to-go").inner_text() == "再集 1 个得 奶茶兑换券"
    assert stamp.locator(".r-stamp-won").count() == 0
    first_receipt = page.url

    # Two more: the card fills (a voucher), one stamp carries over.
    page.get_by_role("link", name="返回会员").click()
    page.get_by_label("奶茶 数量").fill("2")
    page.wait_for_function("document.getElementById('q-payable').textContent === '¥36.00'")
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")
    assert page.locator(".r-stamp-earned").inner_text() == "本单集 2 个，现有 1/3"
    assert page.locator(".r-stamp-to-go").inner_text() == "再集 2 个得 奶茶兑换券"
    won = page.locator(".r-stamp-won").inner_text()
    with container.database.read() as session:
        voucher = session.execute(select(Coupon).where(Coupon.member_id == member_id)).scalar_one()
        assert (voucher.template_code, voucher.status) == ("FREE_TEA", "issued")
        assert session.get(StampBalance, (member_id, "TEA")).stamps == 1  # type: ignore[union-attr]
    assert won == f"集满得券：奶茶兑换券（券码 {voucher.code}）"
    screenshot(page, "till-receipt-stamps")

    # A reprint of the first receipt still tells where the card stood after that bill.
    page.goto(first_receipt)
    assert page.locator(".r-stamp-earned").inner_text() == "本单集 2 个，现有 2/3"
