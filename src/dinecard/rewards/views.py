"""A member's rewards timeline: coupons, redemptions, draws, stamps and bought levels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from dinecard.members.models import Member
from dinecard.platform.deps import ContainerDep, allowed
from dinecard.rewards import history
from dinecard.security.domain import Principal
from dinecard.shared import errors
from dinecard.shared.errors import DomainError

router = APIRouter(tags=["rewards"])

CanRead = Annotated[Principal, Depends(allowed("history.read"))]


class RewardEventOut(BaseModel):
    id: int
    kind: str
    ref: str | None
    detail: dict[str, Any]
    occurred_at: datetime


class RewardHistoryOut(BaseModel):
    items: list[RewardEventOut]
    next_before: int | None = Field(description="Pass as `before` to read the next (older) page")


@router.get(
    "/members/{member_id}/rewards-history",
    response_model=RewardHistoryOut,
    summary="Coupons issued, used, restored and voided; redemptions; draws; stamps; bought levels",
)
def rewards_history(
    member_id: str,
    container: ContainerDep,
    _principal: CanRead,
    before: Annotated[int | None, Query(ge=1, description="Cursor: next_before of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RewardHistoryOut:
    with container.database.read() as session:
        if session.get(Member, member_id) is None:
            raise DomainError(errors.MEMBER_NOT_FOUND)
        rows = history.page(session, member_id, before, limit + 1)
    page = rows[:limit]
    return RewardHistoryOut(
        items=[
            RewardEventOut(id=row.id, kind=row.kind, ref=row.ref, detail=row.detail, occurred_at=row.occurred_at)
            for row in page
        ],
        next_before=page[-1].id if len(rows) > limit else None,
    )
