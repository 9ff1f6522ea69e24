"""A refund above the approval threshold (¥500.00 by default, R-CMP-6) at the till: refused without a
store manager's approval, refused with a wrong or unfit approver, done once the store's manager
types their username and password; one refund in the database, and the manager's login for the
approval ended at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import Staff, StaffSession
from dinecard.shared.money import Money
from dinecard.wallet import service as wallet
from dinecard.wallet.models import Refund
from tests.web.conftest import PASSWORD, log_in, staff_login


def _refunds(container: Container) -> list[tuple[str, int]]:
    with container.database.read() as session:
        return [(r.original_order_no, r.amount_fen) for r in session.execute(select(Refund)).scalars()]


def _refuse(page: Any, username: str = "", password: str = "") -> str:
    page.get_by_label("店长账号").fill(username)
    page.get_by_label("店长密码").fill(password)
    page.get_by_role("button", name="确认退款").click()
    alert: str = page.locator("#till-refusal").inner_text()
    return alert


def test_a_large_refund_needs_the_store_managers_approval(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.refund1")
    staff_login(container, Role.CASHIER, "cashier.refund2", store_id)
    staff_login(container, Role.STORE_MANAGER, "manager.refund1", store_id)
    staff_login(container, Role.STORE_MANAGER, "manager.elsewhere")  # another store's manager
    with container.database.write() as uow:
        member_id = register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone="13912340002", name="赵敏", store_id=store_id),
            container.clock.now(),
        )
        command = wallet.RechargeCommand(member_id, store_id, Money(100000), wallet.PaymentMethod.CASH)
        wallet.recharge(uow, container.program, command, container.clock.now())
    log_in(page, "cashier.refund1")
    page.wait_for_url("**/till")
    page.goto(f"/till/members/{member_id}")

    # A plain bill total of 600; the 1000 recharge made the member gold (9折): 540 paid from the balance.
    page.get_by_label("账单金额（元）").fill("600")
    page.wait_for_function("document.getElementById('q-payable').textContent === '¥540.00'")
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")
    order_no = page.locator("#receipt-order").inner_text()
    assert "超过 ¥500.00 时，需店长在此输入账号和密码授权" in page.locator("#approval-hint").inner_text()

    page.get_by_label("退款原因").fill("菜品质量问题")
    assert _refuse(page) == "退款金额超过 ¥500.00，需店长授权：请店长输入账号和密码"
    assert page.get_by_label("退款原因").input_value() == "菜品质量问题"  # the form is kept
    assert _refuse(page, "manager.refund1", "not the password") == "店长账号或密码错误，未授权"
    assert _refuse(page, "cashier.refund2", PASSWORD) == "该账号不是本店店长，无权授权此退款"
    assert _refuse(page, "manager.elsewhere", PASSWORD) == "该账号不是本店店长，无权授权此退款"
    assert _refuse(page, "cashier.refund1", PASSWORD) == "不能由收银员本人授权，请店长输入其账号和密码"
    assert _refunds(container) == []

    page.get_by_label("店长账号").fill("manager.refund1")
    page.get_by_label("店长密码").fill(PASSWORD)
    page.get_by_role("button", name="确认退款").click()
    page.wait_for_url("**/till/receipts/F*")
    assert page.locator("#r-refund-amount").inner_text() == "¥540.00"
    assert page.locator("#after-total").inner_text() == "¥1,200.00"  # 1000 + 200 bonus, all back
    assert _refunds(container) == [(order_no, 54000)]
    with container.database.read() as session:
        manager = session.execute(select(Staff.id).where(Staff.username == "manager.refund1")).scalar_one()
        logins = session.execute(select(StaffSession).where(StaffSession.staff_id == manager)).scalars().all()
        assert logins and all(login.revoked_at is not None for login in logins)  # each approval's login ended
        assert session.execute(select(func.count()).select_from(Refund)).scalar_one() == 1


def test_a_refund_within_the_threshold_needs_no_approval(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.CASHIER, "cashier.refund3")
    with container.database.write() as uow:
        member_id = register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone="13912340003", store_id=store_id),
            container.clock.now(),
        )
    log_in(page, "cashier.refund3")
    page.wait_for_url("**/till")
    page.goto(f"/till/members/{member_id}")
    page.get_by_label("账单金额（元）").fill("80")
    page.get_by_role("button", name="确认结账").click()
    page.wait_for_url("**/till/receipts/C*")

    page.get_by_label("退款金额（元，留空为全部）").fill("30")
    page.get_by_role("button", name="确认退款").click()
    page.wait_for_url("**/till/receipts/F*")
    assert page.locator("#r-refund-amount").inner_text() == "¥30.00"
    assert len(_refunds(container)) == 1
