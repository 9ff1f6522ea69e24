"""HQ runs lotteries from the console (总部后台): a lottery created with its prize table shows each
prize's chance and the expected cost per draw as the API computes them; prizes are added and the
chances follow; a draw through the API is counted; a stopped lottery is refused by the API; a bad
table or window says why by field and saves nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dinecard.lottery.models import Draw, Lottery, Prize
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from tests.api.helpers import API, open_store
from tests.rewards.test_lottery_api import make_template, member_with_points, post_draw, usable_points
from tests.web.conftest import log_in, screenshot, staff_login


def _prize_row(page: Any, n: int, code: str, name: str, kind: str, weight: str, **more: str) -> None:
    row = f"第 {n} 个奖品"
    page.get_by_label(f"{row} 奖品编号", exact=True).fill(code)
    page.get_by_label(f"{row} 奖品名称", exact=True).fill(name)
    page.get_by_label(f"{row} 种类", exact=True).select_option(kind)
    page.get_by_label(f"{row} 权重", exact=True).fill(weight)
    if "points" in more:
        page.get_by_label(f"{row} 积分数（积分奖品）", exact=True).fill(more["points"])
    if "stock" in more:
        page.get_by_label(f"{row} 库存（空为不限）", exact=True).fill(more["stock"])
    if "template" in more:
        page.get_by_label(f"{row} 券模板（优惠券奖品）", exact=True).select_option(more["template"])


def _chance(page: Any, code: str) -> str:
    text: str = page.locator(f'table.prizes tr[data-prize="{code}"] [data-field="probability"]').inner_text()
    return text


def _lottery(container: Container, lottery_id: str) -> Lottery | None:
    with container.database.read() as session:
        return session.get(Lottery, lottery_id)


def _count(container: Container, model: Any) -> int:
    with container.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_hq_creates_a_lottery_sees_the_chances_and_a_draw_works(
    page: Any, container: Container, client: TestClient
) -> None:
    make_template(container, "CASH10", kind="cash", value="10")
    staff_login(container, Role.HQ_ADMIN, "hq.lottery")
    log_in(page, "hq.lottery")

    page.get_by_role("link", name="抽奖", exact=True).click()
    assert page.url.endswith("/console/lottery")
    page.get_by_label("活动编号").fill("L-SPRING")
    page.get_by_label("活动名称").fill("春季大转盘")
    page.get_by_label("每次消耗积分").fill("100")
    page.get_by_label("每人每天次数（空为不限）").fill("3")
    _prize_row(page, 1, "P50", "50 积分", "points", "3", points="50", stock="10")
    _prize_row(page, 2, "N", "谢谢参与", "nothing", "1")
    page.get_by_role("button", name="创建抽奖活动").click()

    assert page.url.endswith("/console/lottery/L-SPRING?notice=created&id=L-SPRING")
    assert page.get_by_role("status").inner_text() == "已创建 L-SPRING"
    assert (_chance(page, "P50"), _chance(page, "N")) == ("75%", "25%")
    answer = client.get(f"{API}/lotteries/L-SPRING").json()
    assert [prize["probability"] for prize in answer["prizes"]] == ["0.750000", "0.250000"]
    assert page.locator('[data-field="expected"]').inner_text() == answer["expected_cost"]["value_points"] == "37.50"
    assert page.locator('[data-field="margin"]').inner_text() == answer["expected_cost"]["margin_points"] == "62.50"
    lottery = _lottery(container, "L-SPRING")
    assert lottery is not None and (lottery.cost_points, lottery.daily_limit, lottery.active) == (100, 3, True)
    with container.database.read() as session:
        prizes = session.scalars(select(Prize).where(Prize.lottery_id == "L-SPRING").order_by(Prize.position)).all()
        assert [(p.code, p.kind, p.weight, p.stock, p.points) for p in prizes] == [
            ("P50", "points", 3, 10, 50),
            ("N", "nothing", 1, None, 0),
        ]

    # A third prize: the chances follow, as the API computes them.
    page.get_by_role("button", name="增加一个奖品").click()
    _prize_row(page, 3, "C10", "10元代金券", "coupon", "4", template="CASH10")
    page.get_by_role("button", name="保存奖品表").click()
    assert page.get_by_role("status").inner_text() == "已保存 L-SPRING 的奖品表"
    assert (_chance(page, "P50"), _chance(page, "N"), _chance(page, "C10")) == ("37.5%", "12.5%", "50%")
    answer = client.get(f"{API}/lotteries/L-SPRING").json()
    assert page.locator('[data-field="expected"]').inner_text() == answer["expected_cost"]["value_points"]
    assert page.locator('[data-field="coupon_value"]').inner_text() == "¥5.00"
    assert _count(container, Prize) == 3

    store_id = open_store(client)
    member_id = member_with_points(client, store_id, "13900004444")  # 100 points
    drawn = post_draw(client, member_id, store_id, "L-SPRING")
    assert drawn.status_code == 201, drawn.text
    won = drawn.json()["prize"]["code"]
    page.reload()
    given = page.locator(f'table.prizes tr[data-prize="{won}"] [data-field="given"]')
    assert given.inner_text() == "1"
    screenshot(page, "console-lottery")

    # Stopped in the console: the API refuses to draw, and no points move.
    member_id = member_with_points(client, store_id, "13900005555")
    page.get_by_role("button", name="停止活动").click()
    assert page.get_by_role("status").inner_text() == "已停止 L-SPRING"
    assert page.locator('[data-field="status"]').inner_text() == "已停止"
    stopped = _lottery(container, "L-SPRING")
    assert stopped is not None and stopped.active is False
    refused = post_draw(client, member_id, store_id, "L-SPRING")
    assert refused.status_code == 409 and refused.json()["code"] == "lottery_closed"
    assert usable_points(client, member_id) == 100
    assert _count(container, Draw) == 1

    page.get_by_role("link", name="返回").click()
    row = page.locator('tr[data-lottery="L-SPRING"]')
    assert row.locator('[data-field="status"]').inner_text() == "已停止"
    assert "50 积分 37.5%" in row.inner_text()


def test_a_bad_lottery_says_why_by_field_and_saves_nothing(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.badlot")
    log_in(page, "hq.badlot")
    page.goto("/console/lottery")
    page.get_by_label("活动编号").fill("L-BAD")
    page.get_by_label("活动名称").fill("有问题的抽奖")
    page.get_by_label("开始时间（空为立即）").fill("2026-03-10T12:00")
    page.get_by_label("结束时间（空为长期）").fill("2026-03-09T12:00")
    _prize_row(page, 1, "P", "10 积分", "points", "0", points="10")
    _prize_row(page, 2, "N", "谢谢参与", "nothing", "1")
    page.get_by_role("button", name="创建抽奖活动").click()

    # The body model refuses the weight: by the weight of that row.
    assert page.get_by_role("alert").inner_text().startswith("操作未完成")
    assert (
        page.get_by_role("alert").locator('[data-field="prizes.0.weight"]').inner_text().startswith("第 1 个奖品 权重")
    )
    assert page.locator('[data-error-for="prizes.0.weight"]').is_visible()
    assert page.get_by_label("第 1 个奖品 权重", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("第 2 个奖品 奖品名称", exact=True).input_value() == "谢谢参与"  # the table is kept
    assert _lottery(container, "L-BAD") is None

    # The service refuses the window: by the end time.
    page.get_by_label("第 1 个奖品 权重", exact=True).fill("2")
    page.get_by_role("button", name="创建抽奖活动").click()
    assert page.locator('[data-error-for="ends_at"]').is_visible()
    assert page.get_by_label("结束时间（空为长期）").get_attribute("aria-invalid") == "true"
    assert page.locator('[data-error-for="prizes.0.weight"]').count() == 0
    assert _lottery(container, "L-BAD") is None

    # A coupon prize without a template, giving points: both by their cells.
    page.get_by_label("结束时间（空为长期）").fill("2026-04-10T12:00")
    page.get_by_label("第 1 个奖品 种类", exact=True).select_option("coupon")
    page.get_by_role("button", name="创建抽奖活动").click()
    assert page.locator('[data-error-for="prizes.0.coupon_template_code"]').is_visible()
    assert page.locator('[data-error-for="prizes.0.points"]').is_visible()
    assert _lottery(container, "L-BAD") is None
    assert _count(container, Prize) == 0

    page.get_by_label("第 1 个奖品 种类", exact=True).select_option("points")
    page.get_by_role("button", name="创建抽奖活动").click()
    assert page.get_by_role("status").inner_text() == "已创建 L-BAD"
    created = _lottery(container, "L-BAD")
    assert created is not None and created.starts_at is not None
    assert created.starts_at.isoformat().startswith("2026-03-10T04:00")  # typed in the chain's time zone
    assert (_chance(page, "P"), _chance(page, "N")) == ("66.67%", "33.33%")

    # The settings through the API's PATCH: a window ending before it starts is refused, nothing changes.
    page.get_by_label("每次消耗积分").fill("50")
    page.get_by_label("结束时间（空为长期）").fill("2026-03-01T12:00")
    page.get_by_role("button", name="保存设置").click()
    assert page.locator('[data-error-for="ends_at"]').is_visible()
    unchanged = _lottery(container, "L-BAD")
    assert unchanged is not None and unchanged.cost_points == 100

    page.get_by_label("结束时间（空为长期）").fill("")
    page.get_by_role("button", name="保存设置").click()
    assert page.get_by_role("status").inner_text() == "已保存 L-BAD"
    changed = _lottery(container, "L-BAD")
    assert changed is not None and (changed.cost_points, changed.ends_at) == (50, None)
    assert page.locator('[data-field="cost"]').inner_text() == "50"
