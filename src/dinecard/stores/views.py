"""Store endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.stores import service

router = APIRouter(prefix="/stores", tags=["stores"])

CanStoreList = Annotated[Principal, Depends(allowed("store.list"))]


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=80)


class StoreChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)


class StoreOut(BaseModel):
    id: str
    code: str
    name: str
    created_at: datetime


@router.post("", status_code=201, response_model=StoreOut, summary="Open a store")
def create(
    body: StoreCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "store.create")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        store = service.create_store(uow, body.code, body.name, now)
        return StoreOut(id=store.id, code=store.code, name=store.name, created_at=store.created_at)

    return run_write(request, container, principal, idempotency_key, body, operation)


@router.get("", response_model=list[StoreOut], summary="List stores")
def list_all(container: ContainerDep, _principal: CanStoreList) -> list[StoreOut]:
    with container.database.read() as session:
        return [
            StoreOut(id=s.id, code=s.code, name=s.name, created_at=s.created_at) for s in service.list_stores(session)
        ]


@router.patch("/{store_id}", response_model=StoreOut, summary="Rename a store")
def rename(
    store_id: Annotated[str, Path(max_length=26)],
    body: StoreChange,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "store.update")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        store = service.rename_store(uow, store_id, body.name)
        return StoreOut(id=store.id, code=store.code, name=store.name, created_at=store.created_at)

    return run_write(request, container, principal, idempotency_key, body, operation, status_code=200)
