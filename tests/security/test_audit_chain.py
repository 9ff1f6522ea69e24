"""The hash chain: sealing links every entry, and verify finds the first altered or deleted one."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import text

from dinecard.platform.container import Container
from dinecard.platform.worker import WorkerState, run_iteration
from dinecard.security import audit
from dinecard.security.audit_chain import entry_hash
from dinecard.security.domain import Principal, Role
from dinecard.security.models import AuditEntry, AuditSeal
from dinecard.shared.clock import FixedClock
from tests.security.helpers import audit_entries

CASHIER = Principal(key_id="01JCASHIERKEY0000000000000", name="POS 1", role=Role.CASHIER, store_id="S1")
SETTLED = timedelta(seconds=10)


def _write(container: Container, count: int, at: datetime | None = None) -> list[int]:
    """`count` recharge-like entries, one transaction each."""
    ids = []
    for number in range(count):
        with container.database.write() as uow:
            ids.append(
                audit.record(
                    uow,
                    actor=CASHIER,
                    action="POST /api/v1/members/{member_id}/recharges",
                    target_kind="member",
                    target_id=f"M{number}",
                    order_no=f"R{number}",
                    before={"balance": {"total": "0.00"}},
                    after={"balance": {"total": f"{number}00.00"}, "note": "充值"},
                    store_id="S1",
                    ip="10.0.0.7",
                    now=at or container.clock.now(),
                )
            )
    return ids


def _seal_all(container: Container) -> int:
    return audit.seal_pending(container.database, container.clock.now() + SETTLED).sealed


def _move_later(container: Container, entry_id: int, delta: timedelta) -> None:
    with container.database.write() as uow:
        entry = uow.session.get(AuditEntry, entry_id)
        assert entry is not None
        entry.occurred_at = entry.occurred_at + delta


def _tamper(container: Container, statement: str) -> None:
    with container.database.write() as uow:
        uow.session.execute(text(statement))


def test_sealing_links_every_entry_to_the_one_before_and_verify_passes(container: Container) -> None:
    # given five entries
    ids = _write(container, 5)

    # when they are sealed
    assert _seal_all(container) == 5

    # then each names the previous hash, the first names the genesis, and the seal names the last
    entries = audit_entries(container)
    assert [e.id for e in entries] == ids
    assert entries[0].previous_hash == audit.GENESIS_HASH
    for previous, entry in pairwise(entries):
        assert entry.previous_hash == previous.entry_hash
    assert all(e.sealed_at is not None for e in entries)
    with container.database.read() as session:
        seal = session.get(AuditSeal, 1)
        assert seal is not None
        assert (seal.last_entry_id, seal.last_hash, seal.sealed_count) == (ids[-1], entries[-1].entry_hash, 5)
    report = audit.verify(container.database)
    assert report.ok, report.problems
    assert (report.sealed, report.unsealed, report.first_bad_entry_id) == (5, 0, None)


def test_sealing_again_seals_only_the_new_entries(container: Container) -> None:
    _write(container, 3)
    assert _seal_all(container) == 3
    assert _seal_all(container) == 0
    _write(container, 2)
    assert _seal_all(container) == 2
    assert audit.verify(container.database).sealed == 5


def test_entries_younger_than_the_settle_time_wait_for_the_next_seal(container: Container, clock: FixedClock) -> None:
    # given an entry from a minute ago and one from just now
    _write(container, 1, at=clock.now() - timedelta(minutes=1))
    _write(container, 1)

    # when sealing runs now with a 5 second settle time
    result = audit.seal_pending(container.database, clock.now(), settle_seconds=5)

    # then only the older one is sealed; verify is still happy, and counts the other
    assert result.sealed == 1
    report = audit.verify(container.database)
    assert report.ok and (report.sealed, report.unsealed) == (1, 1)


def test_an_entry_committed_after_later_ones_were_sealed_is_sealed_next(
    container: Container, clock: FixedClock
) -> None:
    # given entry 1, whose transaction is still settling, and entries 2 and 3 already sealed
    late, *settled = _write(container, 3)
    _move_later(container, late, timedelta(hours=1))
    assert audit.seal_pending(container.database, clock.now() + SETTLED).sealed == 2

    # when it settles and the sealer runs again
    result = audit.seal_pending(container.database, clock.now() + timedelta(hours=2))

    # then it is sealed after the higher ids, and the chain is whole with nothing left out
    assert (result.sealed, result.late, result.last_entry_id) == (1, 1, late)
    entries = {e.id: e for e in audit_entries(container)}
    assert entries[late].previous_hash == entries[settled[-1]].entry_hash
    report = audit.verify(container.database)
    assert report.ok, report.problems
    assert (report.sealed, report.unsealed) == (3, 0)


def test_an_entry_edited_in_the_database_fails_verify_naming_it(container: Container) -> None:
    # given a sealed chain
    ids = _write(container, 5)
    _seal_all(container)

    # when someone rewrites the third entry's after-balance directly in the database
    _tamper(
        container, f"""UPDATE audit_log SET "after" = '{{"balance": {{"total": "9999.00"}}}}' WHERE id = {ids[2]}"""
    )

    # then verify fails and names that entry
    report = audit.verify(container.database)
    assert not report.ok
    assert report.first_bad_entry_id == ids[2]
    assert report.altered_ids == [ids[2]]
    assert f"entry {ids[2]} was altered" in report.problems[0]


def test_an_edit_with_a_recomputed_hash_still_breaks_the_next_link(container: Container) -> None:
    # given a sealed chain whose second entry is altered and given a fresh, self-consistent hash
    ids = _write(container, 4)
    _seal_all(container)
    _tamper(container, f"UPDATE audit_log SET ip = '6.6.6.6' WHERE id = {ids[1]}")
    entry = next(e for e in audit_entries(container) if e.id == ids[1])
    forged = entry_hash(entry.previous_hash or "", entry)
    _tamper(container, f"UPDATE audit_log SET entry_hash = '{forged}' WHERE id = {ids[1]}")

    # then the entry after it no longer follows anything
    report = audit.verify(container.database)
    assert not report.ok
    assert report.broken_link_ids == [ids[2]]
    assert report.first_bad_entry_id == ids[2]


def test_a_deleted_entry_breaks_the_chain_at_its_successor(container: Container) -> None:
    ids = _write(container, 5)
    _seal_all(container)

    _tamper(container, f"DELETE FROM audit_log WHERE id = {ids[2]}")

    report = audit.verify(container.database)
    assert not report.ok
    assert report.broken_link_ids == [ids[3]]
    assert report.first_bad_entry_id == ids[3]
    assert any("4 sealed entries found, the seal counts 5" in problem for problem in report.problems)


def test_a_deleted_first_entry_is_caught(container: Container) -> None:
    ids = _write(container, 3)
    _seal_all(container)

    _tamper(container, f"DELETE FROM audit_log WHERE id = {ids[0]}")

    report = audit.verify(container.database)
    assert not report.ok and report.first_bad_entry_id == ids[1]


def test_a_cut_off_tail_is_caught_by_the_seal(container: Container) -> None:
    # given a sealed chain
    ids = _write(container, 5)
    _seal_all(container)

    # when its last entry is deleted, which leaves every remaining link intact
    _tamper(container, f"DELETE FROM audit_log WHERE id = {ids[-1]}")

    # then the seal still names it, so verify fails naming it
    report = audit.verify(container.database)
    assert not report.ok
    assert report.broken_link_ids == [] and report.altered_ids == []
    assert report.first_bad_entry_id == ids[-1]
    assert "the tail was cut off" in report.problems[0]


def test_an_unsealed_copy_of_a_sealed_entry_is_caught(container: Container) -> None:
    # given a sealed chain whose middle entry is "unsealed" so that it could be edited freely
    ids = _write(container, 3)
    _seal_all(container)
    _tamper(
        container, f"UPDATE audit_log SET entry_hash = NULL, previous_hash = NULL, sealed_at = NULL WHERE id = {ids[1]}"
    )

    report = audit.verify(container.database)
    assert not report.ok and report.first_bad_entry_id == ids[2]


def test_an_empty_log_verifies(container: Container) -> None:
    report = audit.verify(container.database)
    assert report.ok and report.sealed == 0


def test_the_worker_seals_the_log_every_iteration(container: Container, clock: FixedClock) -> None:
    # given entries written a while ago
    _write(container, 3)
    clock.advance(SETTLED)

    # when the worker iterates
    iteration = run_iteration(container, WorkerState())

    # then they are sealed
    assert iteration.sealed == 3
    report = audit.verify(container.database)
    assert report.ok and (report.sealed, report.unsealed) == (3, 0)


WRITERS = 6
WRITES_EACH = 15


# PostgreSQL only: SQLite runs one write transaction at a time, so nothing commits out of order there.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_concurrent_writers_and_two_sealers_leave_one_whole_chain(container: Container, clock: FixedClock) -> None:
    # given six writers whose transactions commit out of id order, and two sealers running meanwhile
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for index in range(WRITES_EACH):
                with container.database.write() as uow:
                    audit.record(
                        uow,
                        actor=CASHIER,
                        action="POST /api/v1/members/{member_id}/checkouts",
                        target_kind="member",
                        target_id=f"W{number}",
                        after={"n": index},
                        now=clock.now(),
                    )
                    # Hold the id for a moment, so later ids commit first.
                    time.sleep(0.001 * ((number * 7 + index) % 5))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def sealer() -> None:
        try:
            while not done.is_set():
                audit.seal_pending(container.database, clock.now(), settle_seconds=0, batch=7)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for thread in writers + sealers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in sealers:
        thread.join()

    # when the sealing catches up
    while audit.seal_pending(container.database, clock.now(), settle_seconds=0).sealed:
        pass

    # then every entry is sealed exactly once into one chain
    assert errors == []
    report = audit.verify(container.database)
    assert report.ok, report.problems
    assert (report.sealed, report.unsealed, report.seal_count) == (WRITERS * WRITES_EACH, 0, WRITERS * WRITES_EACH)
