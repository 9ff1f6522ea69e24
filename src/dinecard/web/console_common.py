"""What every console screen shares: who may open it, the form key, and how a refusal is shown."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError

from dinecard.platform.container import Container
from dinecard.platform.db import UnitOfWork
from dinecard.platform.deps import run_write
from dinecard.security.domain import Principal, Role
from dinecard.shared.errors import DomainError
from dinecard.web import form_messages
from dinecard.web.i18n import DEFAULT_LOCALE, LANG_COOKIE, locale_of

CONSOLE_ROLES = frozenset({Role.HQ_ADMIN})

# The caller's language for messages made where no request is at hand (build): set for each
# console request by `use_caller_locale`, the console router's dependency.
_LOCALE: ContextVar[str] = ContextVar("dinecard_console_locale", default=DEFAULT_LOCALE)


async def use_caller_locale(request: Request) -> None:
    """Async on purpose: set in the request's own context, it reaches the (threaded) page function."""
    _LOCALE.set(locale_of(request.cookies.get(LANG_COOKIE)))


def new_key() -> str:
    """The idempotency key a form carries: made when it renders, sent back when it is submitted."""
    return uuid.uuid4().hex


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def field_errors(error: ValidationError, locale: str | None = None) -> dict[str, str]:
    """Each message by its field (the dotted path of the body model; a whole-model error under ""),
    in the caller's language (`locale`, else the console request's): see form_messages."""
    return form_messages.by_field(error.errors(), locale or _LOCALE.get())


def domain_message(request: Request, error: DomainError) -> str:
    locale = locale_of(request.cookies.get(LANG_COOKIE))
    return error.kind.message_zh if locale == "zh" else error.kind.message_en


class FormRefused(Exception):
    """A form that could not be saved: messages by field, and one for the whole form."""

    def __init__(self, fields: dict[str, str], message: str | None = None) -> None:
        super().__init__(message or "; ".join(fields.values()))
        self.fields = fields
        self.message = message


def build(model: type[BaseModel], data: dict[str, Any]) -> Any:
    """The API's body model from form fields, or FormRefused with each message by its field."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        raise FormRefused(field_errors(invalid)) from invalid


def write(
    request: Request,
    principal: Principal,
    idempotency_key: str | None,
    body: BaseModel | None,
    operation: Callable[[UnitOfWork, datetime], Any],
) -> Any:
    """The API's write path (idempotent, audited, one transaction); the answer as the API gives it."""
    try:
        response = run_write(request, container_of(request), principal, idempotency_key or None, body, operation)
    except DomainError as refused:
        raise FormRefused({}, domain_message(request, refused)) from refused
    except ValidationError as invalid:
        raise FormRefused(field_errors(invalid, locale_of(request.cookies.get(LANG_COOKIE)))) from invalid
    return json.loads(bytes(response.body))
