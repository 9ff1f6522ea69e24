"""Receipts (80 mm) and refunds at the till, with a store manager's approval above the threshold.

The refund runs as the API's refund does (wallet/views.py `refund`): the same preview, the same
authorization, `require_approval` with the manager's credential in `X-Approval`, then `run_write`
(audited, idempotent per form). At the till the manager types their username and password; the
till signs them in exactly as the API login does (`sign_in`: throttled per username and address),
hands that token to `require_approval` as the `X-Approval` credential, and ends that login at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from dinecard.platform.container import Container
from dinecard.platform.deps import run_write
from dinecard.security import staff as staff_service
from dinecard.security.approval import APPROVAL_HEADER, require_approval, threshold
from dinecard.security.domain import Principal, Role
from dinecard.security.policy import authorize
from dinecard.security.views import sign_in
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet import service as wallet
from dinecard.wallet.schemas import RefundCreate, RefundOut
from dinecard.web import till_data
from dinecard.web.session import staff_page
from dinecard.web.templating import render, yuan
from dinecard.web.till_common import (
    TILL_ROLES,
    container_of,
    invalid,
    locale,
    new_key,
    not_found,
    refusal,
    text,
    written,
)

router = APIRouter()


def _receipt(
    request: Request,
    principal: Principal,
    order_no: str,
    refusal_text: str | None = None,
    status: int = 200,
    refund_form: dict[str, Any] | None = None,
) -> Response:
    container = container_of(request)
    with container.database.read() as session:
        receipt = till_data.load_receipt(session, container, order_no, locale(request))
    if receipt is None:
        return render(
            request, "till/home.html", status_code=404, principal=principal, refusal=not_found(request), query=""
        )
    return render(
        request,
        "till/receipt.html",
        status_code=status,
        principal=principal,
        r=receipt,
        refusal=refusal_text,
        refund_key=new_key(),
        refund_form=refund_form or {},
        # Managers and HQ approve their own refunds (security/approval.py): only a cashier is asked.
        asks_approval=principal.role is Role.CASHIER,
        approval_threshold=threshold(container),
        can_refund=receipt["kind"] == "checkout"
        and receipt["store_id"] == principal.store_id
        and receipt["refundable"],
    )


@router.get("/receipts/{order_no}")
def receipt(order_no: str, request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    return _receipt(request, principal, order_no)


def _with_credential(request: Request, token: str) -> Request:
    """The same request with the approver's credential in X-Approval, as an API client sends it."""
    request.state  # noqa: B018  (make the shared state exist before the scope is copied)
    scope = dict(request.scope)
    scope["headers"] = [
        *[
            (name, value)
            for name, value in request.scope["headers"]
            if name.lower() != APPROVAL_HEADER.lower().encode()
        ],
        (APPROVAL_HEADER.lower().encode(), token.encode()),
    ]
    return Request(scope, request.receive)


def _approve(
    request: Request,
    container: Container,
    principal: Principal,
    store_id: str,
    size: Money,
    username: str,
    password: str,
) -> str | None:
    """Pass `require_approval`, with the manager's typed credential when it asks for one.

    Returns the manager's short-lived login token (to be ended by the caller), if one was made."""
    try:
        require_approval(request, container, principal, store_id, size)
        return None
    except DomainError as refused:
        if refused.kind is not errors.APPROVAL_REQUIRED or not (username and password):
            raise
    login = sign_in(request, container, username, password)
    try:
        require_approval(_with_credential(request, login.token), container, principal, store_id, size)
    except DomainError:
        _end_login(container, login.token)
        raise
    return login.token


def _end_login(container: Container, token: str) -> None:
    now = container.clock.now()
    session_id = staff_service.session_id_of(token, container.token_secret, now)
    if session_id is not None:
        with container.database.write() as uow:
            staff_service.logout(uow, session_id, now)


def _approval_refusal(request: Request, container: Container, refused: DomainError, typed: bool) -> str:
    """The refusal in the cashier's words: what is missing or wrong about the approval."""
    kind = refused.kind
    if kind is errors.APPROVAL_REQUIRED:
        key = "till.approval.self" if typed else "till.approval.required"
        return text(request, key, threshold=yuan(threshold(container)))
    if typed and kind is errors.LOGIN_FAILED:
        return text(request, "till.approval.failed")
    if typed and kind is errors.RATE_LIMITED:
        return text(request, "till.approval.throttled")
    if typed and kind in (errors.FORBIDDEN, errors.WRONG_STORE):
        return text(request, "till.approval.not_manager")
    return refusal(request, refused)


@router.post("/receipts/{order_no}/refund")
def refund(
    order_no: str,
    request: Request,
    idempotency_key: Annotated[str, Form(max_length=64)],
    amount: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
    approver_username: Annotated[str, Form(max_length=60)] = "",
    approver_password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = container_of(request)
    username = approver_username.strip()
    form = {"amount": amount, "reason": reason, "approver_username": username}  # never the password
    try:
        body = RefundCreate(amount=amount.strip() or None, reason=reason.strip() or None)
    except ValidationError as wrong:
        return _receipt(request, principal, order_no, invalid(request, wrong), 422, form)
    approval_token: str | None = None
    approving = False
    try:
        with container.database.read() as session:
            store_id, size = wallet.refund_preview(session, order_no, body.amount)
        authorize(principal, "wallet.refund", store_id)
        approving = True
        approval_token = _approve(request, container, principal, store_id, size, username, approver_password)
        approving = False
        response = run_write(
            request,
            container,
            principal,
            idempotency_key,
            body,
            lambda uow, now: RefundOut.of(
                wallet.refund(uow, container.programs.at(now), order_no, body.amount, now, body.reason)
            ),
        )
    except DomainError as refused:
        typed = bool(username and approver_password)
        message = _approval_refusal(request, container, refused, typed) if approving else refusal(request, refused)
        return _receipt(request, principal, order_no, message, refused.kind.status, form)
    finally:
        if approval_token is not None:
            _end_login(container, approval_token)  # the manager's login lives for this one approval
    return RedirectResponse(f"/till/receipts/{written(response)['order_no']}", status_code=303)
