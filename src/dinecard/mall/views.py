"""Points mall and buying a level with points."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from dinecard.levels import purchasing
from dinecard.mall import service
from dinecard.mall.schemas import (
    CancelOut,
    LevelPurchaseCreate,
    LevelPurchaseOut,
    RedeemOut,
    RedemptionCancel,
    RedemptionCreate,
    RedemptionOut,
    RedemptionPage,
    RewardCreate,
    RewardOut,
    RewardPatch,
)
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize

router = APIRouter(tags=["points mall"])

CanRead = Annotated[Principal, Depends(allowed("mall.read"))]


# ---------------------------------------------------------------- the catalogue (HQ)


@router.post("/mall/rewards", status_code=201, response_model=RewardOut, summary="Add a reward to the points mall")
def create_reward(
    body: RewardCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "mall.manage")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: RewardOut.of(service.create_reward(uow, container.programs.at(now), body.fields(), now)),
    )


@router.patch(
    "/mall/rewards/{reward_id}",
    response_model=RewardOut,
    summary="Change a reward: name, points price, stock, limits, levels, windows, on/off",
)
def patch_reward(
    reward_id: str,
    body: RewardPatch,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "mall.manage")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: RewardOut.of(
            service.update_reward(uow, container.programs.at(now), reward_id, body.changes(), now)
        ),
        status_code=200,
    )


@router.get("/mall/rewards", response_model=list[RewardOut], summary="The points mall's rewards")
def list_rewards(
    container: ContainerDep,
    _principal: CanRead,
    available_for: Annotated[
        str | None, Query(max_length=26, description="A member id: only what they could redeem now, points aside")
    ] = None,
) -> list[RewardOut]:
    with container.database.read() as session:
        if available_for is not None:
            rows = service.available_to(session, available_for, container.clock.now())
        else:
            rows = service.list_rewards(session)
        return [RewardOut.of(row) for row in rows]


@router.get("/mall/rewards/{reward_id}", response_model=RewardOut, summary="One reward")
def read_reward(reward_id: str, container: ContainerDep, _principal: CanRead) -> RewardOut:
    with container.database.read() as session:
        return RewardOut.of(service.get_reward(session, reward_id))


# ---------------------------------------------------------------- redemptions


@router.post(
    "/members/{member_id}/redemptions",
    status_code=201,
    response_model=RedeemOut,
    summary="Redeem points for a reward (its coupon is issued at once)",
)
def redeem(
    member_id: str,
    body: RedemptionCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "mall.redeem", body.store_id)
    command = service.RedeemCommand(member_id=member_id, reward_id=body.reward_id, store_id=body.store_id)
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: RedeemOut.of_result(service.redeem(uow, container.programs.at(now), command, now)),
    )


@router.post(
    "/redemptions/{order_no}/cancel",
    response_model=CancelOut,
    summary="Cancel a redemption within its window: coupon voided, points and stock given back",
)
def cancel(
    order_no: str,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    body: RedemptionCancel | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    body = body or RedemptionCancel()
    with container.database.read() as session:
        store_id = service.redemption_store(session, order_no)
    # Only at the store that made it (HQ anywhere); a redemption without a store: HQ only.
    authorize(principal, "mall.cancel", store_id or "no store")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: CancelOut.of_result(
            service.cancel(uow, container.programs.at(now), order_no, body.reason, principal.key_id, now)
        ),
        status_code=200,
    )


@router.get(
    "/members/{member_id}/redemptions", response_model=RedemptionPage, summary="A member's redemptions, newest first"
)
def member_redemptions(
    member_id: str,
    container: ContainerDep,
    _principal: CanRead,
    before: int | None = Query(default=None, description="Cursor from `next_before`"),
    limit: int = Query(default=50, ge=1, le=service.MAX_PAGE),
) -> RedemptionPage:
    with container.database.read() as session:
        rows, next_before = service.member_redemptions(session, member_id, before, limit)
        rewards = service.rewards_by_id(session, {row.reward_id for row in rows})
        return RedemptionPage(
            items=[RedemptionOut.of(row, rewards[row.reward_id]) for row in rows], next_before=next_before
        )


@router.get("/redemptions/{order_no}", response_model=RedemptionOut, summary="One redemption")
def read_redemption(order_no: str, container: ContainerDep, _principal: CanRead) -> RedemptionOut:
    with container.database.read() as session:
        row = service.find_redemption(session, order_no)
        return RedemptionOut.of(row, service.get_reward(session, row.reward_id))


# ---------------------------------------------------------------- buying a level


@router.post(
    "/members/{member_id}/level-purchases",
    status_code=201,
    response_model=LevelPurchaseOut,
    summary="Buy the level directly above the member's with points",
)
def purchase_level(
    member_id: str,
    body: LevelPurchaseCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "level.purchase", body.store_id)
    command = purchasing.LevelPurchaseCommand(member_id=member_id, level_code=body.level_code, store_id=body.store_id)
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: LevelPurchaseOut.of(purchasing.purchase_level(uow, container.programs.at(now), command, now)),
    )
