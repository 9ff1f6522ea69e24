"""Wallet endpoints: recharge, checkout, refund, close a card, and the member's histories."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from dinecard.ledger import history
from dinecard.members.models import Member
from dinecard.platform.container import Container
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, run_write
from dinecard.platform.settings import Settings
from dinecard.security.approval import require_approval
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize, visible_store
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet import adjusting, service
from dinecard.wallet.adjusting import AdjustCommand
from dinecard.wallet.domain import RechargeLimits
from dinecard.wallet.schemas import (
    AdjustmentCreate,
    AdjustmentOut,
    CheckoutCreate,
    CheckoutOut,
    CloseCreate,
    CloseOut,
    MoneyEntryOut,
    MoneyHistoryOut,
    PointsEntryOut,
    PointsHistoryOut,
    QuoteOut,
    RechargeCreate,
    RechargeOut,
    RefundCreate,
    RefundOut,
)

router = APIRouter(tags=["wallet"])


@router.post(
    "/members/{member_id}/recharges", status_code=201, response_model=RechargeOut, summary="Recharge stored value"
)
def recharge(
    member_id: str,
    body: RechargeCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return write_recharge(request, container, principal, idempotency_key, member_id, body)


def write_recharge(
    request: Request,
    container: Container,
    principal: Principal,
    idempotency_key: str | None,
    member_id: str,
    body: RechargeCreate,
) -> JSONResponse:
    """A recharge as the API does it (authorized, audited, idempotent); the till's pages call it too."""
    authorize(principal, "wallet.recharge", body.store_id)
    command = service.RechargeCommand(
        member_id=member_id,
        store_id=body.store_id,
        amount=body.amount,
        payment_method=body.payment_method,
        channel=body.channel,
        limits=recharge_limits(container.settings),
    )
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: RechargeOut.of(service.recharge(uow, container.programs.at(now), command, now)),
    )


@router.post("/members/{member_id}/checkouts", status_code=201, response_model=CheckoutOut, summary="Check out a bill")
def checkout(
    member_id: str,
    body: CheckoutCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return write_checkout(request, container, principal, idempotency_key, member_id, body)


def write_checkout(
    request: Request,
    container: Container,
    principal: Principal,
    idempotency_key: str | None,
    member_id: str,
    body: CheckoutCreate,
) -> JSONResponse:
    """A checkout as the API does it (authorized, audited, idempotent); the till's pages call it too."""
    authorize(principal, "wallet.checkout", body.store_id)
    command = _checkout_command(member_id, body)
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: CheckoutOut.of(service.checkout(uow, container.programs.at(now), command, now)),
    )


def recharge_limits(settings: Settings) -> RechargeLimits:
    """The deployment's recharge limits (R-RCH-8, R-CMP-1), from DINECARD_LIMIT_* settings."""
    cap = settings.limit_balance_cap_yuan
    return RechargeLimits(
        max_single=Money.parse_yuan(settings.limit_recharge_max_yuan),
        max_daily=Money.parse_yuan(settings.limit_daily_recharge_yuan),
        max_per_hour=settings.limit_recharges_per_phone_per_hour,
        balance_cap=Money.parse_yuan(cap) if cap else None,
    )


def _checkout_command(member_id: str, body: CheckoutCreate) -> service.CheckoutCommand:
    return service.CheckoutCommand(
        member_id=member_id,
        store_id=body.store_id,
        bill_total=body.bill_total,
        items=tuple(service.LineItem(i.dish_id, i.name, i.quantity, i.price) for i in body.items),
        coupon_codes=tuple(body.coupon_codes),
        use_points=body.use_points,
        pay_with_balance=body.pay_with_balance,
        balance_only=body.balance_only,
        other_tender_method=body.other_tender,
    )


@router.post(
    "/orders/{order_no}/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund a checkout (whole or part) or a recharge",
)
def refund(
    order_no: str,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    body: RefundCreate | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    body = body or RefundCreate()
    with container.database.read() as session:
        store_id, amount = service.refund_preview(session, order_no, body.amount)
    authorize(principal, "wallet.refund", store_id)
    require_approval(request, container, principal, store_id, amount)
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: RefundOut.of(
            service.refund(uow, container.programs.at(now), order_no, body.amount, now, body.reason)
        ),
    )


