"""Staff log in from the front page and land where their role works, in Chinese or English."""

from __future__ import annotations

from typing import Any

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from tests.web.conftest import log_in, screenshot, staff_login


def test_a_cashier_logs_in_and_lands_on_the_till(page: Any, container: Container) -> None:
    staff_login(container, Role.CASHIER, "cashier.wang")

    page.goto("/")
    assert page.url.endswith("/login")
    screenshot(page, "login")
    log_in(page, "cashier.wang")

    assert page.url.endswith("/till")
    assert page.get_by_role("heading", name="收银台").is_visible()
    assert page.locator(".who").inner_text() == "cashier.wang"


def test_a_wrong_password_is_refused_on_the_page(page: Any, container: Container) -> None:
    staff_login(container, Role.CASHIER, "cashier.li")

    page.goto("/login")
    page.get_by_label("用户名").fill("cashier.li")
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录").click()

    assert page.get_by_role("alert").inner_text() == "用户名或密码错误"
    assert page.url.endswith("/login")


def test_hq_lands_on_the_console_and_may_switch_to_english_and_log_out(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.zhao")

    log_in(page, "hq.zhao")
    assert page.url.endswith("/console")
    page.get_by_role("link", name="English").click()

    assert page.get_by_role("heading", name="HQ console").is_visible()
    page.get_by_role("button", name="Log out").click()
    assert page.url.endswith("/login")
    page.goto("/console")
    assert "/login?next=/console" in page.url


def test_a_page_asked_for_before_logging_in_comes_back_after(page: Any, container: Container) -> None:
    staff_login(container, Role.STORE_MANAGER, "manager.chen")

    page.goto("/till")
    assert "/login?next=/till" in page.url
    log_in(page, "manager.chen")

    assert page.url.endswith("/till")
