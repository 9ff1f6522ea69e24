"""A realistic demo chain made through the real services, so its ledger is as real as production's.

The same generator feeds benchmarks: give it more members, stores and days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from dinecard.demo import rewards as demo_rewards
from dinecard.members import service as members
from dinecard.members.models import Member
from dinecard.menu import service as menu
from dinecard.platform.container import Container
from dinecard.shared.clock import FixedClock
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores import service as stores
from dinecard.stores.models import Store
from dinecard.wallet import service as wallet

STORE_NAMES = ["人民广场店", "徐家汇店", "五角场店", "陆家嘴店", "静安寺店", "中山公园店", "七宝店", "莘庄店"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "晨",
]
MENU = [
    ("D001", "招牌毛肚", 6800, "涮菜"),
    ("D002", "鲜切牛肉", 5800, "涮菜"),
    ("soup_spicy", "麻辣锅底", 4800, "锅底"),
    ("soup_tomato", "番茄锅底", 3800, "锅底"),
    ("D005", "虾滑", 3600, "涮菜"),
    ("D006", "手工面", 1200, "主食"),
    ("D007", "酸梅汤", 800, "饮品"),
    ("D008", "冰粉", 1000, "甜品"),
    ("D009", "鸭血", 2200, "涮菜"),
    ("D010", "嫩豆腐", 1600, "涮菜"),
    ("D011", "黄喉", 3800, "涮菜"),
    ("D012", "午餐肉", 2600, "涮菜"),
]
RECHARGE_AMOUNTS = [(20000, 30), (50000, 35), (100000, 15), (200000, 5), (30000, 8), (10000, 7)]
METHODS = [
    wallet.PaymentMethod.WECHAT,
    wallet.PaymentMethod.ALIPAY,
    wallet.PaymentMethod.CASH,
    wallet.PaymentMethod.BANK_CARD,
]


@dataclass(frozen=True)
class DemoSpec:
    members: int = 300
    stores: int = 4
    days: int = 90
    seed: int = 7
    end: datetime | None = None  # defaults to the container's clock


def has_demo_data(container: Container) -> bool:
    with container.database.read() as session:
        return session.execute(select(func.count()).select_from(Store)).scalar_one() > 0


def _meal_time(rng: random.Random, day: date, tz: ZoneInfo) -> datetime:
    lunch = rng.random() < 0.4
    start_minutes = 11 * 60 + 20 if lunch else 17 * 60 + 20
    minutes = start_minutes + rng.randint(0, 150 if lunch else 220)
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, rng.randint(0, 59), tzinfo=tz)
    return local.astimezone(UTC)


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "135", "186", "187", "159", "177", "150"]) + f"{rng.randint(0, 10**8 - 1):08d}"


def _bill(rng: random.Random) -> tuple[Money, tuple[wallet.LineItem, ...]]:
    lines = []
    for dish_id, name, price, _category in rng.sample(MENU, rng.randint(2, 6)):
        lines.append(wallet.LineItem(dish_id, name, rng.choice([1, 1, 1, 2]), Money(price)))
    return Money(sum(line.total.fen for line in lines)), tuple(lines)


def generate(container: Container, spec: DemoSpec, console: Console | None = None) -> str:
    """Create stores and members and replay `days` of recharges, checkouts and refunds."""
    rng = random.Random(spec.seed)
    program = container.program
    tz = ZoneInfo(program.business_timezone)
    end = spec.end or container.clock.now()
    clock = FixedClock(end - timedelta(days=spec.days))
    database = container.database
    counts = {"members": 0, "recharges": 0, "checkouts": 0, "coupons used": 0, "refunds": 0}

    store_ids = []
    with database.write() as uow:
        for index in range(spec.stores):
            code = f"S{index + 1:03d}"
            name = STORE_NAMES[index % len(STORE_NAMES)] + ("" if index < len(STORE_NAMES) else f"{index}")
            store_ids.append(stores.create_store(uow, code, name, clock.now()).id)
        for dish_id, dish_name, price, category in MENU:
            fields = menu.DishFields(dish_name, None, category, Money(price), None, None)
            menu.create_dish(uow, dish_id, fields, clock.now())
        demo_rewards.set_up(uow, program, clock.now())

    # Each member: when they join, how often they come, whether and how much they recharge.
    plans = []
    for _ in range(spec.members):
        joined = rng.uniform(0, spec.days * 0.9)
        plans.append((joined, rng.choice(store_ids), rng.random() < 0.45, rng.uniform(2, 14)))
    events: list[tuple[datetime, int, str]] = []
    for index, (joined, _store, recharges, interval) in enumerate(plans):
        day = (end - timedelta(days=spec.days - joined)).astimezone(tz).date()
        events.append((_meal_time(rng, day, tz), index, "register"))
        t = joined
        first = True
        while t < spec.days:
            day = (end - timedelta(days=spec.days - t)).astimezone(tz).date()
            moment = _meal_time(rng, day, tz)
            if moment > end:
                break
            if recharges and (first or rng.random() < 0.08):
                events.append((moment, index, "recharge"))
            events.append((moment + timedelta(minutes=50), index, "checkout"))
            first = False
            t += rng.expovariate(1 / interval)
    events.sort()

    member_ids: dict[int, str] = {}
    recent_checkouts: list[str] = []
    used_phones: set[str] = set()
    progress = Progress(console=console, transient=True) if console else None
    task = progress.add_task("Replaying the demo chain's history", total=len(events)) if progress else None
    if progress:
        progress.start()
    try:
        for moment, index, kind in events:
            clock.set(max(moment, clock.now()))
            now = clock.now()
            _joined, home_store, _recharges, _interval = plans[index]
            store = home_store if rng.random() < 0.85 else rng.choice(store_ids)
            try:
                with database.write() as uow:
                    if kind == "register":
                        phone = _phone(rng)
                        while phone in used_phones:
                            phone = _phone(rng)
                        used_phones.add(phone)
                        profile = {"allergies": ["花生"]} if rng.random() < 0.05 else {}
                        member_ids[index] = members.register_member(
                            uow,
                            container.cipher,
                            program,
                            members.RegisterMember(
                                phone=phone,
                                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                                birthday=date(rng.randint(1965, 2005), rng.randint(1, 12), rng.randint(1, 28)),
                                gender=rng.choice(["female", "male"]),
                                store_id=home_store,
                                profile=profile,
                            ),
                            now,
                        )
                        demo_rewards.welcome(uow, program, member_ids[index], now)
                        counts["members"] += 1
                    elif kind == "recharge" and index in member_ids:
                        amounts, weights = zip(*RECHARGE_AMOUNTS, strict=True)
                        amount = Money(rng.choices(amounts, weights)[0])
                        wallet.recharge(
                            uow,
                            program,
                            wallet.RechargeCommand(member_ids[index], store, amount, rng.choice(METHODS)),
                            now,
                        )
                        counts["recharges"] += 1
                    elif kind == "checkout" and index in member_ids:
                        total, items = _bill(rng)
                        view = members.member_view(uow.session, container.cipher, program, member_ids[index], now)
                        use_points = 0
                        if view.points_usable >= 500 and rng.random() < 0.3:
                            use_points = min(view.points_usable, total.fen // 2) // 100 * 100
                        result = wallet.checkout(
                            uow,
                            program,
                            wallet.CheckoutCommand(
                                member_ids[index],
                                store,
                                total,
                                items,
                                coupon_codes=tuple(
                                    demo_rewards.coupon_for_bill(uow, member_ids[index], total, now, rng)
                                ),
                                use_points=use_points,
                                pay_with_balance=view.balance_total.fen > 0,
                                other_tender_method=rng.choice(METHODS),
                            ),
                            now,
                        )
                        counts["checkouts"] += 1
                        counts["coupons used"] += len(result.coupons)
                        recent_checkouts.append(result.order_no)
                        if rng.random() < 0.03 and recent_checkouts:
                            order_no = rng.choice(recent_checkouts[-20:])
                            partial = rng.random() < 0.5
                            wallet.refund(
                                uow,
                                program,
                                order_no,
                                Money(500) if partial else None,
                                now,
                                "菜品问题" if partial else "顾客取消",
                            )
                            counts["refunds"] += 1
            except DomainError:
                pass  # e.g. a refund of an order refunded already: the demo simply moves on
            if progress and task is not None:
                progress.advance(task)
    finally:
        if progress:
            progress.stop()
    counts |= demo_rewards.spend_some_points(database, program, list(member_ids.values()), store_ids, clock.now(), rng)
    return ", ".join(f"{value} {key}" for key, value in counts.items())


def member_count(container: Container) -> int:
    with container.database.read() as session:
        return session.execute(select(func.count()).select_from(Member)).scalar_one()
