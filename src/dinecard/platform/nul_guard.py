"""Refuse a NUL character anywhere in a request (path, query, JSON body) at the edge.

PostgreSQL cannot store NUL in text and SQLite can: without this guard the same request would
be a 500 on one database and stored on the other. A NUL is never meaningful in a name, a code or
an id, so it is refused the same way everywhere, before any use case runs.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NUL_DETAIL = "a NUL character is not allowed in a request"


def _has_nul(chunk: bytes) -> bool:
    # In JSON a NUL can only be written as the escape \u0000; in a URL as %00.
    return b"\x00" in chunk or b"\\u0000" in chunk


class RejectNulMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").lower()
        refused = "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query
        messages: list[Message] = []
        if not refused and scope.get("method") in ("POST", "PUT", "PATCH"):
            while True:
                message = await receive()
                messages.append(message)
                refused = refused or _has_nul(message.get("body", b""))
                if not message.get("more_body"):
                    break
        if refused:
            await _refuse(scope, receive, send)
            return
        await self.app(scope, _replay(messages, receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """The body already read, then whatever comes after (e.g. a disconnect)."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    from dinecard.platform.api import problem  # the one place problem documents are written
    from dinecard.shared import errors

    extra: dict[str, Any] = {"errors": [{"loc": ["request"], "type": "value_error", "message": NUL_DETAIL}]}
    response = problem(errors.VALIDATION_FAILED, Request(scope), extra)
    await response(scope, receive, send)
