"""The audit log's hash chain: sealing entries into it, and verifying it.

Every sealed entry stores `entry_hash = sha256(previous_hash + canonical JSON of the entry)`
and the hash of the entry sealed just before it; the single `audit_seal` row holds the last
sealed entry, its hash and how many entries were sealed. Altering a sealed entry breaks its
own hash, deleting one breaks its successor's link, cutting off the tail leaves the seal
pointing at nothing. (Someone able to rewrite the chain *and* the seal row in the same
database is out of reach of any in-database check: export the seal now and then to keep that
honest.)

Sealing runs apart from the writes (the worker, every few seconds), so writers never wait on
a chain head. Ids are taken at insert but transactions commit in another order, so an entry
may become visible after entries with higher ids were sealed: it is simply sealed next. The
chain's order is therefore the seal order, recorded by `previous_hash`, not the id order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, aliased

from dinecard.platform.db import Database
from dinecard.security.models import AuditEntry, AuditSeal

GENESIS_HASH = "0" * 64
SEAL_ROW_ID = 1
SEAL_BATCH = 1000
VERIFY_BATCH = 1000
# How many offending ids a report names per kind of problem.
REPORT_IDS_MAX = 10

HASHED_COLUMNS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "actor_role",
    "store_id",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "target_kind",
    "target_id",
    "order_no",
    "before",
    "after",
)
_TABLE = AuditEntry.__table__
_HASHED = [_TABLE.c[name] for name in HASHED_COLUMNS]


def canonical_json(entry: Any) -> str:
    """The entry's content as one deterministic JSON text (sorted keys, no spaces)."""
    fields = {name: getattr(entry, name) for name in HASHED_COLUMNS}
    fields["occurred_at"] = fields["occurred_at"].isoformat()
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(previous_hash: str, entry: Any) -> str:
    return hashlib.sha256((previous_hash + canonical_json(entry)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SealResult:
    sealed: int
    # Entries sealed after entries with higher ids (their transaction committed late).
    late: int
    last_entry_id: int | None


def sealing_time(business_now: datetime) -> datetime:
    """The moment the sealer measures settling from: the later of the business clock and the real time."""
    # Entries carry the business clock's time, which may be pinned (demo) or moved (tests);
    # a pinned clock alone would never let an entry settle.
    return max(business_now, datetime.now(UTC))


def seal_pending(database: Database, now: datetime, settle_seconds: float = 5, batch: int = SEAL_BATCH) -> SealResult:
    """Seal up to `batch` unsealed entries older than `settle_seconds`, in id order, onto the chain."""
    assert 0 < batch <= 10 * SEAL_BATCH
    cutoff = now - timedelta(seconds=settle_seconds)
    pending = select(AuditEntry.id).where(AuditEntry.entry_hash.is_(None), AuditEntry.occurred_at <= cutoff)
    with database.read() as session:
        # Most runs find nothing: do not take SQLite's write lock for them.
        if session.execute(pending.limit(1)).first() is None:
            return SealResult(0, 0, None)
    with database.write() as uow:
        uow.insert_ignoring_conflict(
            AuditSeal.__table__,
            {"id": SEAL_ROW_ID, "last_entry_id": 0, "last_hash": GENESIS_HASH, "sealed_count": 0, "updated_at": now},
            "id",
        )
        # One sealer at a time: the seal row is the chain head (SQLite's write lock already serializes).
        head = select(AuditSeal.last_entry_id, AuditSeal.last_hash).where(AuditSeal.id == SEAL_ROW_ID)
        if database.dialect == "postgresql":
            head = head.with_for_update()
        last_entry_id, previous_hash = uow.session.execute(head).one()
        # Read only now, under the lock, so another sealer's work is visible and never sealed twice.
        rows = uow.session.execute(
            select(*_HASHED)
            .where(AuditEntry.entry_hash.is_(None), AuditEntry.occurred_at <= cutoff)
            .order_by(AuditEntry.id)
            .limit(batch)
        ).all()
        if not rows:
            return SealResult(0, 0, None)
        late = sum(1 for row in rows if row.id < last_entry_id)
        changes = []
        for row in rows:
            current = entry_hash(previous_hash, row)
            changes.append({"id": row.id, "previous_hash": previous_hash, "entry_hash": current, "sealed_at": now})
            previous_hash = current
        uow.session.execute(update(AuditEntry), changes)
        uow.session.execute(
            update(AuditSeal)
            .where(AuditSeal.id == SEAL_ROW_ID)
            .values(
                last_entry_id=rows[-1].id,
                last_hash=previous_hash,
                sealed_count=AuditSeal.sealed_count + len(rows),
                updated_at=now,
            )
        )
    return SealResult(len(rows), late, rows[-1].id)


@dataclass
class VerifyReport:
    """What `verify` found: `ok` when every sealed entry is intact and the chain is whole."""

    sealed: int = 0
    unsealed: int = 0
    seal_count: int = 0
    seal_last_entry_id: int | None = None
    altered_ids: list[int] = field(default_factory=list)
    broken_link_ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    bad_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_entry_id(self) -> int | None:
        return min(self.bad_ids) if self.bad_ids else None

    def fail(self, problem: str, entry_id: int | None = None) -> None:
        self.problems.append(problem)
        if entry_id is not None:
            self.bad_ids.append(entry_id)


def verify(database: Database) -> VerifyReport:
    """Recompute every sealed entry's hash and check the links and the seal, in one consistent snapshot."""
    report = VerifyReport()
    with database.read() as session:
        if database.dialect == "postgresql":
            # One snapshot for all the queries below, so a sealer running meanwhile cannot fake a break.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        _check_hashes(session, report)
        _check_links(session, report)
        _check_seal(session, report)
    return report


def _check_hashes(session: Session, report: VerifyReport) -> None:
    after_id = -1
    while True:
        rows = session.execute(
            select(*_HASHED, AuditEntry.previous_hash, AuditEntry.entry_hash)
            .where(AuditEntry.entry_hash.is_not(None), AuditEntry.id > after_id)
            .order_by(AuditEntry.id)
            .limit(VERIFY_BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            if entry_hash(row.previous_hash or "", row) != row.entry_hash:
                report.altered_ids.append(row.id)
        report.sealed += len(rows)
        after_id = rows[-1].id
    report.unsealed = session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.entry_hash.is_(None))
    ).scalar_one()
    if report.altered_ids:
        first = report.altered_ids[0]
        report.fail(
            f"entry {first} was altered after it was sealed (its hash no longer matches)"
            + (f"; {len(report.altered_ids)} altered entries in all" if len(report.altered_ids) > 1 else ""),
            first,
        )
        del report.altered_ids[REPORT_IDS_MAX:]


def _check_links(session: Session, report: VerifyReport) -> None:
    """Each sealed entry follows exactly one other (or the genesis), and none is followed twice."""
    predecessor = aliased(AuditEntry)
    sealed = AuditEntry.entry_hash.is_not(None)
    broken = session.execute(
        select(AuditEntry.id)
        .where(
            sealed,
            AuditEntry.previous_hash != GENESIS_HASH,
            ~select(predecessor.id).where(predecessor.entry_hash == AuditEntry.previous_hash).exists(),
        )
        .order_by(AuditEntry.id)
        .limit(REPORT_IDS_MAX)
    ).scalars()
    report.broken_link_ids = list(broken)
    if report.broken_link_ids:
        first = report.broken_link_ids[0]
        report.fail(f"entry {first} follows an entry that is gone: an entry was deleted or altered", first)
    starts = list(
        session.execute(
            select(AuditEntry.id)
            .where(sealed, AuditEntry.previous_hash == GENESIS_HASH)
            .order_by(AuditEntry.id)
            .limit(REPORT_IDS_MAX)
        ).scalars()
    )
    if len(starts) > 1:
        report.fail(f"the chain starts more than once (entries {starts})", starts[1])
    forks = list(
        session.execute(
            select(func.max(AuditEntry.id))
            .where(sealed)
            .group_by(AuditEntry.previous_hash)
            .having(func.count() > 1)
            .limit(REPORT_IDS_MAX)
        ).scalars()
    )
    if forks:
        report.fail(f"entries {sorted(forks)} follow an entry that another entry already follows", min(forks))


def _check_seal(session: Session, report: VerifyReport) -> None:
    """The seal row names the chain's last entry and its length: a cut-off tail shows here."""
    seal = session.execute(
        select(AuditSeal.last_entry_id, AuditSeal.last_hash, AuditSeal.sealed_count).where(AuditSeal.id == SEAL_ROW_ID)
    ).one_or_none()
    if seal is None:
        if report.sealed:
            report.fail("the audit seal row is missing although entries are sealed")
        return
    report.seal_count = seal.sealed_count
    report.seal_last_entry_id = seal.last_entry_id if seal.sealed_count else None
    if seal.sealed_count == 0:
        if report.sealed:
            report.fail(f"{report.sealed} entries are sealed but the seal records none")
        return
    head_hash = session.execute(
        select(AuditEntry.entry_hash).where(AuditEntry.id == seal.last_entry_id)
    ).scalar_one_or_none()
    if head_hash is None:
        report.fail(
            f"entry {seal.last_entry_id}, the last one sealed, is missing or unsealed: the tail was cut off",
            seal.last_entry_id,
        )
    elif head_hash != seal.last_hash:
        report.fail(
            f"entry {seal.last_entry_id}, the last one sealed, does not carry the seal's hash", seal.last_entry_id
        )
    followers = list(
        session.execute(
            select(AuditEntry.id)
            .where(and_(AuditEntry.entry_hash.is_not(None), AuditEntry.previous_hash == seal.last_hash))
            .limit(REPORT_IDS_MAX)
        ).scalars()
    )
    if followers:
        report.fail(f"entries {followers} were chained after the seal's last entry without the sealer", min(followers))
    if report.sealed != seal.sealed_count:
        report.fail(f"{report.sealed} sealed entries found, the seal counts {seal.sealed_count}")
