"""Member endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from dinecard.members import service
from dinecard.members.domain import MemberStatus
from dinecard.members.schemas import MemberCodeOut, MemberCreate, MemberOut, MemberUpdate
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize, home_store

router = APIRouter(prefix="/members", tags=["members"])

CanMemberCode = Annotated[Principal, Depends(allowed("member.code"))]
CanMemberRead = Annotated[Principal, Depends(allowed("member.read"))]


@router.post("", status_code=201, response_model=MemberOut, summary="Register a member")
def register(
    body: MemberCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    store_id = home_store(principal, body.store_id)  # a till registers members at its own store
    authorize(principal, "member.register", store_id)

    def operation(uow, now):  # type: ignore[no-untyped-def]
        member_id = service.register_member(
            uow,
            container.cipher,
            container.program,
            service.RegisterMember(
                phone=body.phone,
                name=body.name,
                birthday=body.birthday,
                gender=body.gender.value if body.gender else None,
                store_id=store_id,
                referral_code=body.referral_code,
                profile=body.profile.model_dump() if body.profile else {},
            ),
            now,
        )
        uow.session.flush()
        return MemberOut.of(service.member_view(uow.session, container.cipher, container.program, member_id, now))

    return run_write(request, container, principal, idempotency_key, body, operation)


@router.get("", response_model=MemberOut, summary="Find a member by phone, card number or member code")
def find(
    container: ContainerDep,
    _principal: CanMemberRead,
    phone: str | None = Query(default=None),
    card_no: str | None = Query(default=None),
    member_code: str | None = Query(default=None, description="The 18-digit code on the member's phone"),
) -> MemberOut:
    now = container.clock.now()
    with container.database.read() as session:
        member_id = service.find_member_id(
            session, container.cipher, now, phone=phone, card_no=card_no, member_code=member_code
        )
        return MemberOut.of(service.member_view(session, container.cipher, container.program, member_id, now))


@router.get("/{member_id}", response_model=MemberOut, summary="Read a member")
def read(member_id: str, container: ContainerDep, _principal: CanMemberRead) -> MemberOut:
    with container.database.read() as session:
        return MemberOut.of(
            service.member_view(session, container.cipher, container.program, member_id, container.clock.now())
        )


@router.get("/{member_id}/member-code", response_model=MemberCodeOut, summary="The member's current code")
def read_member_code(member_id: str, container: ContainerDep, _principal: CanMemberCode) -> MemberCodeOut:
    """For the member's own page: a code that the till accepts for at most two minutes."""
    with container.database.read() as session:
        code, valid_until = service.current_member_code(session, member_id, container.clock.now())
    return MemberCodeOut(member_code=code, valid_until=valid_until)


@router.patch("/{member_id}", response_model=MemberOut, summary="Change name, birthday or profile")
def update(
    member_id: str,
    body: MemberUpdate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "member.update")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        service.update_profile(uow, member_id, body.model_dump(exclude_unset=True, mode="python"), now)
        return MemberOut.of(service.member_view(uow.session, container.cipher, container.program, member_id, now))

    return run_write(request, container, principal, idempotency_key, body, operation, status_code=200)


def _status_endpoint(status: MemberStatus, summary: str):  # type: ignore[no-untyped-def]
    def change(
        member_id: str,
        request: Request,
        container: ContainerDep,
        principal: PrincipalDep,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        authorize(principal, "member.freeze")

        def operation(uow, now):  # type: ignore[no-untyped-def]
            service.change_status(uow, member_id, status, now)
            return MemberOut.of(service.member_view(uow.session, container.cipher, container.program, member_id, now))

        return run_write(request, container, principal, idempotency_key, None, operation, status_code=200)

    change.__name__ = f"set_{status.value}"
    router.add_api_route(
        f"/{{member_id}}/{'freeze' if status is MemberStatus.FROZEN else 'unfreeze'}",
        change,
        methods=["POST"],
        response_model=MemberOut,
        summary=summary,
    )


_status_endpoint(MemberStatus.FROZEN, "Freeze a card (no spending, no recharge)")
_status_endpoint(MemberStatus.ACTIVE, "Unfreeze a card")
