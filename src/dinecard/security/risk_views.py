"""HQ's review of risk events and alerts: list them, resolve them with a note."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, run_write
from dinecard.security import risk_events
from dinecard.security.models import RiskEvent
from dinecard.security.policy import authorize

router = APIRouter(prefix="/risk-events", tags=["risk"])

# Ids are 64-bit integers in the database; a bigger number is simply not found.
ID_MAX = 2**63 - 1


class RiskEventOut(BaseModel):
    id: int
    category: str
    kind: str
    severity: str
    member_id: str | None
    store_id: str | None
    actor_id: str | None
    details: dict[str, Any] | None
    detected_at: datetime
    status: str
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_note: str | None

    @classmethod
    def of(cls, event: RiskEvent) -> RiskEventOut:
        return cls.model_validate(event, from_attributes=True)


class RiskEventPage(BaseModel):
    items: list[RiskEventOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null at the end")


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=200, pattern=r"\S", description="What was found and done")


@router.get("", response_model=RiskEventPage, summary="Risk events and alerts, newest first")
def list_events(
    container: ContainerDep,
    principal: PrincipalDep,
    status: Literal["open", "resolved"] | None = Query(default=None),
    category: Literal["risk", "alert"] | None = Query(default=None),
    kind: str | None = Query(default=None, max_length=40),
    store_id: str | None = Query(default=None, max_length=26),
    before: int | None = Query(default=None, ge=1, le=ID_MAX, description="Cursor from `next_before`"),
    limit: int = Query(default=50, ge=1, le=risk_events.MAX_PAGE),
) -> RiskEventPage:
    authorize(principal, "risk.read")
    with container.database.read() as session:
        events, next_before = risk_events.list_events(
            session, status=status, category=category, kind=kind, store_id=store_id, before=before, limit=limit
        )
        return RiskEventPage(items=[RiskEventOut.of(event) for event in events], next_before=next_before)


@router.post("/{event_id}/resolve", response_model=RiskEventOut, summary="Resolve an open risk event or alert")
def resolve(
    body: Resolve,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    event_id: int = Path(ge=1, le=ID_MAX),
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "risk.resolve")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: RiskEventOut.of(
            risk_events.resolve_event(uow, event_id, principal.key_id, body.note.strip(), now)
        ),
        status_code=200,
    )
