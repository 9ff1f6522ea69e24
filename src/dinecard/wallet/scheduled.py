"""Daily wallet job: releasing deferred bonus instalments on their due dates (R-RCH-6)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from dinecard.ledger import service as ledger
from dinecard.ledger.domain import AccountKind, Entry, EntryReason, Unit
from dinecard.members.service import lock_member
from dinecard.platform import outbox
from dinecard.platform.db import UnitOfWork
from dinecard.platform.jobs import JobProgress, JobResult, keyset_batches, member_pages, register_daily_job
from dinecard.security import audit
from dinecard.shared.money import Money
from dinecard.wallet.models import BonusRelease

if TYPE_CHECKING:
    from dinecard.platform.container import Container


def _open_release_owners(business_date: date) -> Callable[[Session, str | None, int], Sequence[str]]:
    return member_pages(
        BonusRelease.member_id,
        BonusRelease.due_on <= business_date,
        BonusRelease.released_at.is_(None),
        BonusRelease.cancelled_at.is_(None),
        distinct=True,
    )


def release_bonuses(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Move each due instalment from the member's pending bonus to their bonus balance."""
    result = JobResult()
    for member_ids in keyset_batches(container, _open_release_owners(business_date)):
        with container.database.write() as uow:
            for member_id in member_ids:
                released = _release_member(uow, container, member_id, business_date)
                if released:
                    result.add("members")
                    result.add("fen", released)
        progress.advance(len(member_ids))
    return result


def _release_member(uow: UnitOfWork, container: Container, member_id: str, business_date: date) -> int:
    member = lock_member(uow, member_id)
    # Re-read under the lock: a refund may have cancelled them, another run released them.
    due = (
        uow.session.execute(
            select(BonusRelease).where(
                BonusRelease.member_id == member.id,
                BonusRelease.due_on <= business_date,
                BonusRelease.released_at.is_(None),
                BonusRelease.cancelled_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    if not due:
        return 0
    now = container.clock.now()
    amount = sum(release.amount_fen for release in due)
    accounts = ledger.load_member_accounts(uow.session, member.id)
    assert accounts.pending_bonus_id is not None, "a scheduled release implies a pending-bonus account"
    entries = [
        Entry(
            accounts.pending_bonus_id, AccountKind.MEMBER_PENDING_BONUS, -amount, Unit.FEN, EntryReason.BONUS_RELEASE
        ),
        Entry(accounts.bonus_id, AccountKind.MEMBER_BONUS, amount, Unit.FEN, EntryReason.BONUS_RELEASE),
    ]
    transaction_id = ledger.record(
        uow,
        kind="bonus_release",
        entries=entries,
        now=now,
        member_id=member.id,
        store_id=None,
        order_no=None,
        program_version=None,
        memo=f"instalments due by {business_date.isoformat()}",
    )
    for release in due:
        release.released_at = now
        release.journal_transaction_id = transaction_id
    audit.record(
        uow,
        actor=None,
        actor_name="job bonus_release",
        action="job bonus_release",
        target_kind="member",
        target_id=member.id,
        now=now,
        before={"bonus": Money(accounts.bonus).yuan()},
        after={"bonus": Money(accounts.bonus + amount).yuan(), "released": Money(amount).yuan()},
    )
    outbox.enqueue(
        uow,
        member_id=member.id,
        topic="bonus_released",
        now=now,
        payload={"amount": Money(amount).yuan(), "business_date": business_date.isoformat()},
    )
    return amount


register_daily_job("bonus_release", release_bonuses)
