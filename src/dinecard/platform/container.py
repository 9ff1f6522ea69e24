"""What the API, the CLI and the jobs share: database, clock, cipher and the programme."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dinecard.platform.db import Database
from dinecard.platform.settings import Settings
from dinecard.program.domain import Program, default_program
from dinecard.security.crypto import PersonalDataCipher, load_or_create_key
from dinecard.shared.clock import Clock, FixedClock, SystemClock


@dataclass
class Container:
    settings: Settings
    database: Database
    cipher: PersonalDataCipher
    clock: Clock
    program: Program = field(default_factory=default_program)

    @classmethod
    def from_settings(cls, settings: Settings) -> Container:
        database = Database(settings.resolved_database_url(), settings.db_pool_size, settings.db_pool_overflow)
        key = load_or_create_key(settings.data_key, settings.data_dir / "data.key")
        clock: Clock = FixedClock(settings.now) if settings.now is not None else SystemClock()
        program = replace(default_program(), business_timezone=settings.timezone)
        return cls(settings=settings, database=database, cipher=PersonalDataCipher(key), clock=clock, program=program)
