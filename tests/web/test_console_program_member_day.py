"""HQ sets the member day in a form: on that day a listed dish is half price and points double;
day 32 or a dish rate of 1.5 is refused next to its field and saves nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dinecard.menu.service import DishFields, create_dish
from dinecard.platform.container import Container
from dinecard.program.domain import MultiplierKind
from dinecard.security.domain import Role
from dinecard.shared.money import Money
from tests.web.conftest import screenshot, staff_login
from tests.web.test_console_program import a_member, a_store, api_post, message_by, open_program_part, version_count


def _dish(container: Container, dish_id: str, price_yuan: int) -> None:
    fields = DishFields(f"菜 {dish_id}", None, "锅底", Money(price_yuan * 100), None, None)
    with container.database.write() as uow:
        create_dish(uow, dish_id, fields, container.clock.now())


def test_hq_makes_today_member_day_and_a_soup_base_is_half_price(page: Any, container: Container) -> None:
    store_id = a_store(container)
    member_id = a_member(container)
    _dish(container, "soup_spicy", 58)
    staff_login(container, Role.HQ_ADMIN, "hq.day")
    versions_before = version_count(container)
    assert container.program.member_day is None
    open_program_part(page, "hq.day", "会员日")

    page.get_by_label("启用会员日").check()
    page.get_by_label("每月几号").fill("2")  # the test clock's day: 2 March 2026
    page.get_by_label("会员日积分倍率").fill("2")
    page.get_by_role("button", name="增加特价菜").click()
    dishes = page.get_by_role("group", name="第 1 组特价菜")
    dishes.get_by_label("菜品编号").fill("soup_spicy, soup_tomato")
    dishes.get_by_label("价格比例").fill("0.5")
    page.get_by_role("button", name="保存为新版本").click()

    assert page.get_by_role("status").inner_text().startswith("已保存")
    assert version_count(container) == versions_before + 1
    program = container.program
    assert program.member_day is not None and program.member_day.day_of_month == 2
    (discount,) = program.member_day.dish_discounts
    assert (discount.dish_ids, discount.rate) == (frozenset({"soup_spicy", "soup_tomato"}), Decimal("0.5"))
    day_multipliers = [m for m in program.points.multipliers if m.kind is MultiplierKind.MEMBER_DAY]
    assert [m.multiplier for m in day_multipliers] == [Decimal(2)]
    assert any(m.kind is MultiplierKind.BIRTHDAY_MONTH for m in program.points.multipliers)  # kept
    assert page.get_by_label("会员日积分倍率").input_value() == "2"
    screenshot(page, "console-member-day")

    body = {"store_id": store_id, "items": [{"dish_id": "soup_spicy", "quantity": 1}]}
    checkout = api_post(page, f"/members/{member_id}/checkouts", body)
    assert checkout["payable"] == "29.00"  # half price on the member day
    assert checkout["points_earned"] == 58  # 29 yuan, double points


def test_member_day_32_is_refused(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.day2")
    versions_before = version_count(container)
    open_program_part(page, "hq.day2", "会员日")

    page.get_by_label("启用会员日").check()
    page.get_by_label("每月几号").fill("32")
    page.get_by_label("会员日积分倍率").fill("0.5")
    page.get_by_role("button", name="增加特价菜").click()
    dishes = page.get_by_role("group", name="第 1 组特价菜")
    dishes.get_by_label("菜品编号").fill("soup_spicy")
    dishes.get_by_label("价格比例").fill("1.5")
    page.get_by_role("button", name="保存为新版本").click()

    assert message_by(page, "program.member_day.day_of_month").inner_text() == "不能大于 28"
    assert message_by(page, "program.member_day.dish_discounts.0.rate").inner_text() == "不能大于 1"
    assert message_by(page, "program.member_day_multiplier").inner_text() == "不能小于 1"
    assert page.get_by_label("每月几号").input_value() == "32"  # the form is kept
    screenshot(page, "console-member-day-refused")

    page.get_by_label("启用会员日").uncheck()
    page.get_by_label("会员日积分倍率").fill("2")
    page.get_by_role("button", name="保存为新版本").click()
    assert message_by(page, "program.member_day").inner_text() == "会员日积分倍率需要先设置会员日"

    page.get_by_role("link", name="English").click()  # the messages follow the caller's language
    page.get_by_label("Hold a member day").check()
    page.get_by_label("Day of the month").fill("32")
    page.get_by_role("button", name="Save as a new version").click()
    assert message_by(page, "program.member_day.day_of_month").inner_text() == "Must be at most 28"
    assert version_count(container) == versions_before
    container.programs.invalidate()
    assert container.program.member_day is None
