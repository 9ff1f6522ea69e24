"""Stamp-card endpoints: HQ sets the cards up; the till and the member read the stamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from dinecard.members.models import Member
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.program.domain import AwareDatetime
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.stamps import admin
from dinecard.stamps.models import StampBalance, StampCard

router = APIRouter(tags=["stamp cards"])

CanRead = Annotated[Principal, Depends(allowed("stamp_card.read"))]


class StampCardFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, examples=["集杯卡：买10送1"])
    name_en: str | None = Field(default=None, max_length=80)
    dish_ids: list[str] | None = Field(default=None, description="Dishes that earn a stamp per unit")
    categories: list[str] | None = Field(default=None, description="Menu categories that earn a stamp per unit")
    stamps_needed: int = Field(ge=1, le=100, description="Stamps that fill the card, e.g. 10")
    reward_template_code: str = Field(max_length=40, description="The coupon a full card turns into (a dish voucher)")
    stores: list[str] | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool = True

    @model_validator(mode="after")
    def _something_qualifies(self) -> StampCardFields:
        if not (self.dish_ids or self.categories):
            raise ValueError("give dish_ids or categories: what earns a stamp")
        return self

    def fields(self) -> admin.CardFields:
        return admin.CardFields(**self.model_dump())


class StampCardCreate(StampCardFields):
    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$", examples=["TEA10"])


class StampCardOut(BaseModel):
    id: str
    name: str
    name_en: str | None
    dish_ids: list[str] | None
    categories: list[str] | None
    stamps_needed: int
    reward_template_code: str
    stores: list[str] | None
    starts_at: datetime | None
    ends_at: datetime | None
    active: bool

    @classmethod
    def of(cls, row: StampCard) -> StampCardOut:
        return cls(
            id=row.id,
            name=row.name,
            name_en=row.name_en,
            dish_ids=row.dish_ids,
            categories=row.categories,
            stamps_needed=row.stamps_needed,
            reward_template_code=row.reward_template_code,
            stores=row.stores,
            # A row just written still holds the times as sent; answers are in UTC.
            starts_at=row.starts_at.astimezone(UTC) if row.starts_at else None,
            ends_at=row.ends_at.astimezone(UTC) if row.ends_at else None,
            active=row.active,
        )


class MemberStampsOut(BaseModel):
    card_id: str
    card_name: str
    stamps: int = Field(description="Below zero: stamps owed after a refund")
    stamps_needed: int
    cards_completed: int


@router.post("/stamp-cards", status_code=201, response_model=StampCardOut, summary="Create a stamp card")
def create(
    body: StampCardCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "stamp_card.manage")
    fields = StampCardFields.model_validate(body.model_dump(exclude={"id"})).fields()
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: StampCardOut.of(admin.create_card(uow, body.id, fields, now)),
    )


@router.put("/stamp-cards/{card_id}", response_model=StampCardOut, summary="Change a stamp card")
def update(
    card_id: str,
    body: StampCardFields,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "stamp_card.manage")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: StampCardOut.of(admin.update_card(uow, card_id, body.fields(), now)),
        status_code=200,
    )


@router.get("/stamp-cards", response_model=list[StampCardOut], summary="Stamp cards")
def list_all(container: ContainerDep, _principal: CanRead) -> list[StampCardOut]:
    with container.database.read() as session:
        return [StampCardOut.of(row) for row in admin.list_cards(session)]


@router.get("/members/{member_id}/stamps", response_model=list[MemberStampsOut], summary="A member's stamp cards")
def member_stamps(member_id: str, container: ContainerDep, _principal: CanRead) -> list[MemberStampsOut]:
    with container.database.read() as session:
        if session.get(Member, member_id) is None:
            raise DomainError(errors.MEMBER_NOT_FOUND)
        rows = session.execute(
            select(
                StampBalance.card_id,
                StampCard.name,
                StampBalance.stamps,
                StampCard.stamps_needed,
                StampBalance.cards_completed,
            )
            .join(StampCard, StampCard.id == StampBalance.card_id)
            .where(StampBalance.member_id == member_id)
            .order_by(StampBalance.card_id)
        ).all()
        return [
            MemberStampsOut(card_id=c, card_name=n, stamps=s, stamps_needed=k, cards_completed=d)
            for c, n, s, k, d in rows
        ]
