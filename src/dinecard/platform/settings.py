"""Deployment settings from the environment (DINECARD_*) or a .env file, with embedded defaults."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DINECARD_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where the embedded database and key file live")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite in data_dir")
    data_key: str | None = Field(
        default=None, description="Base64 key(s) for personal data; default: generated key file in data_dir"
    )
    redis_url: str | None = None
    timezone: str = "Asia/Shanghai"
    now: datetime | None = Field(default=None, description="Pin the clock (demo and acceptance checks)")
    db_pool_size: int = 10
    db_pool_overflow: int = 20
    log_level: str = "INFO"
    embedded_worker: bool | None = Field(
        default=None,
        description="Run the jobs and the outbox dispatcher inside the API process; "
        "unset: `dinecard serve` and `quickstart` turn it on for SQLite",
    )
    worker_interval_seconds: float = Field(default=5.0, gt=0, le=3600, description="Pause between worker iterations")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalize_database_url(self.database_url)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'dinecard.db').resolve()}"

    def worker_in_server(self) -> bool:
        """Whether `dinecard serve` should run the worker in the API process (embedded SQLite by default)."""
        if self.embedded_worker is not None:
            return self.embedded_worker
        return self.resolved_database_url().startswith("sqlite")


def normalize_database_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
