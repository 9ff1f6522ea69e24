"""PostgreSQL housekeeping for the benchmark: its own databases (`dinecard_bench_*`), made and dropped."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PREFIX = "dinecard_bench_"


class Postgres:
    """One server, reached as `admin_url` (a superuser, e.g. postgres on 127.0.0.1 with trust)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5432, user: str = "postgres", password: str = ""):
        self.host, self.port, self.user, self.password = host, port, user, password
        self.created: set[str] = set()

    def url(self, database: str) -> str:
        secret = f":{self.password}" if self.password else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{database}"

    @contextmanager
    def admin(self) -> Iterator[psycopg.Connection]:
        with psycopg.connect(self.url("postgres"), autocommit=True, connect_timeout=5) as connection:
            yield connection

    def available(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            with self.admin() as connection:
                connection.execute("SELECT 1")
        except psycopg.Error as exc:
            return str(exc).strip().splitlines()[0]
        return None

    def facts(self) -> dict[str, str]:
        with self.admin() as connection:
            rows = {
                name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers", "max_connections")
            }
        return rows

    def major_version(self) -> int:
        with self.admin() as connection:
            return int(connection.execute("SHOW server_version_num").fetchone()[0]) // 10000  # type: ignore[index]

    def create(self, name: str, template: str | None = None) -> str:
        """A fresh database (dropped first if a crashed run left it); with `template`, a copy of that one."""
        _check_name(name)
        self.drop(name)
        with self.admin() as connection:
            if template is None:
                connection.execute(f'CREATE DATABASE "{name}"')
            else:
                _check_name(template)
                # FILE_COPY copies the files instead of WAL-logging every page: much faster for big copies.
                strategy = " STRATEGY FILE_COPY" if self.major_version() >= 15 else ""
                connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        self.created.add(name)
        return self.url(name)

    def drop(self, name: str) -> None:
        _check_name(name)
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.discard(name)

    def drop_all_created(self) -> None:
        for name in sorted(self.created):
            self.drop(name)

    def deadlocks(self, name: str) -> int:
        with self.admin() as connection:
            row = connection.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", (name,)).fetchone()
        return int(row[0]) if row else 0

    def vacuum_analyze(self, name: str) -> None:
        _check_name(name)
        with psycopg.connect(self.url(name), autocommit=True) as connection:
            connection.execute("VACUUM (ANALYZE)")

    def wait_idle(self, name: str, timeout: float = 10.0) -> None:
        """Wait until no session is connected to `name` (or `timeout` seconds pass)."""
        deadline = time.monotonic() + timeout
        with self.admin() as connection:
            while time.monotonic() < deadline:
                row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)).fetchone()
                if not row or row[0] == 0:
                    return
                time.sleep(0.1)

    def size_bytes(self, name: str) -> int:
        with self.admin() as connection:
            return int(connection.execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0])  # type: ignore[index]


def _check_name(name: str) -> None:
    # Only our own databases, and only names that need no quoting rules beyond double quotes.
    if not name.startswith(PREFIX) or not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"the benchmark only touches databases named {PREFIX}*: {name!r}")
