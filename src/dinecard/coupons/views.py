"""Coupon endpoints: templates (HQ), giving members coupons, looking them up and voiding them."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from dinecard.coupons import service
from dinecard.coupons.schemas import CouponOut, IssueCreate, TemplateCreate, TemplateOut, TemplatePatch, VoidCreate
from dinecard.members.domain import ensure_open
from dinecard.members.models import Member
from dinecard.members.service import lock_member
from dinecard.platform.deps import ContainerDep, IdempotencyKey, PrincipalDep, allowed, run_write
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared import errors
from dinecard.shared.errors import DomainError

router = APIRouter(tags=["coupons"])

CanReadTemplates = Annotated[Principal, Depends(allowed("coupon_template.read"))]
CanReadCoupons = Annotated[Principal, Depends(allowed("coupon.read"))]


@router.post("/coupon-templates", status_code=201, response_model=TemplateOut, summary="Create a coupon template")
def create_template(
    body: TemplateCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "coupon_template.manage")
    fields = service.TemplateFields(body.name, body.name_en, body.stock, body.active)
    return run_write(
        request,
        container,
        principal,
        idempotency_key,
        body,
        lambda uow, now: TemplateOut.of(
            service.create_template(uow, body.code, fields, body.rules(), now, container.programs.at(now))
        ),
    )


@router.patch(
    "/coupon-templates/{template_code}",
    response_model=TemplateOut,
    summary="Rename, restock, stop or resume a template (its rules never change)",
)
def patch_template(
    template_code: str,
    body: TemplatePatch,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "coupon_template.manage")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        return TemplateOut.of(service.patch_template(uow, template_code, body.changes(), now))

    return run_write(request, container, principal, idempotency_key, body, operation, status_code=200)


@router.get("/coupon-templates", response_model=list[TemplateOut], summary="Coupon templates")
def list_templates(container: ContainerDep, _principal: CanReadTemplates) -> list[TemplateOut]:
    with container.database.read() as session:
        return [TemplateOut.of(row) for row in service.list_templates(session)]


@router.get("/coupon-templates/{template_code}", response_model=TemplateOut, summary="One coupon template")
def read_template(template_code: str, container: ContainerDep, _principal: CanReadTemplates) -> TemplateOut:
    with container.database.read() as session:
        return TemplateOut.of(service.get_template(session, template_code))


@router.post(
    "/members/{member_id}/coupons",
    status_code=201,
    response_model=list[CouponOut],
    summary="Give a member coupons (claims stock; honours the per-member limit)",
)
def issue(
    member_id: str,
    body: IssueCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "coupon.issue")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        member = lock_member(uow, member_id)
        ensure_open(member.status)
        program = container.programs.at(now)
        rows = service.issue(
            uow,
            program,
            member.id,
            body.template_code,
            now,
            service.Source.STAFF,
            issued_by=principal.key_id,
            count=body.count,
        )
        template = service.get_template(uow.session, body.template_code)
        return [CouponOut.of(row, template, now).model_dump(mode="json") for row in rows]

    return run_write(request, container, principal, idempotency_key, body, operation)


@router.get("/members/{member_id}/coupons", response_model=list[CouponOut], summary="A member's coupons")
def member_coupons(
    member_id: str,
    container: ContainerDep,
    _principal: CanReadCoupons,
    status: Annotated[Literal["usable", "used", "expired", "voided", "all"], Query()] = "usable",
) -> list[CouponOut]:
    now = container.clock.now()
    with container.database.read() as session:
        if session.get(Member, member_id) is None:
            raise DomainError(errors.MEMBER_NOT_FOUND)
        rows = service.member_coupons(session, member_id, None if status == "all" else status, now)
        templates = service.templates_by_code(session, {row.template_code for row in rows})
        return [CouponOut.of(row, templates[row.template_code], now) for row in rows]


@router.get("/coupons/{coupon_code}", response_model=CouponOut, summary="Look a coupon up by its code")
def read_coupon(coupon_code: str, container: ContainerDep, _principal: CanReadCoupons) -> CouponOut:
    now = container.clock.now()
    with container.database.read() as session:
        row = service.find(session, coupon_code)
        return CouponOut.of(row, service.get_template(session, row.template_code), now)


@router.post("/coupons/{coupon_code}/void", response_model=CouponOut, summary="Void an unused coupon, with a reason")
def void(
    coupon_code: str,
    body: VoidCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "coupon.void")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        member_id = service.find(uow.session, coupon_code).member_id
        lock_member(uow, member_id)
        row = service.find(uow.session, coupon_code)  # read again under the member's lock
        uow.session.refresh(row)
        service.void(uow, row, body.reason, principal.key_id, now)
        return CouponOut.of(row, service.get_template(uow.session, row.template_code), now)

    return run_write(request, container, principal, idempotency_key, body, operation, status_code=200)
