"""The authorization table (R-SEC-1) walked against the running app.

Every endpoint under /api/v1 × every role × the caller's own store and another store, with real
data behind each call: the answer must be what POLICY promises (2xx, 403 forbidden, 403
wrong_store), and every endpoint but login refuses a caller without a credential (401). A route
missing from ENDPOINTS fails the walk, so a new endpoint cannot slip through unchecked; a
disagreement between docs/security.md and POLICY fails too.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from dinecard.platform.container import Container
from dinecard.program.presets import DEFAULT
from dinecard.security import risk_events
from dinecard.security.domain import Role
from dinecard.security.policy import POLICY, Scope
from dinecard.security.service import create_api_key
from tests.api.helpers import API, assert_problem, checkout, open_store, recharge, register
from tests.conftest import make_token
from tests.security_access.helpers import PASSWORD, bearer, create_staff

ROLES = (Role.CASHIER, Role.STORE_MANAGER, Role.HQ_ADMIN)
OWN, OTHER = "own store", "other store"
SECURITY_DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
# Decided by a second credential on a refund or an adjustment (X-Approval), not by an endpoint of its own.
ACTIONS_WITHOUT_ENDPOINT = frozenset({"approval.decide"})


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    params: dict[str, str] | None = None


@dataclass
class World:
    """Two stores, a member of store A with money, a checkout at each store; callers at store A."""

    hq: TestClient
    container: Container
    store_a: str
    store_b: str
    member_id: str
    phone: str
    checkout_a: str
    checkout_b: str
    staff_username: str
    callers: dict[Role, str]
    phones: list[str] = field(default_factory=list)  # every phone registered: none may appear in an answer
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _made: dict[str, str] = field(default_factory=dict)

    def store(self, where: str) -> str:
        return self.store_a if where == OWN else self.store_b

    def unique(self) -> int:
        return next(self._numbers)

    def new_phone(self) -> str:
        phone = f"1390000{self.unique():04d}"
        self.phones.append(phone)
        return phone

    def fresh_member(self, store_id: str | None = None) -> str:
        """A member of its own, for a call that changes what it touches for good."""
        return str(register(self.hq, self.new_phone(), store_id=store_id)["id"])

    def fresh_recharge(self, store_id: str) -> str:
        return str(recharge(self.hq, self.fresh_member(store_id), store_id, "200.00")["order_no"])

    def frozen_member(self) -> str:
        member_id = self.fresh_member()
        response = self.hq.post(f"{API}/members/{member_id}/freeze")
        assert response.status_code == 200, response.text
        return member_id

    def made(self, key: str, make: Callable[[], str]) -> str:
        """Something the walk needs once (a dish, a template, a lottery), made on first use."""
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def created(self, url: str, body: dict[str, Any], field_name: str = "id") -> str:
        response = self.hq.post(API + url, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()[field_name])

    def dish(self) -> str:
        return self.made(
            "dish",
            lambda: self.created("/dishes", {"id": "W001", "name": "毛肚", "category": "涮菜", "price": "68.00"}),
        )

    def template(self) -> str:
        body = {"code": "WALK20", "name": "20元券", "kind": "cash", "value": "20", "validity": {"days": 30}}
        return self.made("template", lambda: self.created("/coupon-templates", body, "code"))

    def dish_template(self) -> str:
        body = {
            "code": "WALKDISH",
            "name": "毛肚券",
            "kind": "dish",
            "dish_ids": [self.dish()],
            "validity": {"days": 30},
        }
        return self.made("dish_template", lambda: self.created("/coupon-templates", body, "code"))

    def fresh_coupon(self) -> str:
        response = self.hq.post(f"{API}/members/{self.member_id}/coupons", json={"template_code": self.template()})
        assert response.status_code == 201, response.text
        return str(response.json()[0]["code"])

    def stamp_card(self) -> str:
        body = {"id": "WALK10", "name": "集杯卡", "dish_ids": [self.dish()], "stamps_needed": 10}
        return self.made(
            "stamp_card", lambda: self.created("/stamp-cards", {**body, "reward_template_code": self.dish_template()})
        )

    def lottery(self) -> str:
        prize = {"code": "N", "name": "谢谢参与", "kind": "nothing", "weight": 1}
        body = {"id": "WALKDRAW", "name": "抽奖", "prizes": [prize]}
        return self.made("lottery", lambda: self.created("/lotteries", body))

    def draw_no(self) -> str:
        body = {"lottery_id": self.lottery(), "store_id": self.store_a}
        return self.made("draw", lambda: self.created(f"/members/{self.member_id}/draws", body, "draw_no"))

    def reward(self) -> str:
        body = {"id": "WALK-CUP", "name": "马克杯", "kind": "merchandise", "points_price": 10}
        return self.made("reward", lambda: self.created("/mall/rewards", body))

    def fresh_redemption(self, store_id: str) -> str:
        body = {"reward_id": self.reward(), "store_id": store_id}
        return self.created(f"/members/{self.member_id}/redemptions", body, "order_no")

    def member_who_may_buy_silver(self, store_id: str) -> str:
        """A new member with points, under a programme that sells silver for 50 points."""
        levels = [dict(level) for level in DEFAULT["levels"]]
        levels[1]["points_price"] = 50
        response = self.hq.put(f"{API}/program", json={"program": {**DEFAULT, "levels": levels}, "note": "walk"})
        assert response.status_code == 201, response.text
        member_id = self.fresh_member(store_id)
        recharge(self.hq, member_id, store_id, "200.00")  # 100 points, still a regular member
        return member_id

    def fresh_key(self) -> str:
        """A POS key of store B, for a call that revokes it."""
        with self.container.database.write() as uow:
            key_id, _token = create_api_key(
                uow, f"walk {self.unique()}", Role.CASHIER, self.store_b, self.container.clock.now()
            )
        return key_id

    def staff_account(self) -> str:
        body = {"username": "walk.account", "password": "a long password", "display_name": "走查", "role": "cashier"}
        return self.made("staff_account", lambda: self.created("/staff", {**body, "store_id": self.store_b}))

    def open_risk_event(self) -> int:
        finding = risk_events.Finding("table_walk", risk_events.Severity.INFO, f"table_walk:{self.unique()}")
        with self.container.database.write() as uow:
            event_id = risk_events.raise_event(uow, finding, self.container.clock.now())
        assert event_id is not None
        return event_id


@dataclass(frozen=True)
class Endpoint:
    """A row of the table: the route, the POLICY action it checks and a call that succeeds when allowed."""

    name: str
    method: str
    path: str  # the route template under /api/v1
    action: str | None  # None: open to any signed-in caller (or, if public, to anyone)
    success: int
    call: Callable[[World, str], Call]  # (world, store the call acts at) → the request
    store_scoped: bool = False  # the call names a store: tried at the caller's own store and at another
    public: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "open a store",
        "POST",
        "/stores",
        "store.create",
        201,
        lambda w, s: Call("POST", "/stores", {"code": f"T{w.unique()}", "name": "表测试店"}),
    ),
    Endpoint("list stores", "GET", "/stores", "store.list", 200, lambda w, s: Call("GET", "/stores")),
    Endpoint(
        "rename a store",
        "PATCH",
        "/stores/{store_id}",
        "store.update",
        200,
        lambda w, s: Call("PATCH", f"/stores/{w.store_b}", {"name": f"改名店 {w.unique()}"}),
    ),
    Endpoint(
        "register a member",
        "POST",
        "/members",
        "member.register",
        201,
        lambda w, s: Call("POST", "/members", {"phone": w.new_phone(), "store_id": s}),
        store_scoped=True,
    ),
    Endpoint(
        "find a member by phone",
        "GET",
        "/members",
        "member.read",
        200,
        lambda w, s: Call("GET", "/members", params={"phone": w.phone}),
    ),
    Endpoint(
        "read a member",
        "GET",
        "/members/{member_id}",
        "member.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}"),
    ),
    Endpoint(
        "read a member's code",
        "GET",
        "/members/{member_id}/member-code",
        "member.code",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/member-code"),
    ),
    Endpoint(
        "change a profile",
        "PATCH",
        "/members/{member_id}",
        "member.update",
        200,
        lambda w, s: Call("PATCH", f"/members/{w.member_id}", {"name": "张三"}),
    ),
    Endpoint(
        "freeze a card",
        "POST",
        "/members/{member_id}/freeze",
        "member.freeze",
        200,
        lambda w, s: Call("POST", f"/members/{w.fresh_member()}/freeze"),
    ),
    Endpoint(
        "unfreeze a card",
        "POST",
        "/members/{member_id}/unfreeze",
        "member.freeze",
        200,
        lambda w, s: Call("POST", f"/members/{w.frozen_member()}/unfreeze"),
    ),
    Endpoint(
        "close a card",  # POLICY says store-scoped, but the call names no store: see the xfail test below
        "POST",
        "/members/{member_id}/close",
        "member.close",
        200,
        lambda w, s: Call("POST", f"/members/{w.fresh_member(s)}/close", {"reason": "moving away"}),
    ),
    Endpoint(
        "recharge",
        "POST",
        "/members/{member_id}/recharges",
        "wallet.recharge",
        201,
        lambda w, s: Call(
            "POST", f"/members/{w.member_id}/recharges", {"amount": "100.00", "payment_method": "cash", "store_id": s}
        ),
        store_scoped=True,
    ),
    Endpoint(
        "check out",
        "POST",
        "/members/{member_id}/checkouts",
        "wallet.checkout",
        201,
        lambda w, s: Call("POST", f"/members/{w.member_id}/checkouts", {"store_id": s, "bill_total": "10.00"}),
        store_scoped=True,
    ),
    Endpoint(
        "price a bill",
        "POST",
        "/members/{member_id}/quote",
        "wallet.quote",
        200,
        lambda w, s: Call("POST", f"/members/{w.member_id}/quote", {"store_id": s, "bill_total": "10.00"}),
        store_scoped=True,
    ),
    Endpoint(
        "refund part of a checkout",
        "POST",
        "/orders/{order_no}/refunds",
        "wallet.refund",
        201,
        lambda w, s: Call(
            "POST", f"/orders/{w.checkout_a if s == w.store_a else w.checkout_b}/refunds", {"amount": "1.00"}
        ),
        store_scoped=True,
    ),
    Endpoint(
        "refund a recharge",
        "POST",
        "/orders/{order_no}/refunds",
        "wallet.refund",
        201,
        lambda w, s: Call("POST", f"/orders/{w.fresh_recharge(s)}/refunds", {"reason": "changed mind"}),
        store_scoped=True,
    ),
    Endpoint(
        "adjust a balance",
        "POST",
        "/members/{member_id}/adjustments",
        "member.adjust",
        201,
        lambda w, s: Call(
            "POST",
            f"/members/{w.member_id}/adjustments",
            {"store_id": s, "principal": "1.00", "points": 5, "reason": "till miscounted"},
        ),
        store_scoped=True,
    ),
    Endpoint(
        "money history",
        "GET",
        "/members/{member_id}/transactions",
        "history.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/transactions"),
    ),
    Endpoint(
        "points history",
        "GET",
        "/members/{member_id}/points-history",
        "history.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/points-history"),
    ),
    Endpoint("read the programme", "GET", "/program", "program.read", 200, lambda w, s: Call("GET", "/program")),
    Endpoint(
        "change the programme",
        "PUT",
        "/program",
        "program.change",
        201,
        lambda w, s: Call("PUT", "/program", {"program": DEFAULT, "note": "same again"}),
    ),
    Endpoint(
        "programme versions",
        "GET",
        "/program/versions",
        "program.read",
        200,
        lambda w, s: Call("GET", "/program/versions"),
    ),
    Endpoint(
        "programme presets",
        "GET",
        "/program/presets",
        "program.read",
        200,
        lambda w, s: Call("GET", "/program/presets"),
    ),
    Endpoint(
        "log in",
        "POST",
        "/auth/login",
        None,
        200,
        lambda w, s: Call("POST", "/auth/login", {"username": w.staff_username, "password": PASSWORD}),
        public=True,
    ),
    Endpoint("log out", "POST", "/auth/logout", None, 204, lambda w, s: Call("POST", "/auth/logout")),
    Endpoint("who am I", "GET", "/auth/me", None, 200, lambda w, s: Call("GET", "/auth/me")),
    Endpoint(
        "create a staff account",
        "POST",
        "/staff",
        "staff.manage",
        201,
        lambda w, s: Call(
            "POST",
            "/staff",
            {
                "username": f"walker{w.unique()}",
                "password": "a long password",
                "display_name": "收银员",
                "role": "cashier",
                "store_id": w.store_a,
            },
        ),
    ),
    Endpoint("list staff", "GET", "/staff", "staff.manage", 200, lambda w, s: Call("GET", "/staff")),
    Endpoint(
        "disable a staff account",
        "POST",
        "/staff/{staff_id}/disable",
        "staff.manage",
        200,
        lambda w, s: Call("POST", f"/staff/{w.staff_account()}/disable"),
    ),
    Endpoint(
        "enable a staff account",
        "POST",
        "/staff/{staff_id}/enable",
        "staff.manage",
        200,
        lambda w, s: Call("POST", f"/staff/{w.staff_account()}/enable"),
    ),
    Endpoint(
        "set a staff password",
        "POST",
        "/staff/{staff_id}/password",
        "staff.manage",
        200,
        lambda w, s: Call("POST", f"/staff/{w.staff_account()}/password", {"password": "another long one"}),
    ),
    Endpoint("list API keys", "GET", "/api-keys", "apikey.manage", 200, lambda w, s: Call("GET", "/api-keys")),
    Endpoint(
        "revoke an API key",
        "POST",
        "/api-keys/{key_id}/revoke",
        "apikey.manage",
        200,
        lambda w, s: Call("POST", f"/api-keys/{w.fresh_key()}/revoke"),
    ),
    Endpoint(
        "create an API key",
        "POST",
        "/api-keys",
        "apikey.manage",
        201,
        lambda w, s: Call(
            "POST", "/api-keys", {"name": f"till {w.unique()}", "role": "cashier", "store_id": w.store_a}
        ),
    ),
    Endpoint("list risk events", "GET", "/risk-events", "risk.read", 200, lambda w, s: Call("GET", "/risk-events")),
    Endpoint(
        "resolve a risk event",
        "POST",
        "/risk-events/{event_id}/resolve",
        "risk.resolve",
        200,
        lambda w, s: Call("POST", f"/risk-events/{w.open_risk_event()}/resolve", {"note": "checked with the store"}),
    ),
)


def _dish_body(w: World) -> dict[str, Any]:
    return {"name": "毛肚", "category": "涮菜", "price": "72.00"}


def _stamp_card_body(w: World) -> dict[str, Any]:
    return {"name": "集杯卡", "dish_ids": [w.dish()], "stamps_needed": 10, "reward_template_code": w.dish_template()}


_NOTHING = {"code": "N", "name": "谢谢参与", "kind": "nothing", "weight": 1}

REWARD_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("read the menu", "GET", "/dishes", "menu.read", 200, lambda w, s: Call("GET", "/dishes")),
    Endpoint(
        "read a dish", "GET", "/dishes/{dish_id}", "menu.read", 200, lambda w, s: Call("GET", f"/dishes/{w.dish()}")
    ),
    Endpoint(
        "add a dish",
        "POST",
        "/dishes",
        "menu.manage",
        201,
        lambda w, s: Call("POST", "/dishes", {"id": f"X{w.unique()}", **_dish_body(w)}),
    ),
    Endpoint(
        "change a dish",
        "PUT",
        "/dishes/{dish_id}",
        "menu.manage",
        200,
        lambda w, s: Call("PUT", f"/dishes/{w.dish()}", _dish_body(w)),
    ),
    Endpoint(
        "list coupon templates",
        "GET",
        "/coupon-templates",
        "coupon_template.read",
        200,
        lambda w, s: Call("GET", "/coupon-templates"),
    ),
    Endpoint(
        "read a coupon template",
        "GET",
        "/coupon-templates/{template_code}",
        "coupon_template.read",
        200,
        lambda w, s: Call("GET", f"/coupon-templates/{w.template()}"),
    ),
    Endpoint(
        "create a coupon template",
        "POST",
        "/coupon-templates",
        "coupon_template.manage",
        201,
        lambda w, s: Call(
            "POST",
            "/coupon-templates",
            {"code": f"T{w.unique()}", "name": "券", "kind": "cash", "value": "5", "validity": {"days": 3}},
        ),
    ),
    Endpoint(
        "restock a coupon template",
        "PATCH",
        "/coupon-templates/{template_code}",
        "coupon_template.manage",
        200,
        lambda w, s: Call("PATCH", f"/coupon-templates/{w.template()}", {"stock": 1000}),
    ),
    Endpoint(
        "give a member a coupon",
        "POST",
        "/members/{member_id}/coupons",
        "coupon.issue",
        201,
        lambda w, s: Call("POST", f"/members/{w.member_id}/coupons", {"template_code": w.template()}),
    ),
    Endpoint(
        "a member's coupons",
        "GET",
        "/members/{member_id}/coupons",
        "coupon.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/coupons"),
    ),
    Endpoint(
        "look a coupon up",
        "GET",
        "/coupons/{coupon_code}",
        "coupon.read",
        200,
        lambda w, s: Call("GET", f"/coupons/{w.fresh_coupon()}"),
    ),
    Endpoint(
        "void a coupon",
        "POST",
        "/coupons/{coupon_code}/void",
        "coupon.void",
        200,
        lambda w, s: Call("POST", f"/coupons/{w.fresh_coupon()}/void", {"reason": "issued by mistake"}),
    ),
    Endpoint(
        "list stamp cards", "GET", "/stamp-cards", "stamp_card.read", 200, lambda w, s: Call("GET", "/stamp-cards")
    ),
    Endpoint(
        "create a stamp card",
        "POST",
        "/stamp-cards",
        "stamp_card.manage",
        201,
        lambda w, s: Call("POST", "/stamp-cards", {"id": f"SC{w.unique()}", **_stamp_card_body(w)}),
    ),
    Endpoint(
        "change a stamp card",
        "PUT",
        "/stamp-cards/{card_id}",
        "stamp_card.manage",
        200,
        lambda w, s: Call("PUT", f"/stamp-cards/{w.stamp_card()}", _stamp_card_body(w)),
    ),
    Endpoint(
        "a member's stamps",
        "GET",
        "/members/{member_id}/stamps",
        "stamp_card.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/stamps"),
    ),
    Endpoint(
        "rewards history",
        "GET",
        "/members/{member_id}/rewards-history",
        "history.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/rewards-history"),
    ),
    Endpoint("list lotteries", "GET", "/lotteries", "lottery.read", 200, lambda w, s: Call("GET", "/lotteries")),
    Endpoint(
        "read a lottery",
        "GET",
        "/lotteries/{lottery_id}",
        "lottery.read",
        200,
        lambda w, s: Call("GET", f"/lotteries/{w.lottery()}"),
    ),
    Endpoint(
        "create a lottery",
        "POST",
        "/lotteries",
        "lottery.manage",
        201,
        lambda w, s: Call("POST", "/lotteries", {"id": f"L{w.unique()}", "name": "抽奖", "prizes": [_NOTHING]}),
    ),
    Endpoint(
        "change a lottery",
        "PATCH",
        "/lotteries/{lottery_id}",
        "lottery.manage",
        200,
        lambda w, s: Call("PATCH", f"/lotteries/{w.lottery()}", {"name": "新年抽奖"}),
    ),
    Endpoint(
        "replace a prize table",
        "PUT",
        "/lotteries/{lottery_id}/prizes",
        "lottery.manage",
        200,
        lambda w, s: Call("PUT", f"/lotteries/{w.lottery()}/prizes", {"prizes": [_NOTHING]}),
    ),
    Endpoint(
        "draw",
        "POST",
        "/members/{member_id}/draws",
        "lottery.draw",
        201,
        lambda w, s: Call("POST", f"/members/{w.member_id}/draws", {"lottery_id": w.lottery(), "store_id": s}),
        store_scoped=True,
    ),
    Endpoint(
        "a member's draws",
        "GET",
        "/members/{member_id}/draws",
        "lottery.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/draws"),
    ),
    Endpoint(
        "audit a draw",
        "GET",
        "/draws/{draw_no}",
        "lottery.read",
        200,
        lambda w, s: Call("GET", f"/draws/{w.draw_no()}"),
    ),
)
MALL_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("list the mall", "GET", "/mall/rewards", "mall.read", 200, lambda w, s: Call("GET", "/mall/rewards")),
    Endpoint(
        "read a reward",
        "GET",
        "/mall/rewards/{reward_id}",
        "mall.read",
        200,
        lambda w, s: Call("GET", f"/mall/rewards/{w.reward()}"),
    ),
    Endpoint(
        "add a reward",
        "POST",
        "/mall/rewards",
        "mall.manage",
        201,
        lambda w, s: Call(
            "POST",
            "/mall/rewards",
            {"id": f"R{w.unique()}", "name": "帆布袋", "kind": "merchandise", "points_price": 5},
        ),
    ),
    Endpoint(
        "change a reward",
        "PATCH",
        "/mall/rewards/{reward_id}",
        "mall.manage",
        200,
        lambda w, s: Call("PATCH", f"/mall/rewards/{w.reward()}", {"points_price": 10}),
    ),
    Endpoint(
        "redeem a reward",
        "POST",
        "/members/{member_id}/redemptions",
        "mall.redeem",
        201,
        lambda w, s: Call("POST", f"/members/{w.member_id}/redemptions", {"reward_id": w.reward(), "store_id": s}),
        store_scoped=True,
    ),
    Endpoint(
        "cancel a redemption",
        "POST",
        "/redemptions/{order_no}/cancel",
        "mall.cancel",
        200,
        lambda w, s: Call("POST", f"/redemptions/{w.fresh_redemption(s)}/cancel", {"reason": "changed mind"}),
        store_scoped=True,
    ),
    Endpoint(
        "a member's redemptions",
        "GET",
        "/members/{member_id}/redemptions",
        "mall.read",
        200,
        lambda w, s: Call("GET", f"/members/{w.member_id}/redemptions"),
    ),
    Endpoint(
        "read a redemption",
        "GET",
        "/redemptions/{order_no}",
        "mall.read",
        200,
        lambda w, s: Call("GET", f"/redemptions/{w.fresh_redemption(w.store_a)}"),
    ),
    Endpoint(
        "buy a level with points",
        "POST",
        "/members/{member_id}/level-purchases",
        "level.purchase",
        201,
        lambda w, s: Call(
            "POST",
            f"/members/{w.member_who_may_buy_silver(s)}/level-purchases",
            {"level_code": "silver", "store_id": s},
        ),
        store_scoped=True,
    ),
)
ENDPOINTS = ENDPOINTS + REWARD_ENDPOINTS + MALL_ENDPOINTS


def expected_answer(endpoint: Endpoint, role: Role, where: str) -> tuple[int, str | None]:
    """What POLICY promises `role` calling `endpoint` at `where`: (status, problem code)."""
    if endpoint.action is None:
        return endpoint.success, None
    rule = POLICY[endpoint.action]
    if role not in rule.roles:
        return 403, "forbidden"
    if where == OTHER and rule.scope is Scope.STORE and role is not Role.HQ_ADMIN:
        return 403, "wrong_store"
    return endpoint.success, None


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, template) of every route under /api/v1, from the router and from the OpenAPI document."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        # FastAPI 0.16x keeps included routers as one entry that knows its routes' full templates.
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]
        for context in contexts:
            path = getattr(context, "path", None)
            if isinstance(path, str) and path.startswith(API + "/"):
                found.update((method, path.removeprefix(API)) for method in context.methods or () if method != "HEAD")
    for path, operations in app.openapi()["paths"].items():
        if path.startswith(API + "/"):
            found.update((method.upper(), path.removeprefix(API)) for method in operations)
    return found


def build_world(client: TestClient, container: Container) -> World:
    # given two stores, a member of store A with money and points, a checkout at each store
    store_a = open_store(client, "A001", "人民广场店")
    store_b = open_store(client, "B001", "徐家汇店")
    phone = "13812341234"
    member_id = str(register(client, phone, store_id=store_a)["id"])
    recharge(client, member_id, store_a, "2000.00")
    recharge(client, member_id, store_b, "1000.00")
    checkout_a = str(checkout(client, member_id, store_a, "100.00")["order_no"])
    checkout_b = str(checkout(client, member_id, store_b, "100.00")["order_no"])
    create_staff(client, "table.walker", Role.CASHIER, store_a)
    callers = {
        Role.CASHIER: make_token(container, Role.CASHIER, store_a),
        Role.STORE_MANAGER: make_token(container, Role.STORE_MANAGER, store_a),
        Role.HQ_ADMIN: make_token(container, Role.HQ_ADMIN),
    }
    return World(
        hq=client,
        container=container,
        store_a=store_a,
        store_b=store_b,
        member_id=member_id,
        phone=phone,
        checkout_a=checkout_a,
        checkout_b=checkout_b,
        staff_username="table.walker",
        callers=callers,
        phones=[phone],
    )


def send(client: TestClient, call: Call, headers: dict[str, str] | None = None) -> Any:
    return client.request(call.method, API + call.url, json=call.json, params=call.params, headers=headers)


# ---------------------------------------------------------------- the table itself


def test_every_api_route_has_a_row_in_the_table_and_every_row_a_route(client: TestClient) -> None:
    assert isinstance(client.app, FastAPI)
    routes = api_routes(client.app)
    rows = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}

    assert routes - rows == set(), "routes missing from ENDPOINTS: add a row for each"
    assert rows - routes == set(), "rows of ENDPOINTS for routes that no longer exist"


def test_every_action_of_the_policy_is_exercised_by_an_endpoint() -> None:
    used = {endpoint.action for endpoint in ENDPOINTS if endpoint.action is not None}

    assert used | ACTIONS_WITHOUT_ENDPOINT == set(POLICY)
    assert all(POLICY[endpoint.action] for endpoint in ENDPOINTS if endpoint.action is not None)


def test_every_call_that_names_a_store_belongs_to_a_store_scoped_action() -> None:
    # A row tried at another store must expect wrong_store there: its action must be store-scoped.
    for endpoint in ENDPOINTS:
        if endpoint.store_scoped:
            assert endpoint.action is not None and POLICY[endpoint.action].scope is Scope.STORE, endpoint.name


def test_every_endpoint_answers_every_role_at_own_and_other_store_as_the_table_promises(
    client: TestClient, container: Container
) -> None:
    world = build_world(client, container)
    wrong: list[str] = []
    answers: Counter[tuple[int, str | None]] = Counter()

    for endpoint in ENDPOINTS:
        places = (OWN, OTHER) if endpoint.store_scoped else (OWN,)
        for role, where in itertools.product(ROLES, places):
            # when
            call = endpoint.call(world, world.store(where))
            response = send(client, call, bearer(world.callers[role]))

            # then
            status, code = expected_answer(endpoint, role, where)
            got_code = response.json().get("code") if response.status_code >= 400 else None
            answers[(response.status_code, got_code)] += 1
            leaked = [phone for phone in world.phones if phone in response.text]
            if leaked:
                wrong.append(f"{endpoint.name} as {role.value} at {where}: the answer shows a whole phone number")
            if (response.status_code, got_code) != (status, code):
                wrong.append(
                    f"{endpoint.name} ({endpoint.method} {endpoint.path}) as {role.value} at {where}: "
                    f"expected {status} {code or ''}, got {response.status_code} {response.text[:160]}"
                )

    assert wrong == [], "\n".join(wrong)
    rows = sum(len(ROLES) * (2 if endpoint.store_scoped else 1) for endpoint in ENDPOINTS)
    assert sum(answers.values()) == rows
    assert {(403, "forbidden"), (403, "wrong_store"), (200, None), (201, None), (204, None)} <= set(answers)


def test_every_endpoint_but_login_refuses_a_caller_without_a_valid_credential(
    client: TestClient, container: Container
) -> None:
    world = build_world(client, container)
    assert isinstance(client.app, FastAPI)
    credentials: dict[str, dict[str, str]] = {
        "no credential": {},
        "an unknown API key": bearer("dc_0123456789ab.not-the-secret"),
        "a known key with the wrong secret": bearer(world.callers[Role.HQ_ADMIN].split(".")[0] + ".wrong"),
        "a token that is no JWT": bearer("not-a-token"),
        "a Basic credential": {"Authorization": "Basic dXNlcjpwYXNz"},
    }
    wrong: list[str] = []

    with TestClient(client.app, raise_server_exceptions=False) as anonymous:
        for endpoint in ENDPOINTS:
            if endpoint.public:
                continue
            call = endpoint.call(world, world.store_a)
            for label, headers in credentials.items():
                # when
                response = send(anonymous, call, headers)

                # then
                if response.status_code != 401 or response.json().get("code") != "unauthenticated":
                    wrong.append(f"{endpoint.name} with {label}: {response.status_code} {response.text[:120]}")
                elif response.headers.get("WWW-Authenticate") != "Bearer":
                    wrong.append(f"{endpoint.name} with {label}: no WWW-Authenticate: Bearer")

    assert wrong == [], "\n".join(wrong)


def test_a_store_manager_may_not_close_a_card_of_another_stores_member(
    client: TestClient, container: Container
) -> None:
    # given a member of store A whose money was all paid in at store A
    store_a = open_store(client, "A001")
    store_b = open_store(client, "B001")
    member_id = str(register(client, store_id=store_a)["id"])
    recharge(client, member_id, store_a, "500.00")
    manager_of_b = bearer(make_token(container, Role.STORE_MANAGER, store_b))

    # when store B's manager closes the card
    response = client.post(f"{API}/members/{member_id}/close", json={"reason": "asked at B"}, headers=manager_of_b)

    # then
    assert_problem(response, 403, "wrong_store")


def test_a_cashier_registering_without_naming_a_store_registers_at_their_own_store(
    client: TestClient, container: Container
) -> None:
    store_a = open_store(client, "A001")
    cashier = bearer(make_token(container, Role.CASHIER, store_a))

    response = client.post(f"{API}/members", json={"phone": "13812341234"}, headers=cashier)

    assert response.status_code == 201, response.text
    assert response.json()["store_id"] == store_a


# ---------------------------------------------------------------- histories by store


def _order_numbers(page: dict[str, Any]) -> set[str]:
    return {item["order_no"] for item in page["items"] if item["order_no"]}


def test_histories_show_a_store_bound_caller_only_their_stores_operations_and_hq_everything(
    client: TestClient, container: Container
) -> None:
    # given a member who recharged and ate at store A and at store B
    store_a = open_store(client, "A001")
    store_b = open_store(client, "B001")
    member_id = str(register(client, store_id=store_a)["id"])
    at_a = {
        recharge(client, member_id, store_a, "500.00")["order_no"],
        checkout(client, member_id, store_a, "50.00")["order_no"],
    }
    at_b = {
        recharge(client, member_id, store_b, "200.00")["order_no"],
        checkout(client, member_id, store_b, "80.00")["order_no"],
    }
    viewers = {
        "cashier of A": (bearer(make_token(container, Role.CASHIER, store_a)), at_a),
        "manager of A": (bearer(make_token(container, Role.STORE_MANAGER, store_a)), at_a),
        "cashier of B": (bearer(make_token(container, Role.CASHIER, store_b)), at_b),
        "HQ": (bearer(make_token(container, Role.HQ_ADMIN)), at_a | at_b),
    }

    for viewer, (headers, visible) in viewers.items():
        # when
        money = client.get(f"{API}/members/{member_id}/transactions", headers=headers)
        points = client.get(f"{API}/members/{member_id}/points-history", headers=headers)

        # then each sees exactly the orders of the stores they may see
        assert money.status_code == 200 and points.status_code == 200, viewer
        assert _order_numbers(money.json()) == visible, viewer
        assert _order_numbers(points.json()) == visible, viewer
        stores_seen = {item["store_id"] for item in money.json()["items"] + points.json()["items"]}
        if viewer != "HQ":
            own = store_a if viewer.endswith("A") else store_b
            assert stores_seen <= {own, None}, viewer


# ---------------------------------------------------------------- docs/security.md


_ROLE_COLUMNS = (Role.CASHIER, Role.STORE_MANAGER, Role.HQ_ADMIN)
_ENDPOINT_IN_CELL = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`]*)`")


def markdown_policy_table() -> str:
    """The table docs/security.md should print, generated from POLICY and ENDPOINTS (paste it on a change)."""
    lines = [
        "| Action | What it allows | cashier | store_manager | hq_admin | Scope | Endpoints |",
        "|---|---|:-:|:-:|:-:|---|---|",
    ]
    for action, rule in POLICY.items():
        marks = " | ".join("✓" if role in rule.roles else "—" for role in _ROLE_COLUMNS)
        routes = sorted({(e.path, e.method) for e in ENDPOINTS if e.action == action})
        endpoints = "<br>".join(f"`{method} {API}{path}`" for path, method in routes) or "`X-Approval` header"
        lines.append(f"| `{action}` | {rule.description} | {marks} | {rule.scope.value} | {endpoints} |")
    return "\n".join(lines)


def test_the_authorization_table_in_docs_security_md_agrees_with_policy() -> None:
    text = SECURITY_DOC.read_text(encoding="utf-8")
    documented: dict[str, tuple[str, frozenset[Role], str, set[tuple[str, str]]]] = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not re.fullmatch(r"`[a-z_]+\.[a-z_]+`", cells[0]):
            continue
        action, description, *marks, scope, endpoints = cells
        roles = frozenset(role for role, mark in zip(_ROLE_COLUMNS, marks, strict=True) if mark == "✓")
        documented[action.strip("`")] = (description, roles, scope, set(_ENDPOINT_IN_CELL.findall(endpoints)))

    expected = {
        action: (
            rule.description,
            rule.roles,
            rule.scope.value,
            {(e.method, API + e.path) for e in ENDPOINTS if e.action == action},
        )
        for action, rule in POLICY.items()
    }
    assert documented == expected, "docs/security.md disagrees with POLICY; the table should read:\n\n" + (
        markdown_policy_table()
    )


def test_docs_security_md_names_the_endpoints_without_an_action() -> None:
    text = SECURITY_DOC.read_text(encoding="utf-8")

    for endpoint in ENDPOINTS:
        if endpoint.action is None:
            assert f"`{endpoint.method} {API}{endpoint.path}`" in text, endpoint.name
