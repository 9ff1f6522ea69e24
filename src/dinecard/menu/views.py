"""Menu endpoints: HQ keeps the dishes; every till reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dinecard.menu import service
from dinecard.menu.models import Dish
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared.money import Money
from dinecard.shared.schema_types import YuanAmount

router = APIRouter(tags=["menu"])

CanRead = Annotated[Principal, Depends(allowed("menu.read"))]
DISH_ID = r"^[A-Za-z0-9_.-]+$"


class DishFieldsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    name_en: str | None = Field(default=None, max_length=80)
    category: str = Field(min_length=1, max_length=40, examples=["锅底", "热菜", "饮品"])
    price: YuanAmount
    stores: list[str] | None = Field(default=None, description="Store ids where it is sold; omit for every store")
    exclusive_levels: list[str] | None = Field(
        default=None, description="Level codes that may order it (R-PER-3); omit for every member"
    )
    active: bool = True

    def fields(self) -> service.DishFields:
        return service.DishFields(
            name=self.name,
            name_en=self.name_en,
            category=self.category,
            price=self.price,
            stores=frozenset(self.stores) if self.stores is not None else None,
            exclusive_levels=frozenset(self.exclusive_levels) if self.exclusive_levels is not None else None,
            active=self.active,
        )


class DishCreate(DishFieldsIn):
    id: str = Field(min_length=1, max_length=40, pattern=DISH_ID, examples=["D001"])


class DishOut(BaseModel):
    id: str
    name: str
    name_en: str | None
    category: str
    price: YuanAmount
    stores: list[str] | None
    exclusive_levels: list[str] | None
    active: bool
    updated_at: datetime

    @classmethod
    def of(cls, row: Dish) -> DishOut:
        return cls(
            id=row.id,
            name=row.name,
            name_en=row.name_en,
            category=row.category,
            price=Money(row.price_fen),
            stores=row.stores,
            exclusive_levels=row.exclusive_levels,
            active=row.active,
            updated_at=row.updated_at,
        )


@router.post("/dishes", status_code=201, response_model=DishOut, summary="Add a dish to the menu")
def create(
    body: DishCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "menu.manage")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: DishOut.of(service.create_dish(uow, body.id, body.fields(), now, container.programs.at(now))),
    )


@router.put("/dishes/{dish_id}", response_model=DishOut, summary="Change a dish (price, stores, levels, on/off)")
def update(
    dish_id: str,
    body: DishFieldsIn,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "menu.manage")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: DishOut.of(service.update_dish(uow, dish_id, body.fields(), now, container.programs.at(now))),
        status_code=200,
    )


@router.get("/dishes", response_model=list[DishOut], summary="The menu")
def list_all(
    container: ContainerDep,
    _principal: CanRead,
    category: Annotated[str | None, Query(max_length=40)] = None,
    store_id: Annotated[str | None, Query(description="Only dishes sold at this store")] = None,
) -> list[DishOut]:
    with container.database.read() as session:
        return [DishOut.of(row) for row in service.list_dishes(session, category, store_id)]


@router.get("/dishes/{dish_id}", response_model=DishOut, summary="One dish")
def read(dish_id: str, container: ContainerDep, _principal: CanRead) -> DishOut:
    with container.database.read() as session:
        return DishOut.of(service.get_dish(session, dish_id))
