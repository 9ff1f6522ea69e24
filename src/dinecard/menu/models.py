"""The menu: dishes the tills sell."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, UtcDateTime


class Dish(Base):
    __tablename__ = "dishes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the chain's own dish code, e.g. D001
    name: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str | None] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(40), index=True)
    price_fen: Mapped[int] = mapped_column(BigInteger)
    stores: Mapped[list[str] | None] = mapped_column(JSON)  # None: sold at every store
    exclusive_levels: Mapped[list[str] | None] = mapped_column(JSON)  # None: any member may order it
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
