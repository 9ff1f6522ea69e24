"""Mounting the web pages: routers of each area, the static assets, the login redirect."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from dinecard.web import console, member, pages, till
from dinecard.web.member_session import MemberLoginRequired, to_member_login
from dinecard.web.session import LoginRequired, to_login
from dinecard.web.templating import HERE


def install(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(till.router)
    app.include_router(console.router)
    app.include_router(member.router)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return to_login(exc)

    @app.exception_handler(MemberLoginRequired)
    async def _member_login_required(request: Request, exc: MemberLoginRequired) -> Response:
        return to_member_login(exc)
