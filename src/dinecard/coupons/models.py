"""Coupon templates and the coupons issued from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dinecard.platform.db import Base, BigId, UtcDateTime


class CouponTemplate(Base):
    __tablename__ = "coupon_templates"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str | None] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)  # coupons.domain.TemplateRules
    # Stock is claimed with one conditional UPDATE, so concurrent claims never over-issue.
    stock: Mapped[int | None] = mapped_column(BigInteger)
    issued_count: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (Index("ix_coupons_member_template", "member_id", "template_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    template_code: Mapped[str] = mapped_column(ForeignKey("coupon_templates.code"))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))  # coupons.domain.CouponStatus
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(20))  # staff, upgrade_gift, birthday_gift, mall, lottery, stamp_card
    source_ref: Mapped[str | None] = mapped_column(String(40))
    issued_by: Mapped[str | None] = mapped_column(String(26))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_order_no: Mapped[str | None] = mapped_column(String(32), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_store_id: Mapped[str | None] = mapped_column(String(26))
    discount_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # what it took off when used
    times_restored: Mapped[int] = mapped_column(Integer, default=0)
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(200))
