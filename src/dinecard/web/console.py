"""The head office console (总部后台): each screen lives in its own console_*.py module."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dinecard.web import (
    console_catalog,
    console_dashboard,
    console_lottery,
    console_mall,
    console_members,
    console_org,
    console_program,
    console_risk,
)
from dinecard.web.console_common import CONSOLE_ROLES, use_caller_locale
from dinecard.web.i18n import register

# Every console page speaks the caller's language, also in messages made without the request.
router = APIRouter(prefix="/console", include_in_schema=False, dependencies=[Depends(use_caller_locale)])

__all__ = ["CONSOLE_ROLES", "router"]

register(
    {
        "console.title": ("总部后台", "HQ console"),
        "console.nav.home": ("概览", "Overview"),
        "console.nav.members": ("会员", "Members"),
        "console.nav.program": ("会员方案", "Programme"),
        "console.nav.coupons": ("优惠券", "Coupons"),
        "console.nav.menu": ("菜品", "Menu"),
        "console.nav.rewards": ("积分商城与抽奖", "Mall and lottery"),
        "console.nav.audit": ("审计日志", "Audit log"),
        "console.saved": ("已保存", "Saved"),
    }
)

# The front page is at the prefix itself, which an included router cannot have ("" path).
router.add_api_route("", console_dashboard.console_home, methods=["GET"])
for _screen in (
    console_members,
    console_program,
    console_catalog,
    console_mall,
    console_lottery,
    console_org,
    console_risk,
):
    router.include_router(_screen.router)
