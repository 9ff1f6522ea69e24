"""What the clients send: one request generator per scenario (amounts are yuan strings, never floats).

Each client is a till: it holds the cashier API key of one store (client i -> store i mod S)
and every POST carries a fresh Idempotency-Key, as a POS does.
"""

from __future__ import annotations

import json
import os
import random
from collections import deque

from loadgen import Request
from seed import Chain

API = "/api/v1"

# The mixed evening: share of requests per operation (percent). See docs/performance.md.
MIXED_SHARES = (
    ("checkout", 55),  # of which 30 % use points and 20 % a coupon (below)
    ("lookup", 15),  # two thirds by member id (card scanned), one third by phone
    ("recharge", 12),
    ("register", 8),
    ("refund", 5),
    ("quote", 5),
)
CHECKOUT_WITH_POINTS = 0.30
CHECKOUT_WITH_COUPON = 0.20
RECHARGE_YUAN = ("200.00", "500.00", "1000.00")
PAYMENT_METHODS = ("wechat", "alipay", "cash", "bank_card")


def yuan(fen: int) -> str:
    """Fen as the API's yuan string: 12345 -> "123.45"."""
    assert fen >= 0
    return f"{fen // 100}.{fen % 100:02d}"


def idempotency_key() -> str:
    return os.urandom(12).hex()


def _json(document: dict[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


class Tills:
    """Client i works at store i mod S with that store's cashier key."""

    def __init__(self, chain: Chain):
        self.stores = chain.store_ids
        self.auth = [("Authorization", f"Bearer {token}") for token in chain.cashier_tokens]

    def store(self, client: int) -> int:
        return client % len(self.stores)


class CheckoutLoad:
    """Checkouts paid from the balance: of random members (spread), or all on one card (hot)."""

    def __init__(self, chain: Chain, hot: bool, seed: int):
        self.chain, self.hot, self.rng, self.tills = chain, hot, random.Random(seed), Tills(chain)

    def __call__(self, client: int) -> Request:
        store = self.tills.store(client)
        member = self.chain.hot_member_id if self.hot else self.rng.choice(self.chain.member_ids)
        bill = self.rng.randrange(1000, 5001) if self.hot else self.rng.randrange(3000, 30001)
        body = _json({"store_id": self.tills.stores[store], "bill_total": yuan(bill)})
        headers = (self.tills.auth[store], ("Idempotency-Key", idempotency_key()))
        return Request("checkout", "POST", f"{API}/members/{member}/checkouts", body, headers)


class ThinLoad:
    """pgbench's tpcb-like choice of account, teller, branch and delta, for the thin baseline."""

    def __init__(self, scale: int, seed: int):
        self.scale, self.rng = scale, random.Random(seed)

    def __call__(self, client: int) -> Request:
        rng = self.rng
        body = _json(
            {
                "aid": rng.randint(1, 100_000 * self.scale),
                "tid": rng.randint(1, 10 * self.scale),
                "bid": rng.randint(1, self.scale),
                "delta": rng.randint(-5000, 5000),
            }
        )
        return Request("tpcb", "POST", "/tpcb", body)


class MixedEvening:
    """A busy evening across the chain: every operation in MIXED_SHARES, with the state they need.

    Refunds take orders that this load checked out earlier at the same store (a till refunds its
    own store's bills); coupon checkouts use coupons seeded for the member, each once; new members
    get phone numbers no seeded member has.
    """

    def __init__(self, chain: Chain, seed: int):
        self.chain, self.rng, self.tills = chain, random.Random(seed), Tills(chain)
        self.ops = [name for name, _ in MIXED_SHARES]
        self.weights = [share for _, share in MIXED_SHARES]
        self.orders: list[deque[str]] = [deque(maxlen=5000) for _ in chain.store_ids]
        self.coupons = {member: list(codes) for member, codes in chain.coupon_codes.items()}
        self.with_coupons = [member for member, codes in self.coupons.items() if codes]
        self.registered = 0

    def __call__(self, client: int) -> Request:
        op = self.rng.choices(self.ops, self.weights)[0]
        store = self.tills.store(client)
        if op == "refund" and self.orders[store]:
            return self._refund(store)
        if op in ("checkout", "refund"):
            return self._checkout(store)
        return getattr(self, f"_{op}")(store)

    def _headers(self, store: int, write: bool = True) -> tuple[tuple[str, str], ...]:
        if write:
            return (self.tills.auth[store], ("Idempotency-Key", idempotency_key()))
        return (self.tills.auth[store],)

    def _checkout(self, store: int) -> Request:
        rng = self.rng
        body: dict[str, object] = {"store_id": self.tills.stores[store]}
        op = "checkout"
        roll = rng.random()
        if roll < CHECKOUT_WITH_COUPON and self.with_coupons:
            slot = rng.randrange(len(self.with_coupons))
            member = self.with_coupons[slot]
            codes = self.coupons[member]
            body["coupon_codes"] = [codes.pop()]
            if not codes:  # each coupon is used once: drop the member from the list
                self.with_coupons[slot] = self.with_coupons[-1]
                self.with_coupons.pop()
            body["bill_total"] = yuan(rng.randrange(6000, 30001))
            op = "checkout_coupon"
        else:
            member = rng.choice(self.chain.member_ids)
            body["bill_total"] = yuan(rng.randrange(3000, 30001))
            if roll < CHECKOUT_WITH_COUPON + CHECKOUT_WITH_POINTS:
                body["use_points"] = rng.randrange(50, 151)
                op = "checkout_points"
        orders = self.orders[store]

        def keep_order(status: int, answer: bytes) -> None:
            if status == 201:
                orders.append(json.loads(answer)["order_no"])

        path = f"{API}/members/{member}/checkouts"
        return Request(op, "POST", path, _json(body), self._headers(store), keep_order)

    def _refund(self, store: int) -> Request:
        order_no = self.orders[store].pop()
        body = {"amount": "5.00"} if self.rng.random() < 0.5 else {}
        return Request("refund", "POST", f"{API}/orders/{order_no}/refunds", _json(body), self._headers(store))

    def _lookup(self, store: int) -> Request:
        index = self.rng.randrange(len(self.chain.member_ids))
        if self.rng.random() < 2 / 3:
            path = f"{API}/members/{self.chain.member_ids[index]}"
        else:
            path = f"{API}/members?phone={self.chain.phones[index]}"
        return Request("lookup", "GET", path, None, self._headers(store, write=False))

    def _recharge(self, store: int) -> Request:
        member = self.rng.choice(self.chain.member_ids)
        body = {
            "amount": self.rng.choice(RECHARGE_YUAN),
            "payment_method": self.rng.choice(PAYMENT_METHODS),
            "store_id": self.tills.stores[store],
        }
        return Request("recharge", "POST", f"{API}/members/{member}/recharges", _json(body), self._headers(store))

    def _register(self, store: int) -> Request:
        self.registered += 1
        body = {"phone": f"137{self.registered:08d}", "store_id": self.tills.stores[store]}
        return Request("register", "POST", f"{API}/members", _json(body), self._headers(store))

    def _quote(self, store: int) -> Request:
        member = self.rng.choice(self.chain.member_ids)
        body = {"store_id": self.tills.stores[store], "bill_total": yuan(self.rng.randrange(3000, 30001))}
        return Request("quote", "POST", f"{API}/members/{member}/quote", _json(body), self._headers(store, write=False))
