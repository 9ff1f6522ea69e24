"""The member's own page (会员中心), phone-sized."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/me", include_in_schema=False)
