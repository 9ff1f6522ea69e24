"""Programme versions: every change is a new row; nothing is edited in place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, UtcDateTime


class ProgramVersion(Base):
    __tablename__ = "program_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(200))


class CampaignUsage(Base):
    """How much extra bonus a recharge campaign has given, against its budget (locked per use)."""

    __tablename__ = "recharge_campaign_usage"

    campaign_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    bonus_given_fen: Mapped[int] = mapped_column(Integer, default=0)
    uses: Mapped[int] = mapped_column(Integer, default=0)
