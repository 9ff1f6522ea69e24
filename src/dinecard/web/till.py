"""The cashier's till (收银台): find a member, recharge, check out, print the receipt, refund, hand over.

Recharges and checkouts go through the API's own `write_recharge` / `write_checkout` (wallet/views.py), so a page
write is authorized, audited and idempotent exactly as the API call would be. Each form carries
an idempotency key made when the form is drawn: a double click or a resubmitted form charges once.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from dinecard.coupons import service as coupons
from dinecard.members import service as members
from dinecard.platform.container import Container
from dinecard.platform.deps import run_write
from dinecard.security.approval import require_approval
from dinecard.security.domain import Principal, Role
from dinecard.security.policy import authorize
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money
from dinecard.wallet import service as wallet
from dinecard.wallet.common import PaymentMethod
from dinecard.wallet.schemas import CheckoutCreate, RechargeCreate, RefundCreate, RefundOut
from dinecard.wallet.views import write_checkout, write_recharge
from dinecard.web import till_data
from dinecard.web.i18n import LANG_COOKIE, locale_of, register
from dinecard.web.session import staff_page
from dinecard.web.templating import render

router = APIRouter(prefix="/till", include_in_schema=False)
TILL_ROLES = frozenset({Role.CASHIER, Role.STORE_MANAGER})
TENDERS = (PaymentMethod.CASH, PaymentMethod.WECHAT, PaymentMethod.ALIPAY, PaymentMethod.BANK_CARD)

register(
    {
        "till.title": ("收银台", "Till"),
        "till.search.label": ("手机号 / 卡号 / 会员码", "Phone / card no. / member code"),
        "till.search.hint": (
            "输入手机号、12 位卡号，或扫描会员的 18 位动态会员码",
            "Type a phone number or 12-digit card number, or scan the member's 18-digit code",
        ),
        "till.search.submit": ("查找会员", "Find member"),
        "till.search.empty": ("请输入手机号、卡号或会员码", "Type a phone, card number or member code"),
        "till.shift": ("交班汇总", "Shift handover"),
        "till.member": ("会员", "Member"),
        "till.card_no": ("卡号", "Card no."),
        "till.phone": ("手机", "Phone"),
        "till.level": ("等级", "Level"),
        "till.status": ("状态", "Status"),
        "till.status.active": ("正常", "Active"),
        "till.status.frozen": ("已冻结：不能储值消费或充值", "Frozen: no spending or recharge"),
        "till.status.closed": ("已注销", "Closed"),
        "till.balance": ("储值余额", "Balance"),
        "till.principal": ("本金", "Principal"),
        "till.bonus": ("赠送金", "Bonus"),
        "till.total": ("合计", "Total"),
        "till.pending_bonus": ("待释放赠送金", "Bonus to be released"),
        "till.points": ("可用积分", "Usable points"),
        "till.coupons": ("可用优惠券", "Usable coupons"),
        "till.coupon.code": ("券码", "Code"),
        "till.coupon.name": ("名称", "Name"),
        "till.coupon.valid_until": ("有效期至", "Valid until"),
        "till.no_coupons": ("暂无可用优惠券", "No usable coupons"),
        "till.allergies": ("过敏 / 忌口", "Allergies / dietary"),
        "till.tastes": ("口味偏好", "Taste"),
        "till.favourites": ("喜爱菜品", "Favourite dishes"),
        "till.new_search": ("查找其他会员", "Find another member"),
        "till.recharge": ("充值", "Recharge"),
        "till.tier": ("充{amount}送{bonus}", "Pay {amount}, get {bonus}"),
        "till.tier.points": ("+{points}积分", "+{points} points"),
        "till.other_amount": ("其他金额（元）", "Other amount (yuan)"),
        "till.recharge.submit": ("按其他金额充值", "Recharge this amount"),
        "till.payment_method": ("付款方式", "Payment method"),
        "till.method.cash": ("现金", "Cash"),
        "till.method.wechat": ("微信", "WeChat"),
        "till.method.alipay": ("支付宝", "Alipay"),
        "till.method.bank_card": ("银行卡", "Bank card"),
        "till.method.other": ("其他", "Other"),
        "till.checkout": ("结账", "Check out"),
        "till.bill_total": ("账单金额（元）", "Bill total (yuan)"),
        "till.use_points": ("使用积分", "Points to use"),
        "till.use_all_points": ("全部使用", "Use all"),
        "till.pay_with_balance": ("使用储值余额支付", "Pay from balance"),
        "till.other_tender": ("其余部分付款方式", "The rest paid by"),
        "till.checkout.submit": ("确认结账", "Check out"),
        "till.quote": ("实时试算", "Live quote"),
        "till.quote.wait": ("输入账单金额后显示", "Shown once a bill total is typed"),
        "till.discount": ("等级折扣", "Level discount"),
        "till.coupon_discount": ("优惠券抵扣", "Coupons"),
        "till.points_deduction": ("积分抵扣", "Points deduction"),
        "till.payable": ("应付", "Payable"),
        "till.from_balance": ("储值支付", "From balance"),
        "till.due_other": ("其他方式支付", "Other tender"),
        "till.points_earned": ("本单得积分", "Points earned"),
        "till.points_used": ("使用积分", "Points used"),
        "till.receipt": ("小票", "Receipt"),
        "till.receipt.checkout": ("消费小票", "Checkout receipt"),
        "till.receipt.recharge": ("充值小票", "Recharge receipt"),
        "till.receipt.refund": ("退款小票", "Refund receipt"),
        "till.order_no": ("单号", "Order no."),
        "till.time": ("时间", "Time"),
        "till.print": ("打印小票", "Print"),
        "till.back_to_member": ("返回会员", "Back to the member"),
        "till.amount": ("充值金额", "Amount"),
        "till.bonus_given": ("赠送金额", "Bonus given"),
        "till.bonus_pending": ("其中分期释放", "Of which released later"),
        "till.points_awarded": ("赠送积分", "Points given"),
        "till.level_after": ("当前等级", "Level now"),
        "till.gift_coupons": ("赠送优惠券", "Gift coupons"),
        "till.balance_after": ("交易后余额", "Balance after"),
        "till.paid_principal": ("本金支付", "Paid from principal"),
        "till.paid_bonus": ("赠送金支付", "Paid from bonus"),
        "till.refund": ("退款", "Refund"),
        "till.refund.amount": ("退款金额（元，留空为全部）", "Amount (yuan; empty = all)"),
        "till.refund.reason": ("退款原因", "Reason"),
        "till.refund.submit": ("确认退款", "Refund"),
        "till.refunded": ("已退款", "Refunded"),
        "till.refund.to_principal": ("退回本金", "Back to principal"),
        "till.refund.to_bonus": ("退回赠送金", "Back to bonus"),
        "till.refund.other": ("原路退回", "Paid back by the original method"),
        "till.refund.points_taken_back": ("扣回积分", "Points taken back"),
        "till.refund.points_restored": ("退回积分", "Points given back"),
        "till.refund.original": ("原单号", "Original order"),
        "till.invalid": ("输入有误：{fields}", "Please check: {fields}"),
        "till.shift.since": ("统计区间：{since} 起", "Since {since}"),
        "till.shift.store": ("门店", "Store"),
        "till.shift.recharges": ("充值", "Recharges"),
        "till.shift.checkouts": ("消费", "Checkouts"),
        "till.shift.refunds": ("退款", "Refunds"),
        "till.shift.coupons": ("优惠券核销", "Coupons used"),
        "till.shift.count": ("笔数", "Count"),
        "till.shift.amount": ("金额", "Amount"),
        "till.shift.method": ("方式", "Method"),
        "till.shift.bill": ("账单金额", "Bills"),
        "till.shift.cash_expected": ("钱箱应有现金", "Cash expected in the drawer"),
        "till.shift.all": ("合计", "Total"),
        "till.shift.print": ("打印交班单", "Print"),
        "till.discount.level": ("等级折扣", "Level discount"),
        "till.discount.birthday": ("生日折扣", "Birthday discount"),
        "till.discount.member_day_dish": ("会员日特价菜", "Member-day dish"),
        "till.discount.birthday_dish": ("生日菜品", "Birthday dish"),
    }
)


def _locale(request: Request) -> str:
    return locale_of(request.cookies.get(LANG_COOKIE))


def _refusal(request: Request, exc: DomainError) -> str:
    return exc.kind.message_zh if _locale(request) == "zh" else exc.kind.message_en


def _invalid(request: Request, exc: ValidationError) -> str:
    from dinecard.web.i18n import translator

    fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})) or "?"
    return translator(_locale(request))("till.invalid", fields=fields)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _new_key() -> str:
    return uuid.uuid4().hex


def _store(principal: Principal) -> str:
    return principal.store_id or ""


# ---------------------------------------------------------------- search


@router.get("")
def till_home(request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    return render(request, "till/home.html", principal=principal, error=None, query="")


@router.get("/find")
def find(request: Request, q: str = "") -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = _container(request)
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
        return render(
            request,
            "till/home.html",
            status_code=refused.kind.status,
            principal=principal,
            refusal=_refusal(request, refused),
            refusal_code=refused.kind.code,
            query=q,
        )
    return RedirectResponse(f"/till/members/{member_id}", status_code=303)


# ---------------------------------------------------------------- member panel


def _panel(
    request: Request,
    principal: Principal,
    member_id: str,
    *,
    refusal: str | None = None,
    status_code: int = 200,
    checkout_form: dict[str, Any] | None = None,
    recharge_form: dict[str, Any] | None = None,
) -> Response:
    container = _container(request)
    now = container.clock.now()
    program = container.programs.at(now)
    with container.database.read() as session:
        view = members.member_view(session, container.cipher, program, member_id, now)
        usable = coupons.member_coupons(session, member_id, "usable", now)
        templates = coupons.templates_by_code(session, {c.template_code for c in usable})
        coupon_rows = [
            {
                "code": c.code,
                "name": (templates[c.template_code].name if _locale(request) == "zh" else None)
                or templates[c.template_code].name_en
                or templates[c.template_code].name,
                "valid_until": c.valid_until,
            }
            for c in usable
        ]
    return render(
        request,
        "till/member.html",
        status_code=status_code,
        principal=principal,
        member=view,
        level_name=view.level.name if _locale(request) == "zh" else view.level.name_en,
        coupons=coupon_rows,
        tiers=[till_data.tier_view(tier) for tier in program.recharge.tiers],
        tenders=[m.value for m in TENDERS],
        refusal=refusal,
        checkout_form=checkout_form or {"pay_with_balance": True, "use_points": 0, "coupon_codes": []},
        recharge_form=recharge_form or {"payment_method": PaymentMethod.CASH.value},
        checkout_key=_new_key(),
        recharge_key=_new_key(),
        store_id=_store(principal),
    )


@router.get("/members/{member_id}")
def member_panel(member_id: str, request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    try:
        return _panel(request, principal, member_id)
    except DomainError as refused:
        return render(
            request,
            "till/home.html",
            status_code=refused.kind.status,
            principal=principal,
            refusal=_refusal(request, refused),
            refusal_code=refused.kind.code,
            query="",
        )


def _written(response: Response) -> dict[str, Any]:
    content: dict[str, Any] = json.loads(bytes(response.body))
    return content


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
    container = _container(request)
    amount = other_amount.strip() if choice == "other" else choice
    form = {"payment_method": payment_method, "other_amount": other_amount}
    try:
        body = RechargeCreate(amount=amount, payment_method=payment_method, store_id=_store(principal))
    except ValidationError as invalid:
        return _panel(
            request, principal, member_id, refusal=_invalid(request, invalid), status_code=422, recharge_form=form
        )
    try:
        response = write_recharge(request, container, principal, idempotency_key, member_id, body)
    except DomainError as refused:
        return _panel(
            request,
            principal,
            member_id,
            refusal=_refusal(request, refused),
            status_code=refused.kind.status,
            recharge_form=form,
        )
    return RedirectResponse(f"/till/receipts/{_written(response)['order_no']}", status_code=303)


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
) -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = _container(request)
    codes = [code for code in (coupon_codes or []) if code.strip()]
    form = {
        "bill_total": bill_total,
        "use_points": use_points,
        "coupon_codes": codes,
        "pay_with_balance": pay_with_balance,
        "other_tender": other_tender,
    }
    try:
        body = CheckoutCreate(
            store_id=_store(principal),
            bill_total=bill_total.strip() or None,
            coupon_codes=codes,
            use_points=use_points.strip() or 0,
            pay_with_balance=pay_with_balance,
            other_tender=other_tender,
        )
    except ValidationError as invalid:
        return _panel(
            request, principal, member_id, refusal=_invalid(request, invalid), status_code=422, checkout_form=form
        )
    try:
        response = write_checkout(request, container, principal, idempotency_key, member_id, body)
    except DomainError as refused:
        return _panel(
            request,
            principal,
            member_id,
            refusal=_refusal(request, refused),
            status_code=refused.kind.status,
            checkout_form=form,
        )
    return RedirectResponse(f"/till/receipts/{_written(response)['order_no']}", status_code=303)


# ---------------------------------------------------------------- receipts and refunds


def _receipt(
    request: Request, principal: Principal, order_no: str, refusal: str | None = None, status: int = 200
) -> Response:
    container = _container(request)
    with container.database.read() as session:
        receipt = till_data.load_receipt(session, container, order_no, _locale(request))
    if receipt is None:
        return render(
            request, "till/home.html", status_code=404, principal=principal, refusal=_not_found(request), query=""
        )
    return render(
        request,
        "till/receipt.html",
        status_code=status,
        principal=principal,
        r=receipt,
        refusal=refusal,
        refund_key=_new_key(),
        can_refund=receipt["kind"] == "checkout"
        and receipt["store_id"] == principal.store_id
        and receipt["refundable"],
    )


def _not_found(request: Request) -> str:
    from dinecard.shared import errors

    return errors.ORDER_NOT_FOUND.message_zh if _locale(request) == "zh" else errors.ORDER_NOT_FOUND.message_en


@router.get("/receipts/{order_no}")
def receipt(order_no: str, request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    return _receipt(request, principal, order_no)


@router.post("/receipts/{order_no}/refund")
def refund(
    order_no: str,
    request: Request,
    idempotency_key: Annotated[str, Form(max_length=64)],
    amount: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = _container(request)
    try:
        body = RefundCreate(amount=amount.strip() or None, reason=reason.strip() or None)
    except ValidationError as invalid:
        return _receipt(request, principal, order_no, _invalid(request, invalid), 422)
    try:
        with container.database.read() as session:
            store_id, size = wallet.refund_preview(session, order_no, body.amount)
        authorize(principal, "wallet.refund", store_id)
        require_approval(request, container, principal, store_id, size)
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
        return _receipt(request, principal, order_no, _refusal(request, refused), refused.kind.status)
    return RedirectResponse(f"/till/receipts/{_written(response)['order_no']}", status_code=303)


# ---------------------------------------------------------------- shift handover


@router.get("/shift")
def shift(request: Request) -> Response:
    principal = staff_page(request, TILL_ROLES)
    container = _container(request)
    now = container.clock.now()
    program = container.programs.at(now)
    with container.database.read() as session:
        summary = till_data.shift_summary(session, _store(principal), now, program.business_timezone)
    return render(request, "till/shift.html", principal=principal, s=summary, now=now, money_zero=Money.zero())
