"""The write path's shortcut is safe: the accounts snapshot that the audit's "before" reads and hands to
the operation (ledger.prefetch_member_accounts) is dropped by anything that changes a member's accounts,
and nothing but the ledger's service changes their balances."""

from __future__ import annotations

import re
from pathlib import Path

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.members import service as members
from dinecard.platform.container import Container
from dinecard.shared.money import Money
from dinecard.stores import service as stores
from dinecard.wallet import service as wallet

SOURCE = Path(ledger.__file__).resolve().parents[1]  # src/dinecard
# Where a balance of ledger_accounts may be written, and why that is safe.
ACCOUNT_WRITERS = {
    "ledger/service.py": "the ledger itself: every write drops the prefetched snapshot first",
    "points/scheduled.py": "the daily expiry job: its own transactions, no request snapshot in them",
}
BALANCE_WRITE = re.compile(r"update\(\s*(?:Account|ACCOUNTS_TABLE|ledger\.ACCOUNTS_TABLE)\b|UPDATE\s+ledger_accounts")


def _member_with_money(container: Container) -> tuple[str, str]:
    now = container.clock.now()
    with container.database.write() as uow:
        store_id = stores.create_store(uow, "B-SNAP", "快照店", now).id
        member_id = members.register_member(
            uow, container.cipher, container.program, members.RegisterMember(phone="13900001234"), now
        )
        command = wallet.RechargeCommand(member_id, store_id, Money(50_000), wallet.PaymentMethod.CASH)
        wallet.recharge(uow, container.program, command, now)
    return store_id, member_id


def test_a_journal_transaction_drops_the_prefetched_snapshot_so_the_next_read_sees_its_balances(
    container: Container,
) -> None:
    # given a member's accounts read under the lock and handed on (as the audit's "before" does)
    store_id, member_id = _member_with_money(container)
    now = container.clock.now()
    with container.database.write() as uow:
        members.lock_member(uow, member_id)
        before = ledger.prefetch_member_accounts(uow.session, member_id)

        # when a journal transaction takes 1 yuan of principal in the same transaction
        consumption = ledger.counter_entry(
            uow, AccountKind.CONSUMPTION, Unit.FEN, 100, EntryReason.PAYMENT, now, store_id, "principal"
        )
        paid = Entry(before.principal_id, AccountKind.MEMBER_PRINCIPAL, -100, Unit.FEN, EntryReason.PAYMENT)
        ledger.record(
            uow,
            kind="checkout",
            entries=[paid, consumption],
            now=now,
            member_id=member_id,
            store_id=store_id,
            order_no=None,
            program_version=None,
        )
        after = ledger.load_member_accounts(uow.session, member_id)

    # then the next read is the database's, not the stale snapshot
    assert after is not before
    assert after.principal == before.principal - 100 == 50_000 - 100
    assert after.bonus == before.bonus


def test_only_the_ledger_and_the_expiry_job_write_account_balances() -> None:
    # A direct UPDATE of member accounts inside a request would leave the prefetched snapshot
    # stale (the operation would price against old balances): such a write belongs in ledger.service.
    writers = {
        path.relative_to(SOURCE).as_posix()
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts and BALANCE_WRITE.search(path.read_text(encoding="utf-8"))
    }

    assert writers == set(ACCOUNT_WRITERS), writers
