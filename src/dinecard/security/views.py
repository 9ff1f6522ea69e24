"""Staff login and logout, staff accounts (create, list, disable, enable, new password) and API keys
(create, list, revoke)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from dinecard.platform.container import Container
from dinecard.platform.db import UnitOfWork
from dinecard.platform.deps import SESSION_COOKIE, ContainerDep, IdempotencyKey, PrincipalDep, request_token, run_write
from dinecard.security import staff as staff_service
from dinecard.security.domain import Principal, Role
from dinecard.security.models import ApiKey, Staff
from dinecard.security.policy import authorize
from dinecard.security.service import create_api_key, list_api_keys, revoke_api_key
from dinecard.shared.errors import DomainError

router = APIRouter(tags=["security"])


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=40)
    password: str = Field(min_length=1, max_length=200)


class PrincipalOut(BaseModel):
    id: str
    name: str
    role: Role
    store_id: str | None
    kind: str


class LoginOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`")
    expires_at: datetime
    staff: PrincipalOut


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=8, max_length=200)
    display_name: str = Field(min_length=1, max_length=60)
    role: Role
    store_id: str | None = None


class StaffOut(BaseModel):
    id: str
    username: str
    display_name: str
    role: Role
    store_id: str | None
    disabled_at: datetime | None = None

    @classmethod
    def of(cls, staff: Staff) -> StaffOut:
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            role=Role(staff.role),
            store_id=staff.store_id,
            disabled_at=staff.disabled_at,
        )


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=8, max_length=200)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    role: Role
    store_id: str | None = None


class ApiKeyOut(BaseModel):
    id: str
    name: str
    role: Role
    store_id: str | None
    key: str = Field(description="Shown once; only its hash is stored")


class ApiKeyListed(BaseModel):
    id: str
    name: str
    role: Role
    store_id: str | None
    prefix: str = Field(description="The key reads dc_<prefix>.<secret>; the secret is never shown again")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When a request last used it (up to 5 minutes late); null if never since it was made"
    )

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyListed:
        return cls(
            id=key.id,
            name=key.name,
            role=Role(key.role),
            store_id=key.store_id,
            prefix=key.prefix,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            last_used_at=key.last_used_at,
        )


def sign_in(request: Request, container: Container, username: str, password: str) -> staff_service.Login:
    """Check a staff member's password, throttled per username and per address (API and pages)."""
    ip = request.client.host if request.client else "unknown"
    now = container.clock.now()
    rule = container.settings.login_rate_limit
    count, _, period = rule.partition("/")
    ip_rule = f"{int(count) * 4}/{period}"
    # Once the failures are used up, even the right password waits: a guesser learns nothing.
    container.limiter.check(rule, "login-user", username.lower())
    container.limiter.check(ip_rule, "login-ip", ip)
    try:
        with container.database.write() as uow:
            return staff_service.login(
                uow,
                username=username,
                password=password,
                secret=container.token_secret,
                now=now,
                ip=ip,
                user_agent=request.headers.get("user-agent"),
            )
    except DomainError:
        # Only failures count, per username and (more loosely) per address: a guesser is slowed, a
        # colleague who typed the password right is not.
        for limit, scope, key in ((rule, "login-user", username.lower()), (ip_rule, "login-ip", ip)):
            # This failure is counted; the 401 stands, and the next attempt gets the 429.
            with contextlib.suppress(DomainError):
                container.limiter.hit(limit, scope, key)
        raise


def set_session_cookie(response: Response, request: Request, result: staff_service.Login, now: datetime) -> None:
    # The same token as a cookie serves the web pages; SameSite=Strict keeps other sites' forms out.
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=int((result.expires_at - now).total_seconds()),
    )


@router.post("/auth/login", response_model=LoginOut, summary="Staff login: a bearer token for the API and pages")
def login(body: LoginIn, request: Request, response: Response, container: ContainerDep) -> LoginOut:
    result = sign_in(request, container, body.username, body.password)
    set_session_cookie(response, request, result, container.clock.now())
    principal = result.principal
    return LoginOut(
        token=result.token,
        expires_at=result.expires_at,
        staff=PrincipalOut(
            id=principal.key_id,
            name=principal.name,
            role=principal.role,
            store_id=principal.store_id,
            kind=principal.kind,
        ),
    )


