"""The menu: dishes, prices, availability."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["menu"])
