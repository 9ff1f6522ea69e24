"""The load: many tills (threads, each with its own API key and httpx client) doing a mixed evening over HTTP.

Every write carries an Idempotency-Key. A till retries a write with the same key, with bounded backoff, until it
gets a definitive answer: on a connection error, a timeout (some provoked on purpose with a tiny client
timeout), a 5xx, a 429 `rate_limited` or a retryable 409 (`conflict`, or any `…_in_progress`). Now and then it
resends an answered write with the same key and checks that the replay is the identical answer, or the same
key with another body and checks the refusal (`idempotency_key_reused`). Every acknowledged operation goes into
a client-side journal, which `checks.py` compares with the database afterwards.

Mix of operations (weights, out of 100; the share of look-ups and writes is that of a POS evening):

| Operation | Weight | What |
|---|---:|---|
| register | 4 | a new card for this till (plus 2 per till at the start) |
| recharge | 13 | 50.00-2000.00 to one of this till's cards, any payment method |
| checkout | 17 | a bill of 10.00-300.00, from balance with the rest by another tender |
| checkout_points | 9 | the same, also using up to half of the bill in points |
| checkout_coupon | 8 | a bill of 120.00-400.00 with one of the card's coupons |
| coupon_issue | 5 | one coupon of the test template to one of this till's cards |
| refund_partial | 8 | part of what remains refundable of one of this till's checkouts |
| refund_whole | 6 | everything that remains (whole refunds give coupons back) |
| recharge_refund | 3 | part or all of a recharge's unspent principal |
| hot_checkout | 9 | a bill on one of 4 cards every till shares (row-lock contention), 1 in 4 balance-only |
| hot_recharge | 2 | a recharge of a shared card |
| lookup | 16 | by id, by phone, the money history or the coupons of a card |
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from dinecard.platform.db import Database
from dinecard.security.domain import Role
from dinecard.security.service import create_api_key
from dinecard.stores.service import create_store

FULL = os.environ.get("DINECARD_RELIABILITY_FULL", "").lower() in ("1", "true", "yes")
MIX: tuple[tuple[str, int], ...] = (
    ("register", 4),
    ("recharge", 13),
    ("checkout", 17),
    ("checkout_points", 9),
    ("checkout_coupon", 8),
    ("coupon_issue", 5),
    ("refund_partial", 8),
    ("refund_whole", 6),
    ("recharge_refund", 3),
    ("hot_checkout", 9),
    ("hot_recharge", 2),
    ("lookup", 16),
)
HOT_MEMBERS = 4
COUPON_TEMPLATE = "REL_MJ60_10"
PAYMENT_METHODS = ("cash", "bank_card", "wechat", "alipay", "other")
RECHARGE_YUAN = ("50.00", "88.88", "100.00", "200.00", "233.33", "300.00", "500.00", "1000.00", "2000.00")

# Business refusals that a correct system gives under this load; anything else is a failure. A till's own
# cards change only through that till, so most of these are rare: points or balance that another till's bill
# on a shared card took first, the threshold of a coupon after a level changed, a refund larger than the
# principal left on the card.
ALLOWED_REFUSALS = frozenset(
    {
        "insufficient_balance",
        "insufficient_points",
        "points_exceed_bill",
        "points_below_minimum",
        "points_not_redeemable",
        "refund_exceeds_remaining",
        "nothing_to_refund",
        "amount_not_positive",
        "coupon_threshold_not_met",
        "coupon_no_effect",
        "coupon_wrong_level",
        "coupon_not_combinable",
    }
)
RETRY_DEADLINE_SECONDS = 120.0
BACKOFF_FIRST, BACKOFF_CAP = 0.05, 1.0
PROVOKED_TIMEOUT_SHARE = 0.04  # first attempts sent with a read timeout of 5-60 ms: the till gives up early
REPLAY_CHECK_SHARE = 0.08  # answered writes resent with the same key
REUSED_KEY_SHARE = 0.01  # answered writes resent with the same key and another body
NORMAL_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def fen(yuan: str) -> int:
    amount = Decimal(yuan) * 100
    assert amount == amount.to_integral_value(), yuan
    return int(amount)


def yuan(fen_amount: int) -> str:
    return f"{fen_amount // 100}.{fen_amount % 100:02d}"


# ---------------------------------------------------------------- the journal


@dataclass
class Journal:
    """What the tills were told: every acknowledged operation, refusals, retries and failures. Thread-safe."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    members: dict[str, str] = field(default_factory=dict)  # member id -> phone
    recharges: dict[str, dict[str, Any]] = field(default_factory=dict)  # order no -> what the answer said
    checkouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    coupons: dict[str, str | None] = field(default_factory=dict)  # code -> checkout it is used on (None: usable)
    idempotency: set[tuple[str, str]] = field(default_factory=set)  # (API key id, Idempotency-Key) answered 2xx
    order_keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # order no -> the key that made it
    refusals: Counter[str] = field(default_factory=Counter)
    stats: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    unresolved: list[tuple[Any, Any, Any]] = field(default_factory=list)  # (till, call, callback) not answered yet
    inflight: int = 0
    inflight_at_faults: list[int] = field(default_factory=list)

    def count(self, name: str, amount: int = 1) -> None:
        with self.lock:
            self.stats[name] += amount

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    def claim_order(self, order_no: str, scope: str, key: str) -> bool:
        """One order number per key: a second key reporting the same order is a failure."""
        with self.lock:
            previous = self.order_keys.setdefault(order_no, (scope, key))
        if previous != (scope, key):
            self.fail(f"order {order_no} answered to two keys: {previous} and {(scope, key)}")
            return False
        return True

    def operations(self) -> int:
        return sum(v for k, v in self.stats.items() if k.startswith("op:"))

    def summary(self) -> dict[str, Any]:
        return {
            "operations": self.operations(),
            "acknowledged": {
                "members": len(self.members),
                "recharges": len(self.recharges),
                "checkouts": len(self.checkouts),
                "refunds": len(self.refunds),
                "coupons": len(self.coupons),
            },
            "requests": self.stats["requests"],
            "retries": self.stats["retries"],
            "provoked_timeouts": self.stats["provoked_timeouts"],
            "transport_errors": self.stats["transport_errors"],
            "status_5xx": self.stats["status_5xx"],
            "retryable_409": self.stats["retryable_409"],
            "replays_checked": self.stats["replays_checked"],
            "reused_keys_checked": self.stats["reused_keys_checked"],
            "applied_but_unanswered": {
                "after_timeout": self.stats["applied_unanswered_after_timeout"],
                "after_error": self.stats["applied_unanswered_after_error"],
            },
            "retried_statuses": {k[7:]: v for k, v in sorted(self.stats.items()) if k.startswith("status:")},
            "refusals": dict(self.refusals),
            "unresolved": len(self.unresolved),
            "failures": len(self.failures),
        }


