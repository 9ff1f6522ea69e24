"""Writing and reading the rewards timeline (coupons, mall, lottery, stamps, bought levels)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dinecard.platform.db import UnitOfWork
from dinecard.rewards.models import RewardEvent


def record(uow: UnitOfWork, member_id: str, kind: str, ref: str | None, now: datetime, **detail: Any) -> None:
    uow.session.execute(
        insert(RewardEvent).values(member_id=member_id, kind=kind, ref=ref, detail=detail, occurred_at=now)
    )


def page(session: Session, member_id: str, before_id: int | None, limit: int) -> list[RewardEvent]:
    """Newest first; `before_id` is the cursor (the last id of the previous page)."""
    query = select(RewardEvent).where(RewardEvent.member_id == member_id)
    if before_id is not None:
        query = query.where(RewardEvent.id < before_id)
    return list(session.execute(query.order_by(RewardEvent.id.desc()).limit(limit)).scalars())
