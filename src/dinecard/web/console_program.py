"""The programme in the console: an overview of what is in force, part by part, and the versions.

Each part is edited on its own screen (console_program_tiers, _campaigns, _levels, _points,
_member_day); every save is a new version through the API's path (console_program_base).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from dinecard.program import service
from dinecard.web import (
    console_program_campaigns,
    console_program_levels,
    console_program_member_day,
    console_program_points,
    console_program_tiers,
)
from dinecard.web.console_common import container_of
from dinecard.web.console_program_base import program_page, stores_of
from dinecard.web.i18n import register

router = APIRouter()

register(
    {
        "program.level_name": ("等级", "Level"),
        "program.min_recharge": ("累计充值门槛", "Recharge threshold"),
        "program.min_consume": ("累计消费门槛", "Consumption threshold"),
        "program.discount": ("折扣", "Discount"),
        "program.multiplier": ("积分倍率", "Points multiplier"),
        "program.earn_per_yuan": ("每消费 1 元得积分", "Points per yuan spent"),
        "program.redeem": ("积分抵现", "Redemption"),
        "program.redeem_text": (
            "{points} 积分抵 1 元，最多抵账单的 {share}",
            "{points} points = ¥1, up to {share} of a bill",
        ),
        "program.expiry": ("积分有效期", "Points expiry"),
        "program.member_day_text": ("每月 {day} 日", "Day {day} of each month"),
        "program.campaign_period": ("活动时间", "Period"),
        "program.campaign_offer": (
            "满 {amount} 额外赠 {bonus}、{points} 积分",
            "From {amount}: {bonus} and {points} points extra",
        ),
        "program.versions": ("历史版本", "Versions"),
        "program.version": ("版本", "Version"),
        "program.effective_at": ("生效时间", "In force from"),
        "program.created_by": ("修改人", "By"),
    }
)


@router.get("/program")
def show(request: Request) -> Response:
    container = container_of(request)
    return program_page(
        request,
        "console/program.html",
        "",
        versions=service.list_versions(container.database),
        store_names=dict(stores_of(container)),
    )


for _part in (
    console_program_tiers,
    console_program_campaigns,
    console_program_levels,
    console_program_points,
    console_program_member_day,
):
    router.include_router(_part.router)
