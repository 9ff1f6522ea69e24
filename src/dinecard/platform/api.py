"""The HTTP API: routers, RFC 9457 problem details for every error, health endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from dinecard import __version__
from dinecard.coupons.views import router as coupons_router
from dinecard.lottery.views import router as lottery_router
from dinecard.mall.views import router as mall_router
from dinecard.members.views import router as members_router
from dinecard.menu.views import router as menu_router
from dinecard.platform import metrics
from dinecard.platform.container import Container
from dinecard.platform.logging import RequestContextMiddleware
from dinecard.platform.nul_guard import RejectNulMiddleware
from dinecard.platform.readiness import NOT_READY, Readiness
from dinecard.platform.worker import WorkerThread
from dinecard.program.views import router as program_router
from dinecard.rewards.views import router as rewards_router
from dinecard.security.risk_views import router as risk_router
from dinecard.security.service import Authenticator
from dinecard.security.views import router as security_router
from dinecard.shared import errors
from dinecard.shared.errors import CATALOG, DomainError, ErrorKind
from dinecard.stamps.views import router as stamps_router
from dinecard.stores.views import router as stores_router
from dinecard.wallet.views import router as wallet_router

log = logging.getLogger("dinecard.api")

PROBLEM_JSON = "application/problem+json"
SERVICE_UNAVAILABLE = errors.add("service_busy", 503, "系统繁忙，请稍后重试", "The service is busy, retry shortly")
CONFLICT = errors.add("conflict", 409, "数据冲突，请重试", "The change conflicts with another one; retry")
INTERNAL = errors.add("internal_error", 500, "系统内部错误", "Internal error")
METHOD_NOT_ALLOWED = errors.add("method_not_allowed", 405, "不支持该请求方法", "Method not allowed")

# Unique constraints whose violation is a business answer, not a server fault.
_CONSTRAINT_ERRORS = {
    "uq_members_phone_index": errors.PHONE_TAKEN,
    "members.phone_index": errors.PHONE_TAKEN,
    "uq_stores_code": errors.STORE_CODE_TAKEN,
    "stores.code": errors.STORE_CODE_TAKEN,
}


def problem(kind: ErrorKind, request: Request, extra: dict[str, Any] | None = None) -> JSONResponse:
    body = {
        "type": f"urn:dinecard:problem:{kind.code}",
        "title": kind.message_en,
        "status": kind.status,
        "detail": kind.message_en,
        "instance": request.url.path,
        "code": kind.code,
        "message_zh": kind.message_zh,
        "message_en": kind.message_en,
        **(extra or {}),
    }
    headers = {"Retry-After": "1"} if kind.status == 503 else None
    if kind.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    if kind.status == 429 and extra and "retry_after" in extra:
        headers = {"Retry-After": str(extra["retry_after"])}
    return JSONResponse(body, status_code=kind.status, media_type=PROBLEM_JSON, headers=headers)


def _install_pages(app: FastAPI) -> None:
    """The web pages and their assets, all served by the app itself (no CDN, no build step)."""
    from dinecard.web.app import install

    install(app)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.kind, request, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(error.get("loc", ())), "type": error.get("type"), "message": error.get("msg")}
            for error in exc.errors()
        ]
        codes = [d["type"] for d in details if d["type"] in CATALOG.kinds]
        kind = CATALOG.kinds[codes[0]] if codes else errors.VALIDATION_FAILED
        return problem(kind, request, {"errors": details})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: errors.NOT_FOUND, 405: METHOD_NOT_ALLOWED}.get(exc.status_code)
        if kind is None:
            kind = ErrorKind("http_error", exc.status_code, str(exc.detail), str(exc.detail))
        return problem(kind, request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        text = str(exc.orig)
        for constraint, kind in _CONSTRAINT_ERRORS.items():
            if constraint in text:
                return problem(kind, request)
        if "ck_" in text or "check constraint" in text.lower():
            # A CHECK (e.g. no negative balance) refused the write: a rule above it is wrong.
            log.error("check constraint refused a write on %s", request.url.path)
            return problem(INTERNAL, request)
        log.warning("integrity error on %s: %s", request.url.path, type(exc.orig).__name__)
        return problem(CONFLICT, request)

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL character in text on PostgreSQL, a number out of
        # range): bad input, and the transaction it was in has been rolled back.
        log.info("unstorable value on %s: %s", request.url.path, type(exc.orig).__name__)
        detail = "a value the database cannot store, such as a NUL character"
        return problem(
            errors.VALIDATION_FAILED,
            request,
            {"errors": [{"loc": ["request"], "type": "value_error", "message": detail}]},
        )

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection stayed busy for the pool's timeout: busy, retry shortly (503 + Retry-After).
        log.warning("no database connection free on %s", request.url.path)
        return problem(SERVICE_UNAVAILABLE, request)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable or busy on %s: %s", request.url.path, type(exc.orig).__name__)
        return problem(SERVICE_UNAVAILABLE, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem(INTERNAL, request)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: Container = app.state.container
    # Only when asked for (embedded mode, see Settings.embedded_worker): tests and
    # production API processes must not run background work in the request process.
    worker = None
    if container.settings.embedded_worker:
        worker = WorkerThread(container, container.settings.worker_interval_seconds)
        worker.start()
        log.info("embedded worker started")
    try:
        yield
    finally:
        if worker is not None:
            worker.stop()


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="DineCard API",
        version=__version__,
        description="Membership, stored value and points for restaurant chains. Amounts are yuan strings.",
        lifespan=_lifespan,
    )
    app.state.container = container
    app.state.authenticator = Authenticator(container.database, container.token_secret, container.clock)
    _install_error_handlers(app)
    api = APIRouter(prefix="/api/v1")
    api.include_router(stores_router)
    api.include_router(members_router)
    api.include_router(wallet_router)
    api.include_router(program_router)
    api.include_router(security_router)
    api.include_router(risk_router)
    api.include_router(menu_router)
    api.include_router(coupons_router)
    api.include_router(stamps_router)
    api.include_router(mall_router)
    api.include_router(lottery_router)
    api.include_router(rewards_router)
    app.include_router(api)
    _install_pages(app)
    # Added last, so outermost: the access line and the metrics see every answer, the request id too.
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(RejectNulMiddleware)
    app.add_middleware(RequestContextMiddleware)
    metrics.install_session_hooks()
    readiness = Readiness(container)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="The database answers, migrations are current, Redis answers")
    def readyz(request: Request) -> JSONResponse:
        checks = readiness.check()
        failed = [name for name, outcome in checks.items() if outcome != "ok"]
        if failed:
            return problem(NOT_READY, request, {"failed": failed, "checks": checks})
        return JSONResponse({"status": "ready", "checks": checks})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (no authentication: firewall it)",
        response_class=PlainTextResponse,
    )
    def prometheus_metrics() -> Response:
        return metrics.metrics_response()

    return app
