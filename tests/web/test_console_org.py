"""HQ runs the organisation in the console (总部后台): opens stores, creates staff accounts that can
then work the till, makes API keys whose secret (shown once) calls the API; a bad form shows the
Chinese message next to its field and saves nothing; other roles cannot open these screens."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select

from dinecard.platform.container import Container
from dinecard.security.domain import Role
from dinecard.security.models import ApiKey, AuditEntry, Staff
from dinecard.security.service import create_api_key
from dinecard.stores.models import Store
from dinecard.stores.service import create_store
from dinecard.web.templating import local_time
from tests.web.conftest import PASSWORD, log_in, screenshot, staff_login

CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese_message(locator: Any) -> str:
    """A validation message next to its field, in Chinese words (form_messages keeps the wording)."""
    text: str = locator.inner_text()
    assert CJK.search(text) and not re.search(r"[A-Za-z]{3,}", text), text
    return text


def _store(container: Container, code: str = "C001", name: str = "南京路店") -> str:
    with container.database.write() as uow:
        return create_store(uow, code, name, container.clock.now()).id


def _count(container: Container, model: Any) -> int:
    with container.database.read() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _audited(container: Container, action: str) -> list[AuditEntry]:
    with container.database.read() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


def test_hq_opens_a_store_and_a_cashier_for_it_who_then_works_the_till(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.sun")
    log_in(page, "hq.sun")

    page.get_by_role("link", name="门店", exact=True).click()
    assert page.get_by_role("heading", name="门店", exact=True).is_visible()
    # By keyboard alone: type, Tab to the next field, Enter submits.
    page.get_by_label("门店编号").focus()
    page.keyboard.type("SH-102")
    page.keyboard.press("Tab")
    page.keyboard.type("徐家汇店")
    page.keyboard.press("Enter")

    assert page.get_by_role("status").inner_text() == "已创建门店 SH-102"
    row = page.locator('table.stores tr[data-store="SH-102"]')
    assert row.get_by_text("徐家汇店").is_visible()
    with container.database.read() as session:
        store = session.execute(select(Store).where(Store.code == "SH-102")).scalar_one()
    assert store.name == "徐家汇店"
    assert len(_audited(container, "POST /console/stores")) == 1  # the API's write path: audited
    screenshot(page, "console-stores")

    row.get_by_role("link", name="为该店添加员工").click()
    assert page.url.endswith(f"/console/staff?store_id={store.id}")
    assert page.get_by_label("所属门店").input_value() == store.id  # chosen by the link
    page.get_by_label("用户名").fill("cashier.xu")
    page.get_by_label("姓名").fill("徐小红")
    page.get_by_label("角色").select_option(label="收银员")
    page.get_by_label("初始密码").fill(PASSWORD)
    page.get_by_role("button", name="创建账号").click()

    assert "已创建账号 cashier.xu" in page.get_by_role("status").inner_text()
    account = page.locator('table.staff tr[data-username="cashier.xu"]')
    assert account.get_by_text("徐小红").is_visible()
    assert account.get_by_text("收银员").is_visible()
    assert account.get_by_text("SH-102 徐家汇店").is_visible()
    assert account.get_by_text("正常").is_visible()
    with container.database.read() as session:
        staff = session.execute(select(Staff).where(Staff.username == "cashier.xu")).scalar_one()
    assert (staff.role, staff.store_id, staff.display_name, staff.disabled_at) == ("cashier", store.id, "徐小红", None)
    assert PASSWORD not in staff.password_hash
    [entry] = _audited(container, "POST /console/staff")
    assert PASSWORD not in str(entry.after)
    screenshot(page, "console-staff")

    page.get_by_role("button", name="退出登录").click()
    log_in(page, "cashier.xu")
    assert page.url.endswith("/till")
    assert page.get_by_text("徐小红").first.is_visible()


def test_a_taken_store_code_or_a_bad_code_saves_nothing(page: Any, container: Container) -> None:
    _store(container, "C001", "南京路店")
    staff_login(container, Role.HQ_ADMIN, "hq.qian")
    log_in(page, "hq.qian")
    page.goto("/console/stores")

    page.get_by_label("门店编号").fill("C001")
    page.get_by_label("门店名称").fill("另一家店")
    page.get_by_role("button", name="创建门店").click()
    assert page.locator("#code-error").inner_text() == "门店编号已存在"
    assert page.get_by_label("门店编号").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("门店名称").input_value() == "另一家店"  # the form is kept

    page.get_by_label("门店编号").fill("C 002")
    page.get_by_role("button", name="创建门店").click()
    chinese_message(page.locator("#code-error"))  # the hint under the input says how
    assert _count(container, Store) == 1
    assert page.locator("table.stores tbody tr").count() == 1


def test_a_bad_staff_form_shows_the_chinese_message_next_to_the_field_and_saves_nothing(
    page: Any, container: Container
) -> None:
    store_id = _store(container)
    staff_login(container, Role.CASHIER, "cashier.li", store_id)
    staff_login(container, Role.HQ_ADMIN, "hq.wang")
    log_in(page, "hq.wang")
    page.goto("/console/staff")
    before = _count(container, Staff)

    page.get_by_label("用户名").fill("cashier.li")  # taken
    page.get_by_label("姓名").fill("李四")
    page.get_by_label("所属门店").select_option(store_id)
    page.get_by_label("初始密码").fill("long enough 1")
    page.get_by_role("button", name="创建账号").click()
    assert page.locator("#username-error").inner_text() == "用户名已存在"
    assert page.get_by_label("用户名").input_value() == "cashier.li"
    assert page.get_by_label("初始密码").input_value() == ""  # a password is never sent back

    page.get_by_label("用户名").fill("cashier.zhou")
    page.get_by_label("所属门店").select_option("")  # a cashier without a store
    page.get_by_label("初始密码").fill("long enough 1")
    page.get_by_role("button", name="创建账号").click()
    assert page.locator("#store_id-error").inner_text() == "收银员和店长必须归属一个门店"
    screenshot(page, "console-staff-refused")

    page.get_by_label("所属门店").select_option(store_id)
    page.get_by_label("初始密码").fill("short")
    page.get_by_role("button", name="创建账号").click()
    assert "8" in chinese_message(page.locator("#password-error"))
    assert page.get_by_role("alert").first.is_visible()

    assert _count(container, Staff) == before
    assert page.locator('table.staff tr[data-username="cashier.zhou"]').count() == 0
    assert _audited(container, "POST /console/staff") == []


def test_an_api_key_made_in_the_console_calls_the_api_and_its_secret_is_shown_once(
    page: Any, container: Container, live_server: str
) -> None:
    store_id = _store(container, "C009", "静安寺店")
    staff_login(container, Role.HQ_ADMIN, "hq.li")
    log_in(page, "hq.li")
    page.get_by_role("link", name="接口密钥").click()

    page.get_by_label("名称").fill("静安寺店 POS 1")
    page.get_by_label("权限（角色）").select_option("cashier")
    page.get_by_role("button", name="生成密钥").click()  # a cashier key without a store
    assert page.locator("#store_id-error").inner_text() == "收银员和店长必须归属一个门店"
    assert _count(container, ApiKey) == 0

    page.get_by_label("门店").select_option(store_id)
    page.get_by_role("button", name="生成密钥").click()
    assert "只显示这一次" in page.get_by_role("alert").inner_text()
    secret = page.get_by_label("密钥（只显示这一次）").input_value()
    assert secret.startswith("dc_")
    screenshot(page, "console-keys")

    with container.database.read() as session:
        key = session.execute(select(ApiKey)).scalar_one()
    assert (key.name, key.role, key.store_id, key.revoked_at) == ("静安寺店 POS 1", "cashier", store_id, None)
    assert secret.startswith(f"dc_{key.prefix}.") and secret.split(".", 1)[1] not in key.secret_sha256
    [entry] = _audited(container, "POST /console/keys")
    assert secret not in str(entry.after)  # the audit log keeps no secret

    with httpx.Client(base_url=live_server) as api:  # no login cookie: the key alone
        me = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200
        assert (me.json()["role"], me.json()["store_id"], me.json()["kind"]) == ("cashier", store_id, "api_key")
        assert api.get("/api/v1/stores", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        forged = secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")
        assert api.get("/api/v1/stores", headers={"Authorization": f"Bearer {forged}"}).status_code == 401

    page.get_by_role("link", name="我已保存，返回密钥列表").click()
    assert secret not in page.content()  # shown once: the list has the prefix only
    row = page.locator(f'table.keys tr[data-prefix="{key.prefix}"]')
    assert row.get_by_text(f"dc_{key.prefix}.…").is_visible()
    assert row.get_by_text("C009 静安寺店").is_visible()
    assert row.get_by_text("有效").is_visible()
    # the key was used above: the list says when, not "never"
    with container.database.read() as session:
        used_at = session.execute(select(ApiKey.last_used_at)).scalar_one()
    assert used_at is not None
    assert row.get_by_text("从未使用").count() == 0
    assert row.locator("td").nth(5).inner_text() == local_time(used_at)


def test_the_screens_speak_english_when_asked(page: Any, container: Container) -> None:
    staff_login(container, Role.HQ_ADMIN, "hq.en")
    log_in(page, "hq.en")
    page.goto("/lang/en?next=/console/stores")
    assert page.get_by_role("heading", name="Stores", exact=True).is_visible()
    page.get_by_label("Store code").fill("C 1")
    page.get_by_role("button", name="Create store").click()
    assert page.locator("#code-error").is_visible() and not CJK.search(page.locator("#code-error").inner_text())
    assert page.get_by_label("Store code").get_attribute("aria-describedby") == "code-hint code-error"
    for path, heading in (("/console/staff", "Staff accounts"), ("/console/keys", "API keys")):
        page.goto(path)
        assert page.get_by_role("heading", name=heading, exact=True).is_visible()
        text = page.locator("main").inner_text()
        assert "staff." not in text and "keys." not in text and "org." not in text  # no message key left


def test_only_hq_opens_the_organisation_screens(page: Any, container: Container) -> None:
    store_id = staff_login(container, Role.STORE_MANAGER, "manager.he")
    log_in(page, "manager.he")
    for path in ("/console/stores", "/console/staff", "/console/keys"):
        page.goto(path)
        assert f"/login?next={path}" in page.url
    before = _count(container, Staff)
    form = {"username": "sneaky.one", "display_name": "x", "role": "hq_admin", "password": "long enough 1"}
    answer = page.request.post("/console/staff", form=form, max_redirects=0)
    assert answer.status == 303 and answer.headers["location"] == "/login?next=/console/staff"
    answer = page.request.post("/console/keys", form={"name": "k", "role": "hq_admin"}, max_redirects=0)
    assert answer.status == 303
    answer = page.request.post("/console/stores", form={"code": "X1", "name": "x"}, max_redirects=0)
    assert answer.status == 303
    assert _count(container, Staff) == before
    assert _count(container, ApiKey) == 0
    with container.database.read() as session:
        assert session.execute(select(Store.id)).scalars().all() == [store_id]


def test_hq_revokes_a_key_after_confirming_and_the_api_refuses_it(
    page: Any, container: Container, live_server: str
) -> None:
    store_id = _store(container, "C010", "五角场店")
    with container.database.write() as uow:
        key_id, secret = create_api_key(uow, "五角场店 POS", Role.CASHIER, store_id, container.clock.now())
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=live_server) as api:
        assert api.get("/api/v1/stores", headers=headers).status_code == 200  # remembered by the server
        staff_login(container, Role.HQ_ADMIN, "hq.wei")
        log_in(page, "hq.wei")
        page.goto("/console/keys")
        page.get_by_role("link", name="吊销 五角场店 POS").click()
        assert "无法恢复" in page.get_by_role("alert").inner_text()
        page.get_by_role("link", name="取消").click()  # nothing happens on the way back
        assert api.get("/api/v1/stores", headers=headers).status_code == 200

        page.get_by_role("link", name="吊销 五角场店 POS").click()
        screenshot(page, "console-keys-revoke")
        page.get_by_role("button", name="确认吊销").click()

        assert page.get_by_role("status").inner_text() == "已吊销密钥 五角场店 POS"
        assert api.get("/api/v1/stores", headers=headers).status_code == 401  # at once
    with container.database.read() as session:
        key = session.get(ApiKey, key_id)
        assert key is not None and key.revoked_at is not None
    row = page.locator(f'table.keys tr[data-prefix="{key.prefix}"]')
    assert row.get_by_text("已吊销").is_visible()
    assert row.get_by_role("link", name="吊销 五角场店 POS").count() == 0


def test_hq_disables_enables_and_resets_the_password_of_a_cashier(page: Any, container: Container) -> None:
    store_id = _store(container)
    staff_login(container, Role.CASHIER, "cashier.ma", store_id)
    staff_login(container, Role.HQ_ADMIN, "hq.he")
    log_in(page, "hq.he")
    page.goto("/console/staff")
    assert page.get_by_role("button", name="停用 hq.he").count() == 0  # not one's own account

    page.get_by_role("button", name="停用 cashier.ma").click()
    assert "已停用 cashier.ma" in page.get_by_role("status").inner_text()
    assert page.locator('tr[data-username="cashier.ma"]').get_by_text("已停用").is_visible()
    with container.database.read() as session:
        account = session.execute(select(Staff).where(Staff.username == "cashier.ma")).scalar_one()
    assert account.disabled_at is not None

    page.get_by_role("link", name="为 cashier.ma 重置密码").click()
    page.get_by_label("新密码").fill("short")
    page.get_by_role("button", name="保存").click()
    assert "8" in chinese_message(page.locator("#password-error"))
    page.get_by_label("新密码").fill("a brand new one")
    page.get_by_role("button", name="保存").click()
    assert page.get_by_role("status").inner_text() == "已为 cashier.ma 重置密码"

    page.get_by_role("button", name="启用 cashier.ma").click()
    assert page.get_by_role("status").inner_text() == "已启用 cashier.ma"
    screenshot(page, "console-staff-actions")
    page.get_by_role("button", name="退出登录").click()

    log_in(page, "cashier.ma")  # the old password
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误"
    page.get_by_label("用户名").fill("cashier.ma")
    page.get_by_label("密码").fill("a brand new one")
    page.get_by_role("button", name="登录").click()
    assert page.url.endswith("/till")


def test_hq_renames_a_store(page: Any, container: Container) -> None:
    store_id = _store(container, "C001", "南京路店")
    staff_login(container, Role.HQ_ADMIN, "hq.ren")
    log_in(page, "hq.ren")
    page.goto("/console/stores")
    page.get_by_role("link", name="修改 C001 的名称").click()
    page.get_by_label("门店名称").fill("")
    page.get_by_role("button", name="保存").click()
    chinese_message(page.locator("#name-error"))
    page.get_by_label("门店名称").fill("南京东路旗舰店")
    page.get_by_role("button", name="保存").click()
    assert page.get_by_role("status").inner_text() == "已修改门店 C001 的名称"
    assert page.locator('tr[data-store="C001"]').get_by_text("南京东路旗舰店").is_visible()
    with container.database.read() as session:
        store = session.get(Store, store_id)
        assert store is not None and store.name == "南京东路旗舰店"