@router.post(
    "/members/{member_id}/close",
    status_code=200,
    response_model=CloseOut,
    summary="Close a card: refund unspent principal, forfeit bonus and points",
)
def close(
    member_id: str,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    body: CloseCreate | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    body = body or CloseCreate()
    with container.database.read() as session:
        member = session.get(Member, member_id)
        home_store = member.store_id if member is not None else None
    # A store manager closes only their own store's members (one with no home store: HQ only).
    authorize(principal, "member.close", home_store or "no home store")
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: CloseOut.of(service.close_card(uow, container.programs.at(now), member_id, now, body.reason)),
        status_code=200,
    )


def _require_member(session, member_id: str) -> None:  # type: ignore[no-untyped-def]
    if session.get(Member, member_id) is None:
        raise DomainError(errors.MEMBER_NOT_FOUND)


@router.get("/members/{member_id}/transactions", response_model=MoneyHistoryOut, summary="Money history, newest first")
def transactions(
    member_id: str,
    container: ContainerDep,
    principal: PrincipalDep,
    before: int | None = Query(default=None, description="Cursor from `next_before`"),
    limit: int = Query(default=50, ge=1, le=history.MAX_PAGE),
) -> MoneyHistoryOut:
    authorize(principal, "history.read")
    with container.database.read() as session:
        _require_member(session, member_id)
        entries, next_before = history.money_history(session, member_id, before, limit, visible_store(principal))
    return MoneyHistoryOut(
        items=[
            MoneyEntryOut(
                id=e.transaction_id,
                kind=e.kind,
                order_no=e.order_no,
                store_id=e.store_id,
                created_at=e.created_at,
                principal_change=e.principal_change,
                bonus_change=e.bonus_change,
                principal_after=e.principal_after,
                bonus_after=e.bonus_after,
            )
            for e in entries
        ],
        next_before=next_before,
    )


@router.get(
    "/members/{member_id}/points-history", response_model=PointsHistoryOut, summary="Points history, newest first"
)
def points_history(
    member_id: str,
    container: ContainerDep,
    principal: PrincipalDep,
    before: int | None = Query(default=None),
    limit: int = Query(default=50, ge=1, le=history.MAX_PAGE),
) -> PointsHistoryOut:
    authorize(principal, "history.read")
    with container.database.read() as session:
        _require_member(session, member_id)
        entries, next_before = history.points_history(session, member_id, before, limit, visible_store(principal))
    return PointsHistoryOut(
        items=[
            PointsEntryOut(
                id=e.transaction_id,
                type=e.type,
                points=e.points,
                order_no=e.order_no,
                store_id=e.store_id,
                created_at=e.created_at,
                expires_at=e.expires_at,
            )
            for e in entries
        ],
        next_before=next_before,
    )


@router.post("/members/{member_id}/quote", response_model=QuoteOut, summary="Price a bill without checking out")
def quote(member_id: str, body: CheckoutCreate, container: ContainerDep, principal: PrincipalDep) -> QuoteOut:
    """The points calculator (R-PTS-6): what the checkout would cost and earn; nothing changes."""
    authorize(principal, "wallet.quote", body.store_id)
    now = container.clock.now()
    with container.database.read() as session:
        return QuoteOut.of(service.quote(session, container.programs.at(now), _checkout_command(member_id, body), now))


@router.post(
    "/members/{member_id}/adjustments",
    status_code=201,
    response_model=AdjustmentOut,
    summary="Adjust a member's balance or points, with a reason",
)
def adjust(
    member_id: str,
    body: AdjustmentCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    store_id = body.store_id or principal.store_id
    authorize(principal, "member.adjust", store_id)
    size = Money(abs(body.principal.fen) + abs(body.bonus.fen)) + Money(abs(body.points))  # 1 point ≈ 1 fen
    require_approval(request, container, principal, store_id, size)
    command = AdjustCommand(
        member_id=member_id,
        store_id=store_id,
        principal=body.principal,
        bonus=body.bonus,
        points=body.points,
        reason=body.reason,
        actor_id=principal.key_id,
    )
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: AdjustmentOut.of(adjusting.adjust(uow, container.programs.at(now), command, now)),
    )