# ---------------------------------------------------------------- one request, retried until answered


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    key: str | None = None


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def retryable(response: httpx.Response) -> bool:
    if response.status_code >= 500:
        return True
    code = _problem_code(response) or ""
    if response.status_code == 409 and (code == "conflict" or code.endswith("_in_progress")):
        return True
    return response.status_code == 429 and code == "rate_limited"


class Till:
    """One POS terminal: an API key, an httpx client, its own cards and orders, and a random stream."""

    def __init__(self, number: int, base_url: Callable[[], str], token: str, key_id: str, load: Load) -> None:
        self.number = number
        self.base_url = base_url
        self.key_id = key_id
        self.load = load
        self.journal = load.journal
        self.rng = random.Random(load.seed * 1000 + number)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(timeout=NORMAL_TIMEOUT, trust_env=False)
        self.members: list[OwnMember] = []
        self.orders: list[OwnOrder] = []
        self.phones = (f"13{number:03d}{serial:06d}" for serial in itertools.count(1))
        self.keys = (f"till{number}-{serial}-{uuid.uuid4().hex[:8]}" for serial in itertools.count(1))

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------ sending

    def _send_once(self, call: Call, timeout: httpx.Timeout) -> httpx.Response:
        headers = dict(self.headers)
        if call.key is not None:
            headers["Idempotency-Key"] = call.key
        with self.journal.lock:
            self.journal.inflight += 1
            self.journal.stats["requests"] += 1
        try:
            return self.client.request(
                call.method, self.base_url() + call.path, json=call.body, headers=headers, timeout=timeout
            )
        finally:
            with self.journal.lock:
                self.journal.inflight -= 1

    def send(self, call: Call, deadline_seconds: float = RETRY_DEADLINE_SECONDS, resend: bool = False) -> Answer | None:
        """Send until a definitive answer; None if there is none within the deadline (kept as unresolved).

        `resend`: the call was answered before (a replay check), so a replay says nothing about lost answers.
        """
        deadline = time.monotonic() + deadline_seconds
        provoke = call.key is not None and self.rng.random() < PROVOKED_TIMEOUT_SHARE
        failed_before = ""  # why the previous attempt had no answer: "timeout" or "error"
        for attempt in itertools.count(1):
            if attempt > 1:
                self.journal.count("retries")
                backoff = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** (attempt - 2))
                time.sleep(backoff * self.rng.uniform(0.5, 1.0))
            if time.monotonic() > deadline:
                return None
            timeout = NORMAL_TIMEOUT
            if provoke and attempt == 1:
                timeout = httpx.Timeout(10.0, read=self.rng.uniform(0.005, 0.06))
            try:
                response = self._send_once(call, timeout)
            except httpx.TimeoutException:
                self.journal.count("provoked_timeouts" if provoke and attempt == 1 else "timeouts")
                failed_before = "timeout"
                continue
            except httpx.TransportError:
                self.journal.count("transport_errors")
                failed_before = "error"
                continue
            if retryable(response):
                self.journal.count("status_5xx" if response.status_code >= 500 else "retryable_409")
                self.journal.count(f"status:{response.status_code}:{_problem_code(response)}")
                failed_before = "error"
                continue
            body = response.json() if response.content else None
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            if replayed and failed_before and not resend:
                # Applied by an attempt whose answer never arrived: the retry found it done and replayed it.
                self.journal.count(f"applied_unanswered_after_{failed_before}")
            return Answer(response.status_code, body, replayed)
        raise AssertionError("unreachable")

    def write(self, call: Call, acknowledged: Callable[[Any], None]) -> None:
        """A keyed write; `acknowledged(body)` runs once it is answered 2xx (also if only after the load)."""
        answer = self.send(call)
        if answer is None:
            with self.journal.lock:
                self.journal.unresolved.append((self, call, acknowledged))
            return
        self.judge(call, answer, acknowledged)

    def judge(self, call: Call, answer: Answer, acknowledged: Callable[[Any], None]) -> None:
        if answer.status >= 300:
            code = answer.body.get("code") if isinstance(answer.body, dict) else None
            with self.journal.lock:
                self.journal.refusals[str(code)] += 1
            if code not in ALLOWED_REFUSALS:
                self.journal.fail(f"{call.kind} {call.path} {call.body}: {answer.status} {answer.body}")
            return
        assert call.key is not None
        with self.journal.lock:
            self.journal.idempotency.add((self.key_id, call.key))
        order_no = answer.body.get("order_no") if isinstance(answer.body, dict) else None
        if order_no is not None and not self.journal.claim_order(order_no, self.key_id, call.key):
            return
        acknowledged(answer.body)
        if self.rng.random() < REPLAY_CHECK_SHARE:
            self.check_replay(call, answer)
        elif self.rng.random() < REUSED_KEY_SHARE:
            self.check_reused_key(call)

    def check_replay(self, call: Call, first: Answer) -> None:
        again = self.send(call, resend=True)
        self.journal.count("replays_checked")
        if again is None:
            self.journal.fail(f"no answer to the replay of {call.kind} {call.key}")
        elif (again.status, again.body, again.replayed) != (first.status, first.body, True):
            self.journal.fail(f"replay of {call.kind} {call.key} differs: {first} then {again}")

    def check_reused_key(self, call: Call) -> None:
        """The same key with another body must be refused: applying it would be a second, unjournaled effect."""
        other = {
            "register": {"phone": "13999999999"},
            "recharge": {"amount": "1.00"},
            "checkout": {"bill_total": "1.00"},
            "refund": {"reason": "same key, other body"},
            "coupon_issue": {"count": 2},
        }[call.kind]
        altered = Call(call.kind, call.method, call.path, {**(call.body or {}), **other}, call.key)
        answer = self.send(altered)
        self.journal.count("reused_keys_checked")
        code = answer.body.get("code") if answer is not None and isinstance(answer.body, dict) else None
        if answer is None or (answer.status, code) != (409, "idempotency_key_reused"):
            self.journal.fail(f"same key, other request {altered.path} {altered.body}: {answer}")

    # ------------------------------------------------------------ the operations

    def run(self) -> None:
        try:
            for _ in range(2):
                self.register()
            names = [name for name, _ in MIX]
            weights = [weight for _, weight in MIX]
            while self.load.next_operation():
                getattr(self, self.rng.choices(names, weights)[0])()
        except Exception as exc:  # the harness itself failing is a test failure, never a silent thread death
            self.journal.fail(f"till {self.number} crashed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self.close()

    def _count(self, name: str) -> None:
        self.journal.count(f"op:{name}")

    def _member(self) -> OwnMember | None:
        return self.rng.choice(self.members) if self.members else None

    def _key(self) -> str:
        return next(self.keys)

    def _update(self, member: OwnMember, body: dict[str, Any]) -> None:
        member.principal = fen(body["balance"]["principal"])
        member.points = int(body["points"]["usable"])

    def register(self) -> None:
        self._count("register")
        phone = next(self.phones)

        def acknowledged(body: dict[str, Any]) -> None:
            with self.journal.lock:
                self.journal.members[body["id"]] = phone
            self.members.append(OwnMember(body["id"], phone))

        call = Call("register", "POST", "/api/v1/members", {"phone": phone, "store_id": self.store()}, self._key())
        self.write(call, acknowledged)

    def store(self) -> str:
        return self.rng.choice(self.load.store_ids)

    def _recharge(self, member_id: str, own: OwnMember | None) -> None:
        request = {
            "amount": self.rng.choice(RECHARGE_YUAN),
            "payment_method": self.rng.choice(PAYMENT_METHODS),
            "store_id": self.store(),
        }

        def acknowledged(body: dict[str, Any]) -> None:
            record = {
                "member_id": member_id,
                "amount": fen(body["amount"]),
                "bonus_now": fen(body["bonus_now"]),
                "points": body["points_awarded"] + body["upgrade_gift_points"],
            }
            with self.journal.lock:
                self.journal.recharges[body["order_no"]] = record
                for code in body["upgrade_gift_coupons"]:
                    self.journal.coupons[code] = None
            if own is not None:
                self._update(own, body)
                own.coupons.extend(body["upgrade_gift_coupons"])
                own.recharges.append(OwnOrder(body["order_no"], member_id, record["amount"], owner=own))

        self.write(
            Call("recharge", "POST", f"/api/v1/members/{member_id}/recharges", request, self._key()), acknowledged
        )

    def recharge(self) -> None:
        self._count("recharge")
        member = self._member()
        if member is not None:
            self._recharge(member.id, member)

    def hot_recharge(self) -> None:
        self._count("hot_recharge")
        self._recharge(self.rng.choice(self.load.hot_member_ids), None)

    def _checkout(
        self,
        member_id: str,
        own: OwnMember | None,
        bill_fen: int,
        *,
        points: int = 0,
        coupon: str | None = None,
        balance_only: bool = False,
    ) -> None:
        request: dict[str, Any] = {
            "store_id": self.store(),
            "bill_total": yuan(bill_fen),
            "pay_with_balance": True,
            "other_tender": self.rng.choice(PAYMENT_METHODS),
        }
        if points:
            request["use_points"] = points
        if coupon:
            request["coupon_codes"] = [coupon]
        if balance_only:
            request["balance_only"] = True

        def acknowledged(body: dict[str, Any]) -> None:
            coupons = [c["code"] for c in body["coupons"]]
            record = {
                "member_id": member_id,
                "payable": fen(body["payable"]),
                "principal": fen(body["paid_from_balance"]["principal"]),
                "bonus": fen(body["paid_from_balance"]["bonus"]),
                "other": fen(body["due_other_tender"]),
                "points_used": body["points_used"],
                "points_earned": body["points_earned"],
                "gift_points": body["upgrade_gift_points"],
                "coupon_discount": fen(body["coupon_discount"]),
                "coupons": coupons,
            }
            with self.journal.lock:
                self.journal.checkouts[body["order_no"]] = record
                for code in coupons:
                    self.journal.coupons[code] = body["order_no"]
                for code in body["upgrade_gift_coupons"]:
                    self.journal.coupons[code] = None
            if own is not None:
                self._update(own, body)
                own.coupons = [code for code in own.coupons if code not in coupons]
                own.coupons.extend(body["upgrade_gift_coupons"])
            self.orders.append(OwnOrder(body["order_no"], member_id, record["payable"], owner=own))

        self.write(
            Call("checkout", "POST", f"/api/v1/members/{member_id}/checkouts", request, self._key()), acknowledged
        )

    def checkout(self) -> None:
        self._count("checkout")
        member = self._member()
        if member is not None:
            self._checkout(member.id, member, self.rng.randint(1_000, 30_000))

    def checkout_points(self) -> None:
        self._count("checkout_points")
        member = self._member()
        if member is None:
            return
        bill = self.rng.randint(2_000, 30_000)
        self._checkout(member.id, member, bill, points=max(min(member.points, bill // 2), 0))

    def checkout_coupon(self) -> None:
        self._count("checkout_coupon")
        member = next((m for m in self.rng.sample(self.members, len(self.members)) if m.coupons), None)
        if member is None:
            self.coupon_issue()
            return
        self._checkout(member.id, member, self.rng.randint(12_000, 40_000), coupon=self.rng.choice(member.coupons))

    def hot_checkout(self) -> None:
        self._count("hot_checkout")
        member_id = self.rng.choice(self.load.hot_member_ids)
        self._checkout(member_id, None, self.rng.randint(1_000, 20_000), balance_only=self.rng.random() < 0.25)

    def coupon_issue(self) -> None:
        self._count("coupon_issue")
        member = self._member()
        if member is None:
            return

        def acknowledged(body: list[dict[str, Any]]) -> None:
            codes = [coupon["code"] for coupon in body]
            with self.journal.lock:
                for code in codes:
                    self.journal.coupons[code] = None
            member.coupons.extend(codes)

        request = {"template_code": COUPON_TEMPLATE, "count": 1}
        self.write(
            Call("coupon_issue", "POST", f"/api/v1/members/{member.id}/coupons", request, self._key()), acknowledged
        )

    def _refund(self, order: OwnOrder, amount_fen: int | None) -> None:
        request: dict[str, Any] = {} if amount_fen is None else {"amount": yuan(amount_fen)}

        def acknowledged(body: dict[str, Any]) -> None:
            checkout = body["kind"] == "checkout_refund"
            record = {
                "original": body["original_order_no"],
                "kind": body["kind"],
                "amount": fen(body["amount"]),
                "principal": fen(body["refunded_to_balance" if checkout else "taken_from_balance"]["principal"]),
                "bonus": fen(body["refunded_to_balance"]["bonus"]),
                "other": fen(body["paid_back"]) if checkout else 0,
                "bonus_forfeited": fen(body["bonus_forfeited"]),
                "points_taken_back": body["points_taken_back"],
                "points_restored": body["points_restored"],
            }
            with self.journal.lock:
                self.journal.refunds[body["order_no"]] = record
                for code in body["coupons_restored"]:
                    self.journal.coupons[code] = None
            order.remaining -= record["amount"]
            if order.owner is not None:
                self._update(order.owner, body)
                order.owner.coupons.extend(body["coupons_restored"])

        self.write(
            Call("refund", "POST", f"/api/v1/orders/{order.order_no}/refunds", request, self._key()), acknowledged
        )

    def refund_partial(self) -> None:
        self._count("refund_partial")
        open_orders = [order for order in self.orders if order.remaining >= 2]
        if not open_orders:
            self.checkout()
            return
        order = self.rng.choice(open_orders)
        self._refund(order, self.rng.randint(1, order.remaining - 1))

    def refund_whole(self) -> None:
        self._count("refund_whole")
        open_orders = [order for order in self.orders if order.remaining > 0]
        if not open_orders:
            self.checkout()
            return
        self._refund(self.rng.choice(open_orders), None)

    def recharge_refund(self) -> None:
        self._count("recharge_refund")
        candidates = [(m, r) for m in self.members for r in m.recharges if r.remaining > 0 and m.principal > 0]
        if not candidates:
            self.recharge()
            return
        member, order = self.rng.choice(candidates)
        most = min(order.remaining, member.principal)
        self._refund(order, None if self.rng.random() < 0.3 else self.rng.randint(1, most))

    def lookup(self) -> None:
        self._count("lookup")
        member = self._member()
        if member is None:
            return
        path = self.rng.choice(
            [
                f"/api/v1/members/{member.id}",
                f"/api/v1/members?phone={member.phone}",
                f"/api/v1/members/{member.id}/transactions",
                f"/api/v1/members/{member.id}/coupons?status=all",
            ]
        )
        answer = self.send(Call("lookup", "GET", path))
        if answer is None or answer.status != 200:
            self.journal.fail(f"look-up {path}: {answer}")


@dataclass
class OwnMember:
    id: str
    phone: str
    principal: int = 0  # as the last answer of this till said: only this till changes its own cards
    points: int = 0
    coupons: list[str] = field(default_factory=list)
    recharges: list[OwnOrder] = field(default_factory=list)


@dataclass
class OwnOrder:
    order_no: str
    member_id: str
    remaining: int  # what is left to refund, as far as this till knows (only this till refunds it)
    coupons: list[str] = field(default_factory=list)
    owner: OwnMember | None = None


# ---------------------------------------------------------------- the whole evening


@dataclass
class Load:
    """How many tills, how many operations, and the cards and stores they share."""

    base_url: Callable[[], str]
    tokens: list[tuple[str, str]]  # (token, key id), one per till
    store_ids: list[str]
    operations: int
    seconds_max: float
    seed: int = 20260302
    journal: Journal = field(default_factory=Journal)
    hot_member_ids: list[str] = field(default_factory=list)
    faults_done: threading.Event = field(default_factory=threading.Event)
    started: int = 0
    elapsed: float = 0.0
    _deadline: float = 0.0

    def next_operation(self) -> bool:
        """Whether a till should do another operation: until the count is reached and the faults are over."""
        with self.journal.lock:
            if time.monotonic() > self._deadline:
                return False
            if self.started >= self.operations and self.faults_done.is_set():
                return False
            self.started += 1
            return True

    def setup(self, token: str, key_id: str) -> None:
        """The coupon template and the shared (hot) cards, through the API like everything else."""
        till = Till(-1, self.base_url, token, key_id, self)
        template = {
            "code": COUPON_TEMPLATE,
            "name": "满60减10",
            "kind": "threshold_cash",
            "value": "10.00",
            "threshold": "60.00",
            "validity": {"days": 30},
        }
        till.rng = random.Random(self.seed)
        answer = till.send(Call("template", "POST", "/api/v1/coupon-templates", template, "setup-template"))
        assert answer is not None and answer.status == 201, answer
        self.journal.idempotency.add((key_id, "setup-template"))
        for index in range(HOT_MEMBERS):
            phone = f"1990000{index:04d}"
            key = f"setup-hot-{index}"
            call = Call("register", "POST", "/api/v1/members", {"phone": phone, "store_id": self.store_ids[0]}, key)
            answer = till.send(call)
            assert answer is not None and answer.status == 201, answer
            self.journal.idempotency.add((key_id, key))
            self.journal.members[answer.body["id"]] = phone
            self.hot_member_ids.append(answer.body["id"])
            for round_ in range(2):
                till._recharge(answer.body["id"], None)
                assert len(self.journal.recharges) == index * 2 + round_ + 1, self.journal.failures
        till.close()

    def run(self, fault: Callable[[Load], None] | None = None) -> None:
        """All tills at once, plus `fault` (kills, restarts) in its own thread; then resolve what is open."""
        self._deadline = time.monotonic() + self.seconds_max
        tills = [Till(number, self.base_url, token, key_id, self) for number, (token, key_id) in enumerate(self.tokens)]
        threads = [threading.Thread(target=till.run, name=f"till-{till.number}", daemon=True) for till in tills]
        fault_errors: list[BaseException] = []

        def run_fault() -> None:
            try:
                if fault is not None:
                    fault(self)
            except BaseException as exc:  # reported by the test, after the tills stop
                fault_errors.append(exc)
            finally:
                self.faults_done.set()

        fault_thread = threading.Thread(target=run_fault, name="faults", daemon=True)
        started = time.monotonic()
        for thread in threads:
            thread.start()
        fault_thread.start()
        fault_thread.join(timeout=self.seconds_max + 120)
        for thread in threads:
            thread.join(timeout=self.seconds_max + RETRY_DEADLINE_SECONDS + 60)
        self.elapsed = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads), "a till never finished"
        if fault_errors:
            raise fault_errors[0]
        self.resolve_open_requests()

    def resolve_open_requests(self) -> None:
        """Writes left without an answer (retry deadline passed) are resent with their keys, now that all is up."""
        with self.journal.lock:
            open_calls, self.journal.unresolved = self.journal.unresolved, []
        self.journal.count("resolved_after_load", len(open_calls))
        for till, call, acknowledged in open_calls:
            till.client = httpx.Client(timeout=NORMAL_TIMEOUT, trust_env=False)
            try:
                answer = till.send(call, deadline_seconds=60)
                if answer is None:
                    with self.journal.lock:
                        self.journal.unresolved.append((till, call, acknowledged))
                else:
                    till.judge(call, answer, acknowledged)
            finally:
                till.close()


def make_tills(
    database_url: str, tills: int, stores: int = 3
) -> tuple[list[str], list[tuple[str, str]], tuple[str, str]]:
    """Stores, one hq_admin API key per till and one for the setup, made directly in the database.

    Returns (store ids, [(token, key id)] per till, (token, key id) of the setup key).
    """
    now = datetime.now(UTC)
    database = Database(database_url)
    try:
        with database.write() as uow:
            store_ids = [create_store(uow, f"REL{index}", f"可靠性门店{index}", now).id for index in range(stores)]
            keys = [create_api_key(uow, f"till {index}", Role.HQ_ADMIN, None, now) for index in range(tills + 1)]
    finally:
        database.dispose()
    pairs = [(token, key_id) for key_id, token in keys]
    return store_ids, pairs[:-1], pairs[-1]
