"""Points mall and buying a level with points."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["points mall"])
