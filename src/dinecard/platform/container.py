"""What the API, the CLI and the jobs share: database, clock, cipher and the programme."""

from __future__ import annotations

from dinecard.platform.db import Database
from dinecard.platform.ratelimit import RateLimiter
from dinecard.platform.settings import Settings
from dinecard.program.domain import Program
from dinecard.program.presets import preset
from dinecard.program.service import ProgramSource
from dinecard.security.crypto import PersonalDataCipher, load_or_create_keys
from dinecard.shared.clock import Clock, FixedClock, SystemClock


class Container:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        cipher: PersonalDataCipher,
        clock: Clock,
        program: Program | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.cipher = cipher
        self.clock = clock
        self.programs = ProgramSource(database, program or preset("default", settings.timezone))
        self.limiter = RateLimiter(settings.redis_url)

    @property
    def token_secret(self) -> bytes:
        """Signs staff login tokens; derived from the data key, so every API process agrees."""
        return self.cipher.derive("dinecard staff tokens")

    @property
    def program(self) -> Program:
        """The programme in force now."""
        return self.programs.at(self.clock.now())

    @classmethod
    def from_settings(cls, settings: Settings) -> Container:
        database = Database(settings.resolved_database_url(), settings.db_pool_size, settings.db_pool_overflow)
        keys = load_or_create_keys(settings.data_key, settings.data_dir / "data.key")
        clock: Clock = FixedClock(settings.now) if settings.now is not None else SystemClock()
        return cls(settings=settings, database=database, cipher=PersonalDataCipher(*keys), clock=clock)
