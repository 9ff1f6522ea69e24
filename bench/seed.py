"""A chain ready for load, made fast through DineCard's own services in-process (no HTTP).

Stores with one cashier API key each (the tills), members with stored value and points (a
recharge each, at the default programme's tiers, so levels are mixed), a coupon template and
coupons for every member, and one "hot" member with a very large balance. Everything goes
through the real use cases (register_member, recharge, coupons.issue), so the ledger is what
the product writes; recharge limits do not apply in-process.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from dinecard.coupons import service as coupons
from dinecard.coupons.domain import TemplateRules
from dinecard.members import service as members
from dinecard.platform.container import Container
from dinecard.platform.db import Database
from dinecard.platform.migrate import upgrade
from dinecard.platform.settings import Settings
from dinecard.security.crypto import PersonalDataCipher
from dinecard.security.domain import Role
from dinecard.security.service import create_api_key
from dinecard.shared.clock import SystemClock
from dinecard.shared.money import Money
from dinecard.stores import service as stores
from dinecard.wallet import service as wallet

COUPON_TEMPLATE = "BENCH_10_OFF_50"
# Recharges cycle through the default tiers: silver, gold, diamond, gold.
RECHARGE_CYCLE_YUAN = (500, 1000, 2000, 1000)
HOT_MEMBER_RECHARGE_YUAN = 1_000_000
MEMBERS_PER_TRANSACTION = 50


def seeded_phone(index: int) -> str:
    return f"139{index:08d}"


def new_data_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@dataclass
class Chain:
    """What the load generator needs to know about a seeded database."""

    store_ids: list[str]
    cashier_tokens: list[str]  # one per store, in the same order
    hq_token: str
    member_ids: list[str]
    phones: list[str]
    hot_member_id: str
    coupon_codes: dict[str, list[str]] = field(default_factory=dict)  # member id -> unused coupon codes

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def make_container(url: str, data_key: str) -> Container:
    settings = Settings(database_url=url, data_key=data_key)
    return Container(
        settings,
        Database(settings.resolved_database_url()),
        PersonalDataCipher(base64.b64decode(data_key)),
        SystemClock(),
    )


def seed_chain(
    url: str,
    data_key: str,
    member_count: int,
    store_count: int = 4,
    coupons_per_member: int = 2,
    say: Callable[[str], None] = print,
) -> Chain:
    """Migrate `url` and fill it; the engine is disposed afterwards (a template database must have no sessions)."""
    upgrade(Settings(database_url=url).resolved_database_url())
    container = make_container(url, data_key)
    try:
        return _fill(container, member_count, store_count, coupons_per_member, say)
    finally:
        container.database.dispose()


def _fill(container: Container, member_count: int, store_count: int, coupons_per_member: int, say) -> Chain:
    now = container.clock.now()
    store_ids, tokens = [], []
    with container.database.write() as uow:
        for number in range(store_count):
            store_ids.append(stores.create_store(uow, f"B{number:03d}", f"Bench store {number}", now).id)
        for number, store_id in enumerate(store_ids):
            tokens.append(create_api_key(uow, f"bench till {number}", Role.CASHIER, store_id, now)[1])
        hq_token = create_api_key(uow, "bench hq", Role.HQ_ADMIN, None, now)[1]
        rules = TemplateRules.model_validate(
            {"kind": "threshold_cash", "value": "10", "threshold": "50", "validity": {"days": 30}}
        )
        coupons.create_template(
            uow, COUPON_TEMPLATE, coupons.TemplateFields("满50减10", "10 off a bill of 50", None), rules, now
        )
    member_ids: list[str] = []
    phones: list[str] = []
    coupon_codes: dict[str, list[str]] = {}
    for start in range(0, member_count, MEMBERS_PER_TRANSACTION):
        with container.database.write() as uow:
            program = container.programs.at(now)
            for index in range(start, min(start + MEMBERS_PER_TRANSACTION, member_count)):
                store_id = store_ids[index % store_count]
                member_id = _member(container, uow, program, index, store_id, RECHARGE_CYCLE_YUAN[index % 4], now)
                if coupons_per_member:
                    rows = coupons.issue(
                        uow, program, member_id, COUPON_TEMPLATE, now, coupons.Source.STAFF, count=coupons_per_member
                    )
                    coupon_codes[member_id] = [row.code for row in rows]
                member_ids.append(member_id)
                phones.append(seeded_phone(index))
        if (start // MEMBERS_PER_TRANSACTION) % 20 == 19:
            say(f"  seeded {len(member_ids):,} of {member_count:,} members")
    with container.database.write() as uow:
        hot = _member(
            container, uow, container.programs.at(now), member_count, store_ids[0], HOT_MEMBER_RECHARGE_YUAN, now
        )
    return Chain(store_ids, tokens, hq_token, member_ids, phones, hot, coupon_codes)


def _member(container: Container, uow, program, index: int, store_id: str, recharge_yuan: int, now) -> str:
    member_id = members.register_member(
        uow, container.cipher, program, members.RegisterMember(phone=seeded_phone(index), store_id=store_id), now
    )
    command = wallet.RechargeCommand(member_id, store_id, Money(recharge_yuan * 100), wallet.PaymentMethod.CASH)
    wallet.recharge(uow, program, command, now)
    return member_id
