"""Reading and changing the programme: versions with effective times, cached per process."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dinecard.coupons.service import ensure_preset_templates, missing_templates
from dinecard.members.domain import MemberStatus
from dinecard.members.models import Member
from dinecard.platform.db import Database, UnitOfWork
from dinecard.program.domain import Program
from dinecard.program.models import ProgramVersion
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.stores.service import unknown_stores

# New versions reach other processes within this many seconds; effective times are exact.
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class VersionInfo:
    version: int
    effective_at: datetime
    created_at: datetime
    created_by: str | None
    note: str | None
    name: str


class ProgramSource:
    """The programme in force at a moment: the latest version whose effective time has come."""

    def __init__(self, database: Database, fallback: Program) -> None:
        self.database = database
        # Version 0, the built-in default, is in force until HQ saves a first version.
        self.fallback = fallback
        self._lock = threading.Lock()
        self._versions: list[tuple[datetime, Program]] = []
        self._loaded_at = -1e9
        self._reloading = False
        self._parsed: dict[int, Program] = {}

    def at(self, moment: datetime) -> Program:
        versions = self._current_versions()
        chosen = self.fallback
        for effective_at, program in versions:
            if effective_at <= moment:
                chosen = program
        return chosen

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = -1e9

    def _current_versions(self) -> list[tuple[datetime, Program]]:
        with self._lock:
            fresh = time.monotonic() - self._loaded_at < CACHE_SECONDS
            if fresh or (self._loaded_at > 0 and self._reloading):
                # Fresh, or another thread is reloading: a list at most seconds old is in force.
                return self._versions
            self._reloading = True
        try:
            versions = self._load()
        finally:
            with self._lock:
                self._reloading = False
        with self._lock:
            self._versions = versions
            self._loaded_at = time.monotonic()
        return versions

    def _load(self) -> list[tuple[datetime, Program]]:
        """The versions, on the caller's own write transaction when it is in one (never a second
        pooled connection while holding one: a busy pool would wait on itself)."""
        session = self.database.active_write_session()
        if session is not None:
            return self._read_versions(session)
        with self.database.read() as reader:
            return self._read_versions(reader)

    def _read_versions(self, session: Session) -> list[tuple[datetime, Program]]:
        rows = session.execute(
            select(ProgramVersion.effective_at, ProgramVersion.version).order_by(
                ProgramVersion.effective_at, ProgramVersion.version
            )
        ).all()
        # A saved version never changes: each document is parsed once per process.
        unparsed = [version for _effective_at, version in rows if version not in self._parsed]
        if unparsed:
            documents = session.execute(
                select(ProgramVersion.version, ProgramVersion.document).where(ProgramVersion.version.in_(unparsed))
            ).all()
            for version, document in documents:
                self._parsed[version] = Program.model_validate({**document, "version": version})
        return [(effective_at, self._parsed[version]) for effective_at, version in rows]


def save_version(
    uow: UnitOfWork, program: Program, effective_at: datetime, now: datetime, created_by: str | None, note: str | None
) -> Program:
    """Store a new version (numbered after the last one) and return it with its number."""
    held = set(
        uow.session.execute(
            select(Member.level_code).where(Member.status != MemberStatus.CLOSED.value).distinct()
        ).scalars()
    )
    missing = sorted(held - {level.code for level in program.levels})
    if missing:
        # Members would be left on a level the programme no longer knows: map them first.
        raise DomainError(errors.LEVELS_IN_USE, {"levels": missing})
    ensure_preset_templates(uow, program.coupon_templates(), now)
    unknown = missing_templates(uow.session, program.coupon_templates())
    if unknown:
        raise DomainError(errors.COUPON_TEMPLATE_NOT_FOUND, {"template_code": unknown[0], "templates": unknown})
    references = program.store_references()
    strangers = set(unknown_stores(uow.session, {store for _path, store in references}))
    if strangers:
        # A rule limited to a store that does not exist would never apply: a typo, not a choice.
        raise errors.invalid(
            *[(["program", *path], f"unknown store {store}") for path, store in references if store in strangers]
        )
    last = uow.session.execute(select(func.max(ProgramVersion.version))).scalar_one_or_none() or 0
    version = last + 1
    document = program.model_dump(mode="json", exclude={"version"})
    uow.session.add(
        ProgramVersion(
            version=version,
            document=document,
            # A change never reaches back: what was priced stays priced by the version it used.
            effective_at=max(effective_at, now),
            created_at=now,
            created_by=created_by,
            note=note,
        )
    )
    return program.model_copy(update={"version": version})


def list_versions(database: Database) -> list[VersionInfo]:
    with database.read() as session:
        rows = session.execute(select(ProgramVersion).order_by(ProgramVersion.version.desc())).scalars().all()
        return [
            VersionInfo(
                row.version,
                row.effective_at,
                row.created_at,
                row.created_by,
                row.note,
                str(row.document.get("name", "")),
            )
            for row in rows
        ]
