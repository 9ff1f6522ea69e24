"""HQ runs the points mall and the coupon templates from the console (总部后台): a reward listed in
the form is redeemed through the API and the console shows its stock going down; changes go
through the API's PATCH; a refused form says why by field and saves nothing; a stopped reward or
template is refused by the API. Every write is the API's own (idempotent by the form's key, audited)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dinecard.coupons.models import CouponTemplate
from dinecard.mall.models import Redemption, Reward
from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import AuditEntry
from tests.api.helpers import API, open_store
from tests.rewards.test_lottery_api import make_dish, make_template, member_with_points, usable_points
from tests.web.conftest import log_in, screenshot, staff_login

WINDOW_MESSAGES = ("结束时间必须晚于开始时间", "ends_at must be after starts_at")


def _reward(container: Container, reward_id: str) -> Reward | None:
    with container.database.read() as session:
        return session.get(Reward, reward_id)


def _redeem(client: TestClient, member_id: str, store_id: str, reward_id: str) -> Any:
    body = {"reward_id": reward_id, "store_id": store_id}
    return client.post(f"{API}/members/{member_id}/redemptions", json=body)


def _row(page: Any, reward_id: str) -> Any:
    return page.locator(f'tr[data-reward="{reward_id}"]')


def test_hq_lists_a_reward_a_member_redeems_it_and_the_stock_goes_down(
    page: Any, container: Container, client: TestClient
) -> None:
    make_dish(container, "D001", "68.00")
    make_template(container, "DV-DUCK", kind="dish", dish_ids=["D001"])
    staff_login(container, Role.HQ_ADMIN, "hq.mall")
    log_in(page, "hq.mall")

    page.get_by_role("link", name="积分商城", exact=True).click()
    assert page.url.endswith("/console/mall")
    page.get_by_label("礼品编号").fill("R-DUCK")
    page.get_by_label("名称", exact=True).fill("积分兑鸭")
    page.get_by_label("种类", exact=True).select_option("dish")
    page.get_by_label("发放的券模板（菜品、优惠券类）").select_option("DV-DUCK")
    page.get_by_label("所需积分").fill("100")
    page.get_by_label("库存（空为不限）").fill("3")
    page.get_by_label("每人限兑（空为不限）").fill("2")
    key = page.locator('form[action="/console/mall"] input[name="idempotency_key"]').input_value()
    page.get_by_role("button", name="上架", exact=True).click()

    assert page.get_by_role("status").inner_text() == "已上架 R-DUCK"
    reward = _reward(container, "R-DUCK")
    assert reward is not None
    assert (reward.kind, reward.points_price, reward.stock, reward.per_member_limit) == ("dish", 100, 3, 2)
    assert (reward.coupon_template_code, reward.cancel_window_hours, reward.active) == ("DV-DUCK", 24, True)
    assert _row(page, "R-DUCK").locator('[data-field="remaining"]').inner_text() == "3"

    # The same form sent again with its key is the same write, answered once: no second reward, one audit entry.
    again = page.request.post(
        "/console/mall",
        form={"idempotency_key": key, "id": "R-DUCK", "name": "积分兑鸭", "kind": "dish", "active": "on"}
        | {"coupon_template_code": "DV-DUCK", "points_price": "100", "stock": "3", "per_member_limit": "2"}
        | {"cancel_window_hours": "24"},
        max_redirects=0,
    )
    assert again.status == 303
    with container.database.read() as session:
        assert session.scalar(select(func.count()).select_from(Reward)) == 1
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "POST /console/mall")).all()
    assert len(audited) == 1 and audited[0].actor_name == "hq.mall"

    store_id = open_store(client)
    member_id = member_with_points(client, store_id, "13900001111")  # 200 yuan: 100 points
    redeemed = _redeem(client, member_id, store_id, "R-DUCK")
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["coupon_code"]

    page.reload()
    assert _row(page, "R-DUCK").locator('[data-field="redeemed"]').inner_text() == "1"
    assert _row(page, "R-DUCK").locator('[data-field="remaining"]').inner_text() == "2"

    # Changed through the API's PATCH: a stock below what is redeemed is refused on that field.
    page.get_by_role("link", name="修改 积分兑鸭").click()
    assert page.locator('[data-field="remaining"]').inner_text() == "2"
    page.get_by_label("库存（空为不限）").fill("0")
    page.get_by_label("所需积分").fill("150")
    page.get_by_role("button", name="保存修改").click()
    assert page.get_by_role("alert").is_visible()
    assert page.locator('[data-error-for="stock"]').inner_text() in (
        "已兑换 1 件：库存不能低于此数",
        "1 are already redeemed: stock cannot be lower",
    )
    assert page.get_by_label("库存（空为不限）").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("所需积分").input_value() == "150"  # the form is kept
    unchanged = _reward(container, "R-DUCK")
    assert unchanged is not None and (unchanged.points_price, unchanged.stock) == (100, 3)

    page.get_by_label("库存（空为不限）").fill("5")
    page.get_by_role("button", name="保存修改").click()
    assert page.get_by_role("status").inner_text() == "已保存 R-DUCK"
    changed = _reward(container, "R-DUCK")
    assert changed is not None and (changed.points_price, changed.stock, changed.redeemed_count) == (150, 5, 1)
    assert _row(page, "R-DUCK").locator('[data-field="remaining"]').inner_text() == "4"
    assert _row(page, "R-DUCK").locator('[data-field="points_price"]').inner_text() == "150"
    screenshot(page, "console-mall")

    # Stopped in the console: the API refuses to redeem it, and nothing moves.
    member_id = member_with_points(client, store_id, "13900002222", ("200.00", "200.00"))
    points_before = usable_points(client, member_id)
    _row(page, "R-DUCK").get_by_role("button", name="停用 积分兑鸭").click()
    assert page.get_by_role("status").inner_text() == "已停用 R-DUCK"
    assert _row(page, "R-DUCK").locator('[data-field="status"]').inner_text() == "已停用"
    stopped = _reward(container, "R-DUCK")
    assert stopped is not None and stopped.active is False
    refused = _redeem(client, member_id, store_id, "R-DUCK")
    assert refused.status_code == 409 and refused.json()["code"] == "reward_unavailable"
    assert usable_points(client, member_id) == points_before
    with container.database.read() as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == 1

    _row(page, "R-DUCK").get_by_role("button", name="恢复上架 积分兑鸭").click()
    assert page.get_by_role("status").inner_text() == "已恢复上架 R-DUCK"
    assert _redeem(client, member_id, store_id, "R-DUCK").status_code == 201


def test_a_bad_reward_says_why_by_field_and_saves_nothing(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.bad")
    log_in(page, "hq.bad")
    page.goto("/console/mall")
    page.get_by_label("礼品编号").fill("R-MUG")
    page.get_by_label("名称", exact=True).fill("定制马克杯")
    page.get_by_label("种类", exact=True).select_option("merchandise")
    page.get_by_label("所需积分").fill("-5")
    page.get_by_label("上架时间（空为立即）").fill("2026-03-10T12:00")
    page.get_by_label("下架时间（空为长期）").fill("2026-03-09T12:00")
    page.get_by_role("button", name="上架", exact=True).click()

    alert = page.get_by_role("alert")
    assert alert.inner_text().startswith("操作未完成")
    assert alert.locator('[data-field="points_price"]').inner_text().startswith("所需积分")
    assert page.locator('[data-error-for="points_price"]').is_visible()
    assert page.get_by_label("所需积分").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("名称", exact=True).input_value() == "定制马克杯"  # the form is kept
    assert _reward(container, "R-MUG") is None

    page.get_by_label("所需积分").fill("500")
    page.get_by_role("button", name="上架", exact=True).click()
    assert page.locator('[data-error-for="ends_at"]').inner_text() in WINDOW_MESSAGES
    assert page.get_by_label("下架时间（空为长期）").get_attribute("aria-invalid") == "true"
    assert page.locator('[data-error-for="points_price"]').count() == 0
    assert _reward(container, "R-MUG") is None

    # A coupon reward without its template: the message sits by the template.
    page.get_by_label("种类", exact=True).select_option("coupon")
    page.get_by_label("下架时间（空为长期）").fill("2026-04-09T12:00")
    page.get_by_role("button", name="上架", exact=True).click()
    assert page.locator('[data-error-for="coupon_template_code"]').is_visible()
    assert _reward(container, "R-MUG") is None

    page.get_by_label("种类", exact=True).select_option("merchandise")
    page.get_by_role("button", name="上架", exact=True).click()
    assert page.get_by_role("status").inner_text() == "已上架 R-MUG"
    reward = _reward(container, "R-MUG")
    assert reward is not None and reward.points_price == 500
    assert reward.starts_at is not None and reward.starts_at.isoformat().startswith("2026-03-10T04:00")
    assert "2026-03-10 12:00" in _row(page, "R-MUG").inner_text()  # shown in the chain's time zone


def test_hq_renames_restocks_and_stops_a_coupon_template(page: Any, container: Container, client: TestClient) -> None:
    make_template(container, "CASH20", stock=5, kind="cash", value="20")
    store_id = open_store(client)
    member_id = member_with_points(client, store_id, "13900003333")
    given = client.post(f"{API}/members/{member_id}/coupons", json={"template_code": "CASH20", "count": 2})
    assert given.status_code == 201, given.text
    staff_login(container, Role.HQ_ADMIN, "hq.coupon")
    log_in(page, "hq.coupon")
    page.goto("/console/coupons")

    page.get_by_role("link", name="修改 CASH20").click()
    edit = page.locator('form[action="/console/coupons/CASH20"]')
    edit.get_by_label("库存（空为不限）").fill("1")
    page.get_by_role("button", name="保存修改").click()
    assert page.locator('[data-error-for="stock"]').is_visible()
    with container.database.read() as session:
        template = session.get(CouponTemplate, "CASH20")
        assert template is not None and template.stock == 5

    edit.get_by_label("名称", exact=True).fill("20元代金券")
    edit.get_by_label("库存（空为不限）").fill("10")
    page.get_by_role("button", name="保存修改").click()
    assert page.get_by_role("status").inner_text() == "已保存 CASH20"
    row = page.locator('tr[data-template="CASH20"]')
    assert "20元代金券" in row.inner_text()
    assert row.locator('[data-field="stock"]').inner_text() == "10"
    with container.database.read() as session:
        template = session.get(CouponTemplate, "CASH20")
        assert template is not None and (template.name, template.stock, template.active) == ("20元代金券", 10, True)

    row.get_by_role("button", name="停发 CASH20").click()
    assert page.get_by_role("status").inner_text() == "已停发 CASH20"
    assert row.locator('[data-field="status"]').inner_text() == "已停发"
    refused = client.post(f"{API}/members/{member_id}/coupons", json={"template_code": "CASH20"})
    assert refused.status_code == 409 and refused.json()["code"] == "coupon_template_inactive"
    with container.database.read() as session:
        template = session.get(CouponTemplate, "CASH20")
        assert template is not None and template.issued_count == 2 and template.active is False


def test_the_screens_have_every_word_in_both_languages(page: Any, container: Container, client: TestClient) -> None:
    make_template(container, "CASH20", kind="cash", value="20")
    reward = {"id": "R1", "name": "马克杯", "kind": "merchandise", "points_price": 300, "levels": ["gold"]}
    assert client.post(f"{API}/mall/rewards", json=reward).status_code == 201
    prizes = [{"code": "C", "name": "20元券", "kind": "coupon", "weight": 1, "coupon_template_code": "CASH20"}]
    assert client.post(f"{API}/lotteries", json={"id": "L1", "name": "转盘", "prizes": prizes}).status_code == 201
    staff_login(container, Role.HQ_ADMIN, "hq.words")
    log_in(page, "hq.words")

    page.goto("/console/rewards")  # the old combined screen's address
    assert page.url.endswith("/console/mall")
    assert page.get_by_role("heading", name="积分商城", exact=True).is_visible()
    assert "金卡会员" in _row(page, "R1").inner_text()

    screens = (
        "/console/mall",
        "/console/mall/R1",
        "/console/lottery",
        "/console/lottery/L1",
        "/console/coupons?edit=CASH20",
    )
    raw_key = re.compile(r"\b(mall|lottery|coupons|console)\.[a-z_]+(\.[a-z_]+)*\b")
    for language, heading in (("zh", "修改礼品 R1"), ("en", "Change reward R1")):
        page.goto(f"/lang/{language}?next=/console/mall")  # the language switch of the top bar
        for screen in screens:
            page.goto(screen)
            found = raw_key.search(page.locator("main").inner_text())
            assert found is None, f"{screen} ({language}) shows {found.group(0) if found else ''}"
        page.goto("/console/mall/R1")
        assert page.get_by_role("heading", name=heading).is_visible()

    response = page.goto("/console/mall/NO-SUCH")
    assert response is not None and response.status == 404
    assert page.get_by_role("alert").get_by_text("No such reward in the points mall").is_visible()
    page.goto("/console/lottery/NO-SUCH")
    assert page.get_by_role("alert").get_by_text("No such lottery").is_visible()
