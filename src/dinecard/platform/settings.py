"""Deployment settings from the environment (DINECARD_*) or a .env file, with embedded defaults."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="json: one JSON object a line; text: for people; auto: text on a terminal, else json",
    )
    # Risk rules (R-SEC-4): each pattern raises one risk event for HQ to review.
    risk_small_recharges: int = Field(default=5, ge=2, description="This many small recharges of one member ...")
    risk_small_recharge_window_minutes: int = Field(default=10, ge=1, le=1440, description="... within this window")
    risk_small_recharge_below_yuan: str = Field(default="50", description="A recharge below this amount is small")
    risk_refunds_per_actor_per_hour_max: int = Field(default=5, ge=1, description="More refunds by one cashier or key")
    risk_refunds_per_member_per_day_max: int = Field(default=3, ge=1, description="More refunds of one member a day")
    risk_points_swing_max: int = Field(default=5000, ge=1, description="More points moved in one operation")
    risk_night_start_hour: int = Field(default=2, ge=0, le=23, description="Operations from this business hour ...")
    risk_night_end_hour: int = Field(default=5, ge=0, le=24, description="... until this one are odd-hours activity")
    risk_scan_lookback_minutes: int = Field(default=60, ge=1, le=1440, description="What the frequent risk scan reads")
    embedded_worker: bool | None = Field(
        default=None,
        description="Run the jobs and the outbox dispatcher inside the API process; "
        "unset: `dinecard serve` and `quickstart` turn it on for SQLite",
    )
    worker_interval_seconds: float = Field(default=5.0, gt=0, le=3600, description="Pause between worker iterations")
    # Limits (R-RCH-8, R-CMP-1, R-SEC-4); amounts are yuan strings.
    api_rate_limit: str = Field(default="6000/minute", description="Requests per API key or staff login")
    login_rate_limit: str = Field(default="5/15 minutes", description="Failed logins per username (and 4× per IP)")
    limit_recharges_per_phone_per_hour: int = Field(default=3, ge=1)
    limit_recharge_max_yuan: str = Field(default="5000", description="Largest single recharge")
    limit_daily_recharge_yuan: str = Field(default="10000", description="Most a member may recharge per business day")
    limit_balance_cap_yuan: str | None = Field(default=None, description="Most principal+bonus a card may hold")
    approval_threshold_yuan: str = Field(
        default="500", description="Refunds and adjustments above this need a store manager's approval"
    )

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
