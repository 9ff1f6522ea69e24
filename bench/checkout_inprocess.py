"""Checkouts per second through the services, in one process, one client (no HTTP).

    .venv/bin/python bench/checkout_inprocess.py [DATABASE_URL] [--checkouts N]

Default: a temporary SQLite file. The HTTP benchmarks against the physical limit are issue 7's;
this one isolates the cost of the use case and its SQL. Prints a figure, not a verdict.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime

from dinecard.members import service as members
from dinecard.platform.container import Container
from dinecard.platform.db import Database
from dinecard.platform.migrate import upgrade
from dinecard.platform.settings import Settings
from dinecard.security.crypto import PersonalDataCipher
from dinecard.shared.clock import FixedClock
from dinecard.shared.money import Money
from dinecard.stores import service as stores
from dinecard.wallet import service as wallet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="?", default=None)
    parser.add_argument("--checkouts", type=int, default=1000)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    container = Container(
        Settings(database_url=url),
        Database(url),
        PersonalDataCipher(os.urandom(32)),
        FixedClock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC)),
    )
    now = container.clock.now()
    with container.database.write() as uow:
        store = stores.create_store(uow, f"B{random.randint(0, 10**6)}", "bench", now).id
    member_ids = []
    for _ in range(args.members):
        with container.database.write() as uow:
            phone = f"139{random.randint(0, 10**8 - 1):08d}"
            member_id = members.register_member(
                uow, container.cipher, container.program, members.RegisterMember(phone=phone), now
            )
            wallet.recharge(
                uow,
                container.program,
                wallet.RechargeCommand(member_id, store, Money(200000), wallet.PaymentMethod.CASH),
                now,
            )
        member_ids.append(member_id)
    rates = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for index in range(args.checkouts):
            with container.database.write() as uow:
                command = wallet.CheckoutCommand(
                    member_ids[index % len(member_ids)], store, Money(880), use_points=100 if index % 3 == 0 else 0
                )
                wallet.checkout(uow, container.program, command, now)
        rates.append(args.checkouts / (time.perf_counter() - started))
    dialect = container.database.dialect
    print(
        f"{dialect}: {statistics.median(rates):.0f} checkouts/s in-process, one client "
        f"(median of {args.runs} runs of {args.checkouts}; min {min(rates):.0f}, max {max(rates):.0f}; "
        f"{os.cpu_count()} cores, same box)"
    )


if __name__ == "__main__":
    main()
