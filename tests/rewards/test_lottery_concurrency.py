"""Concurrent draws on PostgreSQL (SQLite runs one write transaction at a time: no race to test).

64 draws are released at once by a barrier, each in its own transaction through the service.
They share a pool of 32 connections, so at most 32 are inside the database together: enough to
contest the last unit of a prize and a member's lock, without crowding out other test processes
on a server with the default 100 connections.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from dinecard.lottery import service
from dinecard.lottery.domain import PrizeKind, PrizeSpec
from dinecard.lottery.models import Draw, Prize
from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.platform.db import Database
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from tests.rewards.test_lottery_api import assert_reconciles

DRAWS = 64
CONNECTIONS = 32
SECONDS_MAX = 60

FIELDS = service.LotteryFields("并发抽奖", None, 100, None, None, None, True)


@pytest.fixture
def pg(pg_container: Container) -> Iterator[tuple[Container, Database]]:
    database = Database(pg_container.database.url, pool_size=CONNECTIONS, pool_overflow=0)
    yield pg_container, database
    database.dispose()


def _store(container: Container) -> str:
    with container.database.write() as uow:
        return create_store(uow, "S001", "人民广场店", container.clock.now()).id


def _member_with_points(container: Container, store_id: str, phone: str, recharges_fen: tuple[int, ...]) -> str:
    """Points the way members get them: recharges on the default tiers (200 → 100, 1000 → 800)."""
    now = container.clock.now()
    with container.database.write() as uow:
        member_id = register_member(uow, container.cipher, container.program, RegisterMember(phone=phone), now)
    for fen in recharges_fen:
        command = wallet.RechargeCommand(member_id, store_id, Money(fen), wallet.PaymentMethod.WECHAT)
        with container.database.write() as uow:
            wallet.recharge(uow, container.program, command, now)
    return member_id


def _hammer(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Release every job at once; each job's result, or the exception it raised."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        try:
            return job()
        except Exception as exc:  # the test judges every outcome
            return exc

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(run, job) for job in jobs]
        return [future.result(timeout=SECONDS_MAX) for future in futures]


def _drawer(container: Container, database: Database, member_id: str, store_id: str) -> Callable[[], Any]:
    program = container.program
    command = service.DrawCommand(member_id=member_id, lottery_id="L1", store_id=store_id)

    def job() -> Any:
        with database.write() as uow:
            return service.draw(uow, program, command, container.clock.now())

    return job


def _usable(container: Container, member_id: str) -> int:
    from dinecard.ledger.service import load_member_accounts
    from dinecard.points.domain import usable_points

    with container.database.read() as session:
        accounts = load_member_accounts(session, member_id)
    return usable_points(accounts.lots, accounts.debt, container.clock.now())


def test_64_members_racing_for_a_prize_with_stock_3_give_exactly_3(pg: tuple[Container, Database]) -> None:
    # given 64 members with 100 points each, and P (stock 3, nearly always picked first) next to unlimited N
    container, database = pg
    store_id = _store(container)
    members = [_member_with_points(container, store_id, f"1390000{i:04d}", (20_000,)) for i in range(DRAWS)]
    prizes = [
        PrizeSpec("P", "10 积分", PrizeKind.POINTS, 1000, stock=3, points=10),
        PrizeSpec("N", "谢谢参与", PrizeKind.NOTHING, 1),
    ]
    with container.database.write() as uow:
        service.create_lottery(uow, "L1", FIELDS, prizes, container.clock.now())

    # when all 64 draw at once
    outcomes = _hammer([_drawer(container, database, member_id, store_id) for member_id in members])

    # then every draw succeeded, exactly 3 won P, and P was given exactly 3 times
    assert [o for o in outcomes if not isinstance(o, service.DrawResult)] == []
    won = Counter(o.draw.prize_code for o in outcomes)
    assert won == {"P": 3, "N": DRAWS - 3}
    with container.database.read() as session:
        given = {code: count for code, count in session.execute(select(Prize.code, Prize.given)).all()}
        rows = list(session.execute(select(Draw)).scalars())
    assert given == {"P": 3, "N": DRAWS - 3}
    # and the losers who saw P in stock but lost the race record it as gone; every draw replays
    raced = sum(1 for row in rows if row.exhausted == ["P"])
    print(f"\n{raced} of {DRAWS - 3} losing draws found P gone after reading it in stock")
    assert all(row.exhausted in ([], ["P"]) for row in rows)
    assert all(service.replay_matches(row, service.replay_draw(row)) for row in rows)
    # and each member paid 100 points once; the winners got 10 back
    winners = {o.draw.member_id for o in outcomes if o.draw.prize_code == "P"}
    assert sorted(_usable(container, m) for m in members) == [0] * (DRAWS - 3) + [10] * 3
    assert all(_usable(container, m) == 10 for m in winners)
    assert_reconciles(container)


def test_64_draws_by_one_member_with_points_for_10_give_exactly_10(pg: tuple[Container, Database]) -> None:
    # given one member with exactly 1000 points (800 + 100 + 100) and a 100-point lottery of N only
    container, database = pg
    store_id = _store(container)
    member_id = _member_with_points(container, store_id, "13900009999", (100_000, 20_000, 20_000))
    assert _usable(container, member_id) == 1000
    with container.database.write() as uow:
        prizes = [PrizeSpec("N", "谢谢参与", PrizeKind.NOTHING, 1)]
        service.create_lottery(uow, "L1", FIELDS, prizes, container.clock.now())

    # when 64 tills draw for the member at once
    outcomes = _hammer([_drawer(container, database, member_id, store_id) for _ in range(DRAWS)])

    # then exactly 10 draws succeeded, the rest were refused for points, and no point is left
    results = [o for o in outcomes if isinstance(o, service.DrawResult)]
    refused = [o for o in outcomes if isinstance(o, DomainError) and o.kind is errors.INSUFFICIENT_POINTS]
    assert (len(results), len(refused)) == (10, DRAWS - 10), [o for o in outcomes if isinstance(o, Exception)][:3]
    assert sorted(r.points_after for r in results) == list(range(0, 1000, 100))
    assert _usable(container, member_id) == 0
    with container.database.read() as session:
        assert len(list(session.execute(select(Draw.id)).scalars())) == 10
    assert_reconciles(container)
