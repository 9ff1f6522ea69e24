"""FastAPI dependencies and the one way every mutating endpoint runs: idempotent, atomic."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dinecard.platform import idempotency
from dinecard.platform.container import Container
from dinecard.platform.db import UnitOfWork
from dinecard.security.domain import Principal
from dinecard.security.policy import authorize
from dinecard.security.service import Authenticator


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


SESSION_COOKIE = "dinecard_session"


def request_token(request: Request, authorization: str | None) -> str | None:
    """The bearer token, or for the web pages the login cookie (HttpOnly, SameSite=Strict)."""
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def get_principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    authenticator: Authenticator = request.app.state.authenticator
    principal = authenticator.authenticate(request_token(request, authorization))
    container: Container = request.app.state.container
    container.limiter.hit(container.settings.api_rate_limit, "requests", principal.key_id)
    return principal


def allowed(action: str) -> Callable[..., Principal]:
    """A dependency: the caller, once the authorization table lets their role do `action`."""

    def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        authorize(principal, action)
        return principal

    return dependency


ContainerDep = Annotated[Container, Depends(get_container)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Send the same key when retrying: the operation is applied once."),
]


def run_write(
    request: Request,
    container: Container,
    principal: Principal,
    idempotency_key: str | None,
    body: BaseModel | None,
    operation: Callable[[UnitOfWork, datetime], Any],
    status_code: int = 201,
) -> JSONResponse:
    """Run `operation` in one transaction, audited; with an Idempotency-Key, at most once per key."""
    from dinecard.platform import write_audit

    fingerprint = ""
    if idempotency_key is not None:
        idempotency.validate_key(idempotency_key)
        payload = json.dumps(body.model_dump(mode="json") if body else None, sort_keys=True).encode()
        fingerprint = idempotency.request_fingerprint(request.method, request.url.path, payload)
    with container.database.write() as uow:
        if idempotency_key is not None:
            stored = idempotency.claim(uow, principal.key_id, idempotency_key, fingerprint, container.clock.now())
            if stored is not None:
                return JSONResponse(
                    stored.body, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
                )
        # Read after the claim: a request that waited for a concurrent duplicate gets a later time.
        now = container.clock.now()
        member_id = write_audit.member_of_request(uow, request)
        before = write_audit.member_state(uow, member_id, now) if member_id is not None else None
        content = operation(uow, now)
        if isinstance(content, BaseModel):
            content = content.model_dump(mode="json")
        # A replay returned above, so each write is audited once, in its own transaction.
        write_audit.record_write(uow, request, principal, body, content, member_id=member_id, before=before, now=now)
        if idempotency_key is not None:
            idempotency.complete(uow, principal.key_id, idempotency_key, status_code, content)
    return JSONResponse(content, status_code=status_code)
