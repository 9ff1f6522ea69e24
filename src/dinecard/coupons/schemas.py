"""Coupon API bodies: templates, issued coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dinecard.coupons.domain import TemplateRules
from dinecard.coupons.models import Coupon, CouponTemplate
from dinecard.coupons.service import display_status, template_rules
from dinecard.shared.money import Money
from dinecard.shared.schema_types import YuanAmount

CODE = r"^[A-Za-z0-9_.-]+$"


class TemplateCreate(TemplateRules):
    """A template: its code and names, its stock, and the rules (kind, value, validity, ...)."""

    code: str = Field(min_length=1, max_length=40, pattern=CODE, examples=["CASH20"])
    name: str = Field(min_length=1, max_length=60, examples=["20元无门槛券"])
    name_en: str | None = Field(default=None, max_length=80)
    stock: int | None = Field(default=None, ge=0, le=100_000_000, description="Most that may be issued; omit: no limit")
    active: bool = True

    def rules(self) -> TemplateRules:
        return TemplateRules.model_validate(self.model_dump(include=set(TemplateRules.model_fields)))


class TemplatePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=60)
    name_en: str | None = Field(default=None, max_length=80)
    stock: int | None = Field(default=None, ge=0, le=100_000_000, description="null: no limit")
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        """The fields this patch changes: name and active when given; name_en and stock when sent (null clears)."""
        given = {name: getattr(self, name) for name in ("name", "active") if getattr(self, name) is not None}
        sent = {name: getattr(self, name) for name in ("name_en", "stock") if name in self.model_fields_set}
        return given | sent


class TemplateOut(BaseModel):
    code: str
    name: str
    name_en: str | None
    kind: str
    rules: TemplateRules
    stock: int | None
    issued: int
    left: int | None = Field(description="How many may still be issued; null: no limit")
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, row: CouponTemplate) -> TemplateOut:
        return cls(
            code=row.code,
            name=row.name,
            name_en=row.name_en,
            kind=row.kind,
            rules=template_rules(row),
            stock=row.stock,
            issued=row.issued_count,
            left=None if row.stock is None else row.stock - row.issued_count,
            active=row.active,
            created_at=row.created_at,
        )


class IssueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_code: str = Field(max_length=40)
    count: int = Field(default=1, ge=1, le=100)


class VoidCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=200)


class CouponOut(BaseModel):
    code: str
    member_id: str
    template_code: str
    name: str
    kind: str
    status: str = Field(description="usable, not_yet_valid, expired, used or voided")
    valid_from: datetime
    valid_until: datetime = Field(description="The first instant it no longer works")
    value: YuanAmount | None
    threshold: YuanAmount | None
    rate: str | None
    cap: YuanAmount | None
    dish_ids: list[str] | None
    source: str
    source_ref: str | None
    issued_at: datetime
    used_order_no: str | None
    used_at: datetime | None
    discount: YuanAmount = Field(description="What it took off the bill it was used on")
    times_restored: int

    @classmethod
    def of(cls, row: Coupon, template: CouponTemplate, now: datetime) -> CouponOut:
        rules = template_rules(template)
        return cls(
            code=row.code,
            member_id=row.member_id,
            template_code=row.template_code,
            name=template.name,
            kind=template.kind,
            status=display_status(row, now),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            value=rules.value,
            threshold=rules.threshold,
            rate=str(rules.rate) if rules.rate is not None else None,
            cap=rules.cap,
            dish_ids=sorted(rules.dish_ids) if rules.dish_ids else None,
            source=row.source,
            source_ref=row.source_ref,
            issued_at=row.issued_at,
            used_order_no=row.used_order_no,
            used_at=row.used_at,
            discount=Money(row.discount_fen),
            times_restored=row.times_restored,
        )
