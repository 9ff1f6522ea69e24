"""Lotteries and draws: HQ sets prize tables (with their expected cost), staff draw for a member
with the member's points, and anyone may audit a draw by replaying it from its seed."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from dinecard.lottery import service
from dinecard.lottery.domain import ALGORITHM, expected_cost, is_running
from dinecard.lottery.models import Lottery
from dinecard.lottery.schemas import (
    CandidateOut,
    DrawAuditOut,
    DrawCreate,
    DrawOut,
    DrawPage,
    DrawResultOut,
    LotteryCreate,
    LotteryOut,
    LotteryPatch,
    PrizesReplace,
)
from dinecard.members.models import Member
from dinecard.platform.container import Container
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, run_write
from dinecard.security.policy import authorize
from dinecard.shared import errors
from dinecard.shared.errors import DomainError

router = APIRouter(tags=["lottery"])

MAX_PAGE = 200


def lottery_out(session: Session, container: Container, lottery: Lottery, now: datetime) -> LotteryOut:
    """The lottery with its table, each prize's chance and the expected cost per draw."""
    table = service.prize_table(session, lottery)
    points_per_yuan = container.programs.at(now).points.redemption.points_per_yuan
    running = is_running(lottery.active, lottery.starts_at, lottery.ends_at, now)
    return LotteryOut.of(lottery, table, expected_cost(table, points_per_yuan), running)


@router.post("/lotteries", status_code=201, response_model=LotteryOut, summary="Create a lottery and its prize table")
def create(
    body: LotteryCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "lottery.manage")
    fields = service.LotteryFields(
        name=body.name,
        name_en=body.name_en,
        cost_points=body.cost_points,
        daily_limit=body.daily_limit,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        active=body.active,
    )
    prizes = [prize.spec() for prize in body.prizes]

    def operation(uow, now):  # type: ignore[no-untyped-def]
        lottery = service.create_lottery(uow, body.id, fields, prizes, now)
        return lottery_out(uow.session, container, lottery, now)

    return run_write(request, container, principal, idempotency_key, body, operation)


@router.get("/lotteries", response_model=list[LotteryOut], summary="List lotteries")
def list_all(container: ContainerDep, principal: PrincipalDep) -> list[LotteryOut]:
    authorize(principal, "lottery.read")
    now = container.clock.now()
    with container.database.read() as session:
        return [lottery_out(session, container, row, now) for row in service.list_lotteries(session)]


@router.get("/lotteries/{lottery_id}", response_model=LotteryOut, summary="A lottery, its odds and expected cost")
def get(lottery_id: str, container: ContainerDep, principal: PrincipalDep) -> LotteryOut:
    authorize(principal, "lottery.read")
    now = container.clock.now()
    with container.database.read() as session:
        return lottery_out(session, container, service.get_lottery(session, lottery_id), now)


@router.put(
    "/lotteries/{lottery_id}/prizes", response_model=LotteryOut, summary="Replace the prize table (keeps prizes given)"
)
def replace_prizes(
    lottery_id: str,
    body: PrizesReplace,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "lottery.manage")
    prizes = [prize.spec() for prize in body.prizes]

    def operation(uow, now):  # type: ignore[no-untyped-def]
        lottery = service.replace_prizes(uow, lottery_id, prizes, now)
        return lottery_out(uow.session, container, lottery, now)

    return run_write(request, container, principal, idempotency_key, body, operation, status_code=200)


@router.patch("/lotteries/{lottery_id}", response_model=LotteryOut, summary="Change names, cost, limit, window, active")
def patch(
    lottery_id: str,
    body: LotteryPatch,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "lottery.manage")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        lottery = service.update_lottery(uow, lottery_id, body.changes(), now)
        return lottery_out(uow.session, container, lottery, now)

    return run_write(request, container, principal, idempotency_key, body, operation, status_code=200)


@router.post(
    "/members/{member_id}/draws", status_code=201, response_model=DrawResultOut, summary="Draw with the member's points"
)
def draw(
    member_id: str,
    body: DrawCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "lottery.draw", body.store_id)
    command = service.DrawCommand(member_id=member_id, lottery_id=body.lottery_id, store_id=body.store_id)

    def operation(uow, now):  # type: ignore[no-untyped-def]
        result = service.draw(uow, container.programs.at(now), command, now)
        return DrawResultOut(**DrawOut.fields_of(result.draw), points_after=result.points_after)

    return run_write(request, container, principal, idempotency_key, body, operation)


@router.get("/draws/{draw_no}", response_model=DrawAuditOut, summary="A draw with its seed, replayed")
def get_draw(draw_no: str, container: ContainerDep, principal: PrincipalDep) -> DrawAuditOut:
    authorize(principal, "lottery.read")
    with container.database.read() as session:
        row = service.get_draw(session, draw_no)
        outcome = service.replay_draw(row)
        return DrawAuditOut(
            **DrawOut.fields_of(row),
            algorithm=ALGORITHM,
            seed=row.seed,
            candidates=[CandidateOut(code=c["code"], weight=c["weight"]) for c in row.candidates],
            exhausted=list(row.exhausted),
            replayed_prize_code=outcome.prize_code,
            replay_matches=service.replay_matches(row, outcome),
        )


@router.get("/members/{member_id}/draws", response_model=DrawPage, summary="A member's draws, newest first")
def member_draws(
    member_id: str,
    container: ContainerDep,
    principal: PrincipalDep,
    before: int | None = Query(default=None, description="Cursor from `next_before`"),
    limit: int = Query(default=50, ge=1, le=MAX_PAGE),
) -> DrawPage:
    authorize(principal, "lottery.read")
    with container.database.read() as session:
        if session.get(Member, member_id) is None:
            raise DomainError(errors.MEMBER_NOT_FOUND)
        rows = service.member_draws(session, member_id, before, limit + 1)
    page = rows[:limit]
    return DrawPage(
        items=[DrawOut(**DrawOut.fields_of(row)) for row in page],
        next_before=page[-1].id if len(rows) > limit else None,
    )
