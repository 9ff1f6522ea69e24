"""Database access: engines, the declarative base, and the unit of work.

Per-member serialization is done by the database (DESIGN.md): a row lock on PostgreSQL and
an immediate (write-locking) transaction on SQLite. Read-only work uses a deferred
transaction so look-ups do not queue behind writers on SQLite.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    CursorResult,
    DateTime,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only makes INTEGER PRIMARY KEY an auto-increment rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


NEW_COUNTER_ACCOUNTS = "new_counter_accounts"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no offset by itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert value.tzinfo is not None, "naive datetimes are a bug: time is always UTC-aware"
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_engine(url: str, begin_statement: str) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so we choose IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin_statement)

    return engine


class Database:
    """Engines and sessions for one database URL."""

    def __init__(self, url: str, pool_size: int = 10, pool_overflow: int = 20) -> None:
        self.url = url
        if url.startswith("sqlite"):
            self.dialect = "sqlite"
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(url, "BEGIN")
        else:
            self.dialect = "postgresql"
            self.write_engine = create_engine(url, pool_size=pool_size, max_overflow=pool_overflow, pool_pre_ping=True)
            self.read_engine = self.write_engine
        self._write_sessions = sessionmaker(bind=self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(bind=self.read_engine, expire_on_commit=False)
        # Ids of chain-level ledger accounts, which never change once committed.
        self.counter_account_ids: dict[str, int] = {}
        # Stores are never deleted, so one that was seen once exists for good.
        self.known_store_ids: set[str] = set()
        event.listen(self._write_sessions, "after_commit", self._remember_committed_counters)
        # The write transaction this thread is in, so a read it needs on the side (the programme)
        # can use its connection instead of taking a second one from the pool while holding one.
        self._in_thread = threading.local()
        # SQLite has one writer at a time. Writers of this process queue on this lock instead of in
        # SQLite's busy handler, which sleeps in steps of up to 100 ms while the lock may be free
        # already (the tail latency of the embedded mode). Other processes still meet busy_timeout.
        self._sqlite_writer = threading.RLock() if self.dialect == "sqlite" else None

    def _remember_committed_counters(self, session: Session) -> None:
        # Ids found or created in a transaction are only certain once it has committed.
        self.counter_account_ids.update(session.info.pop(NEW_COUNTER_ACCOUNTS, {}))

    @contextmanager
    def write(self) -> Iterator[UnitOfWork]:
        """One atomic write transaction: committed on success, rolled back on any exception."""
        with self._sqlite_writer or nullcontext():
            session = self._write_sessions()
            outer = getattr(self._in_thread, "session", None)
            self._in_thread.session = session
            try:
                with session.begin():
                    yield UnitOfWork(self, session)
            finally:
                self._in_thread.session = outer
                session.close()

    def active_write_session(self) -> Session | None:
        """The session of the write transaction this thread is in, if any."""
        session: Session | None = getattr(self._in_thread, "session", None)
        return session

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read_sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()


class UnitOfWork:
    """A write transaction in progress: the session plus database-specific locking."""

    def __init__(self, database: Database, session: Session) -> None:
        self.database = database
        self.session = session
        self._connection: Connection | None = None

    def execute(self, statement: Executable, params: Any = None) -> CursorResult[Any]:
        """Run a Core statement on this transaction's connection, past the ORM session.

        For the write path of every payment: a statement built once at import, with bind
        parameters instead of literal values, skips the ORM's compile state and the cache-key
        walk of a freshly built statement (a third of a checkout's CPU went there). Pending ORM
        changes are flushed first, as `session.execute` would (a new member row must exist before
        a journal row names it); ORM objects are not refreshed by it, so use it for rows no ORM
        object in this session stands for (journal, postings, audit, outbox, idempotency records).
        """
        self.session.flush()  # nearly free when nothing is pending
        if self._connection is None:
            self._connection = self.session.connection()
        return self._connection.execute(statement, params)

    def lock_row(self, table_column: Any, key: Any) -> bool:
        """Lock one row until commit; False if it does not exist.

        SQLite already holds the database write lock (BEGIN IMMEDIATE), so a plain read is
        enough there; PostgreSQL takes a row lock with SELECT ... FOR UPDATE.
        """
        statement = select(table_column).where(table_column == key)
        if self.database.dialect == "postgresql":
            statement = statement.with_for_update()
        return self.session.execute(statement).first() is not None

    def lock_range(self, table_column: Any, after: Any, last: Any) -> None:
        """Lock the rows with keys in (after, last] until commit, in key order (as `lock_row` does one).

        Set-based batch jobs lock a whole page of members with one statement; ascending key
        order is the order every batch job takes member locks in, so two never deadlock.
        """
        if self.database.dialect != "postgresql":
            return
        statement = select(table_column).where(table_column <= last)
        if after is not None:
            statement = statement.where(table_column > after)
        self.session.execute(statement.order_by(table_column).with_for_update()).all()

    def insert_ignoring_conflict(self, table: Any, values: dict[str, Any], conflict_column: str) -> None:
        self.insert_ignoring_conflict_many(table, values, [conflict_column])

    def insert_ignoring_conflict_returning(
        self, table: Any, values: dict[str, Any], conflict_columns: list[str]
    ) -> bool:
        """`insert_ignoring_conflict_many`, saying whether this insert made the row (RETURNING, no second read)."""
        statement = _insert_ignoring_conflict(self.database.dialect, table, tuple(conflict_columns), returning=True)
        return self.execute(statement, values).first() is not None

    def insert_ignoring_conflict_many(self, table: Any, values: dict[str, Any], conflict_columns: list[str]) -> None:
        """INSERT ... ON CONFLICT DO NOTHING: waits for a concurrent inserter's outcome on PostgreSQL."""
        self.execute(_insert_ignoring_conflict(self.database.dialect, table, tuple(conflict_columns)), values)


@functools.cache
def _insert_ignoring_conflict(
    dialect: str, table: Any, conflict_columns: tuple[str, ...], returning: bool = False
) -> Any:
    """One statement per table and conflict target, built once (the values are bound at execution)."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    return statement.returning(*[table.c[name] for name in conflict_columns]) if returning else statement


def ping(database: Database) -> None:
    with database.read() as session:
        session.execute(text("SELECT 1"))
