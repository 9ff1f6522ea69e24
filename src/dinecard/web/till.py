"""The cashier's till (收银台): find a member, recharge, check out (by dishes or by a bill total).

Recharges and checkouts go through the API's own `write_recharge` / `write_checkout` (wallet/views.py), so a page
write is authorized, audited and idempotent exactly as the API call would be. Each form carries
an idempotency key made when the form is drawn: a double click or a resubmitted form charges once.
Receipts and refunds are in `till_receipts`, the shift handover in `till_shift`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from dinecard.coupons import service as coupons
from dinecard.members import service as members
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.wallet.common import PaymentMethod
from dinecard.wallet.schemas import CheckoutCreate, RechargeCreate
from dinecard.wallet.views import write_checkout, write_recharge
from dinecard.web import till_data, till_menu, till_receipts, till_shift
from dinecard.web.session import staff_page
from dinecard.web.templating import render
from dinecard.web.till_common import (
    TENDERS,
    TILL_ROLES,
    container_of,
    invalid,
    locale,
    new_key,
    refusal,
    store_of,
    written,
)

router = APIRouter(prefix="/till", include_in_schema=False)

# ---------------------------------------------------------------- search


@router.get("")
def till_home(request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    return render(request, "till/home.html", principal=principal, error=None, query="")


def _home_refused(request: Request, principal: Principal, refused: DomainError, query: str = "") -> Response:
    return render(
        request,
        "till/home.html",
        status_code=refused.kind.status,
        principal=principal,
        refusal=refusal(request, refused),
        refusal_code=refused.kind.code,
        query=query,
    )


@router.get("/find")
def find(request: Request, q: str = "") -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = container_of(request)
    query = q.strip().replace(" ", "")
    if not query:
        return render(request, "till/home.html", principal=principal, error="till.search.empty", query=q)
    keys: dict[str, str] = {}
    if len(query) == 18 and query.isdigit():
        keys["member_code"] = query
    elif len(query) == 12 and query.isdigit():
        keys["card_no"] = query
    else:
        keys["phone"] = query
    try:
        authorize(principal, "member.read")
        with container.database.read() as session:
            member_id = members.find_member_id(session, container.cipher, container.clock.now(), **keys)
    except DomainError as refused:
        return _home_refused(request, principal, refused, q)
    return RedirectResponse(f"/till/members/{member_id}", status_code=303)


# ---------------------------------------------------------------- member panel


def _panel(
    request: Request,
    principal: Principal,
    member_id: str,
    *,
    refusal_text: str | None = None,
    status_code: int = 200,
    checkout_form: dict[str, Any] | None = None,
    recharge_form: dict[str, Any] | None = None,
) -> Response:
    container = container_of(request)
    now = container.clock.now()
    program = container.programs.at(now)
    lang = locale(request)
    with container.database.read() as session:
        view = members.member_view(session, container.cipher, program, member_id, now)
        usable = coupons.member_coupons(session, member_id, "usable", now)
        templates = coupons.templates_by_code(session, {c.template_code for c in usable})
        coupon_rows = [
            {
                "code": c.code,
                "name": (templates[c.template_code].name if lang == "zh" else None)
                or templates[c.template_code].name_en
                or templates[c.template_code].name,
                "valid_until": c.valid_until,
            }
            for c in usable
        ]
        dishes = till_menu.till_menu(session, program, store_of(principal), view.level.code, lang)
    return render(
        request,
        "till/member.html",
        status_code=status_code,
        principal=principal,
        member=view,
        level_name=view.level.name if lang == "zh" else view.level.name_en,
        coupons=coupon_rows,
        menu=dishes,
        tiers=[till_data.tier_view(tier) for tier in program.recharge.tiers],
        tenders=[m.value for m in TENDERS],
        refusal=refusal_text,
        checkout_form=checkout_form
        or {"pay_with_balance": True, "use_points": 0, "coupon_codes": [], "quantities": {}},
        recharge_form=recharge_form or {"payment_method": PaymentMethod.CASH.value},
        checkout_key=new_key(),
        recharge_key=new_key(),
        store_id=store_of(principal),
    )


@router.get("/members/{member_id}")
def member_panel(member_id: str, request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    try:
        return _panel(request, principal, member_id)
    except DomainError as refused:
        return _home_refused(request, principal, refused)


@router.post("/members/{member_id}/recharge")
def recharge(
    member_id: str,
    request: Request,
    idempotency_key: Annotated[str, Form(max_length=64)],
    payment_method: Annotated[str, Form(max_length=20)] = PaymentMethod.CASH.value,
    choice: Annotated[str, Form(max_length=20)] = "other",
    other_amount: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = container_of(request)
    amount = other_amount.strip() if choice == "other" else choice
    form = {"payment_method": payment_method, "other_amount": other_amount}
    try:
        body = RechargeCreate(amount=amount, payment_method=payment_method, store_id=store_of(principal))
    except ValidationError as wrong:
        return _panel(
            request, principal, member_id, refusal_text=invalid(request, wrong), status_code=422, recharge_form=form
        )
    try:
        response = write_recharge(request, container, principal, idempotency_key, member_id, body)
    except DomainError as refused:
        return _panel(
            request,
            principal,
            member_id,
            refusal_text=refusal(request, refused),
            status_code=refused.kind.status,
            recharge_form=form,
        )
    return RedirectResponse(f"/till/receipts/{written(response)['order_no']}", status_code=303)


@router.post("/members/{member_id}/checkout")
def checkout(
    member_id: str,
    request: Request,
    idempotency_key: Annotated[str, Form(max_length=64)],
    bill_total: Annotated[str, Form(max_length=20)] = "",
    use_points: Annotated[str, Form(max_length=12)] = "0",
    coupon_codes: Annotated[list[str] | None, Form()] = None,
    pay_with_balance: Annotated[bool, Form()] = False,
    other_tender: Annotated[str, Form(max_length=20)] = PaymentMethod.CASH.value,
    dish_id: Annotated[list[str] | None, Form()] = None,
    quantity: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """A checkout of the picked dishes (the lines make the total) or of a typed bill total."""
    principal = staff_page(request, TILL_ROLES)
    container = container_of(request)
    codes = [code for code in (coupon_codes or []) if code.strip()]
    form: dict[str, Any] = {
        "bill_total": bill_total,
        "use_points": use_points,
        "coupon_codes": codes,
        "pay_with_balance": pay_with_balance,
        "other_tender": other_tender,
        "quantities": {},
    }
    try:
        lines, form["quantities"] = till_menu.lines_from_form(dish_id or [], quantity or [])
        body = CheckoutCreate(
            store_id=store_of(principal),
            bill_total=bill_total.strip() or None,
            items=lines,
            coupon_codes=codes,
            use_points=use_points.strip() or 0,
            pay_with_balance=pay_with_balance,
            other_tender=other_tender,
        )
    except ValidationError as wrong:
        return _panel(
            request, principal, member_id, refusal_text=invalid(request, wrong), status_code=422, checkout_form=form
        )
    except DomainError as refused:
        return _panel(
            request, principal, member_id, refusal_text=refusal(request, refused), status_code=422, checkout_form=form
        )
    try:
        response = write_checkout(request, container, principal, idempotency_key, member_id, body)
    except DomainError as refused:
        return _panel(
            request,
            principal,
            member_id,
            refusal_text=refusal(request, refused),
            status_code=refused.kind.status,
            checkout_form=form,
        )
    return RedirectResponse(f"/till/receipts/{written(response)['order_no']}", status_code=303)


router.include_router(till_receipts.router)
router.include_router(till_shift.router)
