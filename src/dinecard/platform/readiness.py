"""Readiness (R-OPS-3): the database answers, its schema is the code's, and Redis answers when configured."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dinecard.platform.db import ping
from dinecard.platform.migrate import alembic_config
from dinecard.shared import errors

if TYPE_CHECKING:
    from dinecard.platform.container import Container

log = logging.getLogger("dinecard.readiness")

OK = "ok"
NOT_READY = errors.add("not_ready", 503, "服务尚未就绪", "The service is not ready: see `failed`")
# A probe must answer quickly even when Redis hangs.
REDIS_TIMEOUT_SECONDS = 1.0


@lru_cache(maxsize=1)
def code_revision() -> str | None:
    """The newest migration this code ships (read once: it cannot change while the process runs)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


class Readiness:
    """Checks what a process needs before it takes traffic; keeps one Redis client between probes."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self._redis: Any = None
        self._redis_url: str | None = None

    def check(self) -> dict[str, str]:
        """Each check's outcome: "ok" or a short reason (no secrets, no addresses)."""
        checks = {"database": self._database()}
        checks["migrations"] = self._migrations() if checks["database"] == OK else "not checked: no database"
        if self.container.settings.redis_url:
            checks["redis"] = self._redis_answers(self.container.settings.redis_url)
        return checks

    def _database(self) -> str:
        try:
            ping(self.container.database)
        except SQLAlchemyError as exc:
            log.warning("readiness: database unreachable: %s", type(exc).__name__)
            return f"unreachable ({type(exc).__name__})"
        return OK

    def _migrations(self) -> str:
        try:
            with self.container.database.read() as session:
                revisions = list(session.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except SQLAlchemyError as exc:
            return f"no migration record ({type(exc).__name__})"
        expected = code_revision()
        if revisions != [expected]:
            found = ", ".join(revisions) or "none"
            return f"database at {found}, code expects {expected}: run `dinecard db upgrade`"
        return OK

    def _redis_answers(self, url: str) -> str:
        import redis

        try:
            if self._redis is None or self._redis_url != url:
                self._redis = redis.Redis.from_url(
                    url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
                )
                self._redis_url = url
            self._redis.ping()
        except (redis.RedisError, OSError) as exc:
            log.warning("readiness: redis unreachable: %s", type(exc).__name__)
            return f"unreachable ({type(exc).__name__})"
        return OK
