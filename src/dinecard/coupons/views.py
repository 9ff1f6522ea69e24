"""Coupon templates and coupons."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["coupons"])