@router.post("/auth/logout", status_code=204, summary="End this login")
def logout(
    request: Request,
    response: Response,
    container: ContainerDep,
    _principal: PrincipalDep,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    token = request_token(request, authorization) or ""
    response.delete_cookie(SESSION_COOKIE)
    session_id = staff_service.session_id_of(token, container.token_secret, container.clock.now())
    if session_id is not None:
        with container.database.write() as uow:
            staff_service.logout(uow, session_id, container.clock.now())


@router.get("/auth/me", response_model=PrincipalOut, summary="Who am I")
def me(principal: PrincipalDep) -> PrincipalOut:
    return PrincipalOut(
        id=principal.key_id, name=principal.name, role=principal.role, store_id=principal.store_id, kind=principal.kind
    )


@router.post("/staff", status_code=201, response_model=StaffOut, summary="Create a staff account")
def create_staff(
    body: StaffCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    authorize(principal, "staff.manage")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        staff_id = staff_service.create_staff(
            uow,
            username=body.username,
            password=body.password,
            role=body.role,
            store_id=body.store_id,
            display_name=body.display_name,
            now=now,
        )
        return StaffOut(
            id=staff_id, username=body.username, display_name=body.display_name, role=body.role, store_id=body.store_id
        )

    return run_write(request, container, principal, idempotency_key, body, operation)


@router.get("/staff", response_model=list[StaffOut], summary="List staff accounts")
def list_staff(container: ContainerDep, principal: PrincipalDep) -> list[StaffOut]:
    authorize(principal, "staff.manage")
    with container.database.read() as session:
        rows = session.execute(select(Staff).order_by(Staff.username)).scalars().all()
        return [StaffOut.of(row) for row in rows]


StaffId = Annotated[str, Path(max_length=26)]


@router.post("/staff/{staff_id}/disable", response_model=StaffOut, summary="Disable a staff account")
def disable_staff(
    staff_id: StaffId,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Its logins end at once and it cannot log in until enabled again."""
    return _change_staff(
        request, container, principal, idempotency_key, None,
        lambda uow, now: staff_service.set_disabled(uow, staff_id, True, principal.key_id, now),
    )  # fmt: skip


@router.post("/staff/{staff_id}/enable", response_model=StaffOut, summary="Enable a disabled staff account")
def enable_staff(
    staff_id: StaffId,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    return _change_staff(
        request, container, principal, idempotency_key, None,
        lambda uow, now: staff_service.set_disabled(uow, staff_id, False, principal.key_id, now),
    )  # fmt: skip


@router.post("/staff/{staff_id}/password", response_model=StaffOut, summary="Set a new password for a staff account")
def reset_staff_password(
    staff_id: StaffId,
    body: PasswordReset,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """The account's open logins end; its owner logs in with the new password."""
    return _change_staff(
        request, container, principal, idempotency_key, body,
        lambda uow, now: staff_service.reset_password(uow, staff_id, body.password, now),
    )  # fmt: skip


def _change_staff(
    request: Request,
    container: Container,
    principal: Principal,
    idempotency_key: str | None,
    body: BaseModel | None,
    change: Callable[[UnitOfWork, datetime], Staff],
) -> JSONResponse:
    """One staff account changed through the write path (idempotent, audited), answered with the account."""
    authorize(principal, "staff.manage")
    return run_write(
        request, container, principal, idempotency_key, body, lambda uow, now: StaffOut.of(change(uow, now)),
        status_code=200,
    )  # fmt: skip


@router.post("/api-keys", status_code=201, response_model=ApiKeyOut, summary="Create an API key")
def create_key(
    body: ApiKeyCreate,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
) -> JSONResponse:
    authorize(principal, "apikey.manage")

    def operation(uow, now):  # type: ignore[no-untyped-def]
        key_id, token = create_api_key(uow, body.name, body.role, body.store_id, now)
        return ApiKeyOut(id=key_id, name=body.name, role=body.role, store_id=body.store_id, key=token)

    # No Idempotency-Key here: a replay would have to store the new key's secret to answer again.
    return run_write(request, container, principal, None, body, operation)


@router.get("/api-keys", response_model=list[ApiKeyListed], summary="List API keys (never their secrets)")
def list_keys(container: ContainerDep, principal: PrincipalDep) -> list[ApiKeyListed]:
    authorize(principal, "apikey.manage")
    with container.database.read() as session:
        return [ApiKeyListed.of(key) for key in list_api_keys(session)]


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyListed, summary="Revoke an API key for good")
def revoke_key(
    key_id: Annotated[str, Path(max_length=26)],
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Refused (401) from the next request in this process, within 30 s in every other."""
    authorize(principal, "apikey.manage")
    response = run_write(
        request,
        container,
        principal,
        idempotency_key,
        None,
        lambda uow, now: ApiKeyListed.of(revoke_api_key(uow, key_id, now)),
        status_code=200,
    )
    # After the commit: forgotten earlier, a concurrent request could remember the key again.
    request.app.state.authenticator.forget(json.loads(bytes(response.body))["prefix"])
    return response
