"""What the mall, lottery and coupon forms of the console share: times typed in the chain's time
zone, a lottery's prize table as typed, a refusal's messages placed by field, a chance written
as a percentage."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails
from starlette.datastructures import FormData

from dinecard.lottery.domain import PrizeKind
from dinecard.platform.db import UnitOfWork
from dinecard.security.domain import Principal
from dinecard.shared.errors import DomainError
from dinecard.web.console_common import FormRefused, field_errors, write

MAX_TEXT = 200
# The columns of a lottery's prize table in a form (inputs prize_code, prize_name, ...).
PRIZE = ("code", "name", "kind", "coupon_template_code", "points", "weight", "stock")
BLANK_PRIZE = dict.fromkeys(PRIZE, "") | {"kind": PrizeKind.COUPON.value}


def texts(submitted: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """The form's text fields, trimmed and bounded, every name present ("" when not sent)."""
    return {name: str(submitted.get(name, "")).strip()[:MAX_TEXT] for name in names}


def prize_rows(submitted: FormData) -> list[dict[str, str]]:
    """The prize table as typed, rows ticked for removal and rows left blank dropped."""
    columns = {name: [str(value).strip()[:60] for value in submitted.getlist(f"prize_{name}")] for name in PRIZE}
    removed = set(submitted.getlist("prize_remove"))
    rows = []
    for index in range(len(columns["code"])):
        row = {name: values[index] if index < len(values) else "" for name, values in columns.items()}
        if str(index) not in removed and any(row[name] for name in PRIZE if name != "kind"):
            rows.append(row)
    return rows


def prize_body(row: dict[str, str]) -> dict[str, Any]:
    """One row as the API's PrizeIn: code, name, kind and weight as typed, the others only when given."""
    data: dict[str, Any] = {name: row[name] for name in ("code", "name", "kind", "weight")}
    return data | {name: row[name] for name in ("coupon_template_code", "points", "stock") if row[name]}


def aware(value: str, timezone: str) -> str | None:
    """A datetime-local value ("2026-03-02T12:00") read in the chain's time zone, as ISO 8601 with
    its offset; empty: None. Anything unreadable is passed on as typed, for the API's model to
    refuse with its own message on that field."""
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.isoformat()


def local_input(moment: datetime | None, timezone: str) -> str:
    """What a datetime-local input shows for a stored time, in the chain's time zone."""
    return "" if moment is None else moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def moment(value: Any) -> datetime | None:
    """An ISO 8601 time made by `aware` (None when empty or unreadable)."""
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def percent(probability: str) -> str:
    """The API's probability ("0.750000") as a percentage ("75%"), to two decimals at most."""
    try:
        value = (Decimal(probability) * 100).quantize(Decimal("0.01")).normalize()
    except InvalidOperation:
        return probability
    return f"{value:f}%"


def save(
    request: Request,
    principal: Principal,
    idempotency_key: str | None,
    body: BaseModel | None,
    operation: Callable[[UnitOfWork, datetime], Any],
) -> Any:
    """console_common.write; a rule the service judged on the body (validation_failed, with the
    API's `errors` list) keeps its messages by field, worded by console_common.field_errors as the
    body model's own messages are."""
    try:
        return write(request, principal, idempotency_key, body, operation)
    except FormRefused as refused:
        cause = refused.__cause__
        problems = cause.detail.get("errors") if isinstance(cause, DomainError) else None
        if not problems:
            raise
        lines: list[InitErrorDetails] = []
        for problem in problems:
            where = list(problem.get("loc", ()))
            lines.append(
                InitErrorDetails(
                    type="value_error",
                    loc=tuple(where[1:] if where[:1] == ["body"] else where),
                    input=None,
                    ctx={"error": ValueError(str(problem.get("message")))},
                )
            )
        invalid = ValidationError.from_exception_data("body", lines)
        raise FormRefused(field_errors(invalid), refused.message) from cause
