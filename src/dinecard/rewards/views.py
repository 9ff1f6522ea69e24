"""A member's rewards history."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["rewards"])
