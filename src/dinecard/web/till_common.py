"""What every till page shares: who may use it, the tenders, the caller's language, refusals as text."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.responses import Response

from dinecard.platform.container import Container
from dinecard.security.domain import Principal, Role
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.wallet.common import PaymentMethod
from dinecard.web import till_text  # noqa: F401  (registers the till's words)
from dinecard.web.i18n import LANG_COOKIE, locale_of, translator

TILL_ROLES = frozenset({Role.CASHIER, Role.STORE_MANAGER})
TENDERS = (PaymentMethod.CASH, PaymentMethod.WECHAT, PaymentMethod.ALIPAY, PaymentMethod.BANK_CARD)


def locale(request: Request) -> str:
    return locale_of(request.cookies.get(LANG_COOKIE))


def text(request: Request, key: str, **values: object) -> str:
    return translator(locale(request))(key, **values)


def refusal(request: Request, exc: DomainError) -> str:
    return exc.kind.message_zh if locale(request) == "zh" else exc.kind.message_en


def invalid(request: Request, exc: ValidationError) -> str:
    fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})) or "?"
    return text(request, "till.invalid", fields=fields)


def not_found(request: Request) -> str:
    return refusal(request, DomainError(errors.ORDER_NOT_FOUND))


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def new_key() -> str:
    """An idempotency key for a form as it is drawn: sending the form twice writes once."""
    return uuid.uuid4().hex


def store_of(principal: Principal) -> str:
    return principal.store_id or ""


def written(response: Response) -> dict[str, Any]:
    """The JSON answer of an API write the page made (write_recharge / write_checkout / run_write)."""
    content: dict[str, Any] = json.loads(bytes(response.body))
    return content
