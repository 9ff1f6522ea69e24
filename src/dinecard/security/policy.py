"""Who may do what, and where: the authorization table (R-SEC-1), in one place.

Every endpoint names an action; `authorize` checks the caller's role against the table and,
for store-scoped roles, the store the action touches. docs/security.md prints this table and
a test walks every row against the running app.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dinecard.security.domain import Principal, Role
from dinecard.shared import errors
from dinecard.shared.errors import DomainError

CASHIER, MANAGER, HQ = Role.CASHIER, Role.STORE_MANAGER, Role.HQ_ADMIN
ALL_ROLES = frozenset({CASHIER, MANAGER, HQ})


class Scope(StrEnum):
    CHAIN = "chain"  # not tied to a store (members are chain-wide)
    STORE = "store"  # store-scoped roles may act only at their own store


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    scope: Scope
    description: str


POLICY: dict[str, Rule] = {
    "store.create": Rule(frozenset({HQ}), Scope.CHAIN, "Open a store"),
    "store.list": Rule(ALL_ROLES, Scope.CHAIN, "List stores"),
    "store.update": Rule(frozenset({HQ}), Scope.CHAIN, "Rename a store"),
    "member.register": Rule(ALL_ROLES, Scope.STORE, "Register a member (at the caller's store)"),
    "member.read": Rule(ALL_ROLES, Scope.CHAIN, "Look up a member (phone masked)"),
    "member.update": Rule(ALL_ROLES, Scope.CHAIN, "Change a member's name, birthday or profile"),
    "member.code": Rule(ALL_ROLES, Scope.CHAIN, "Read a member's rotating code"),
    "member.freeze": Rule(frozenset({MANAGER, HQ}), Scope.CHAIN, "Freeze or unfreeze a card"),
    "member.close": Rule(frozenset({MANAGER, HQ}), Scope.STORE, "Close a card and refund its principal"),
    "wallet.recharge": Rule(ALL_ROLES, Scope.STORE, "Recharge stored value"),
    "wallet.checkout": Rule(ALL_ROLES, Scope.STORE, "Check out a bill"),
    "wallet.quote": Rule(ALL_ROLES, Scope.STORE, "Price a bill without checking out"),
    "wallet.refund": Rule(ALL_ROLES, Scope.STORE, "Refund a checkout or a recharge of the caller's store"),
    "history.read": Rule(ALL_ROLES, Scope.CHAIN, "Read a member's money, points and rewards history"),
    "program.read": Rule(ALL_ROLES, Scope.CHAIN, "Read the programme"),
    "program.change": Rule(frozenset({HQ}), Scope.CHAIN, "Change the programme"),
    "risk.read": Rule(frozenset({HQ}), Scope.CHAIN, "List risk events and alerts"),
    "risk.resolve": Rule(frozenset({HQ}), Scope.CHAIN, "Resolve a risk event or alert, with a note"),
    "staff.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Create, list, disable and enable staff; reset passwords"),
    "apikey.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Create, list and revoke API keys"),
    "member.adjust": Rule(ALL_ROLES, Scope.STORE, "Adjust a member's balance or points, with a reason"),
    "approval.decide": Rule(frozenset({MANAGER, HQ}), Scope.STORE, "Approve a refund or adjustment"),
    "menu.read": Rule(ALL_ROLES, Scope.CHAIN, "Read the menu"),
    "menu.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Add and change dishes"),
    "coupon_template.read": Rule(ALL_ROLES, Scope.CHAIN, "Read coupon templates"),
    "coupon_template.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Create and change coupon templates"),
    "coupon.issue": Rule(frozenset({MANAGER, HQ}), Scope.CHAIN, "Give a member coupons"),
    "coupon.read": Rule(ALL_ROLES, Scope.CHAIN, "Look up a coupon or a member's coupons"),
    "coupon.void": Rule(frozenset({MANAGER, HQ}), Scope.CHAIN, "Void an unused coupon, with a reason"),
    "mall.read": Rule(ALL_ROLES, Scope.CHAIN, "Read the points mall and a member's redemptions"),
    "mall.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Add and change points-mall rewards"),
    "mall.redeem": Rule(ALL_ROLES, Scope.STORE, "Redeem points for a reward"),
    "mall.cancel": Rule(ALL_ROLES, Scope.STORE, "Cancel a redemption within its window (at its store)"),
    "level.purchase": Rule(ALL_ROLES, Scope.STORE, "Buy the next level with points"),
    "lottery.read": Rule(ALL_ROLES, Scope.CHAIN, "Read lotteries, prize tables and draws"),
    "lottery.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Create and change lotteries and prize tables"),
    "lottery.draw": Rule(ALL_ROLES, Scope.STORE, "Draw for a member with their points"),
    "stamp_card.read": Rule(ALL_ROLES, Scope.CHAIN, "Read stamp cards and a member's stamps"),
    "stamp_card.manage": Rule(frozenset({HQ}), Scope.CHAIN, "Create and change stamp cards"),
}


def authorize(principal: Principal, action: str, store_id: str | None = None) -> None:
    """Refuse (403) unless the caller's role may do `action` at `store_id`."""
    rule = POLICY[action]
    if principal.role not in rule.roles:
        raise DomainError(errors.FORBIDDEN, {"action": action})
    store_bound = rule.scope is Scope.STORE and principal.role is not HQ
    if store_bound and store_id is not None and principal.store_id != store_id:
        raise DomainError(errors.WRONG_STORE, {"action": action})


def home_store(principal: Principal, requested: str | None) -> str | None:
    """The store an action happens at: a store-bound caller's own store when none is named."""
    return requested if requested is not None else principal.store_id


def visible_store(principal: Principal) -> str | None:
    """Store-bound roles see only their own store's entries in histories (None: everything)."""
    return None if principal.role is HQ else principal.store_id
