"""Jinja2 for the pages: the templates, and the filters that write money and time the way a
Chinese restaurant reads them (¥ with two decimals, the chain's time zone)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from dinecard.shared.money import Money
from dinecard.web.i18n import LANG_COOKIE, locale_of, translator

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def yuan(value: Money | int | str | None) -> str:
    """¥1,234.56 from Money, fen, or a yuan string of the API."""
    if value is None:
        return "—"
    if isinstance(value, Money):
        fen = value.fen
    elif isinstance(value, int):
        fen = value
    else:
        fen = Money.parse_yuan(value.lstrip("-")).fen * (-1 if value.startswith("-") else 1)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def local_time(moment: datetime | str | None, timezone: str = "Asia/Shanghai", with_date: bool = True) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    local = moment.astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M")


def rate_text(rate: Decimal | str) -> str:
    """0.95 → 9.5折 (how Chinese menus write a discount)."""
    tenths = Decimal(str(rate)) * 10
    return f"{tenths.normalize():f}折" if tenths < 10 else "无折扣"


templates.env.filters["yuan"] = yuan
templates.env.filters["local_time"] = local_time
templates.env.filters["rate_text"] = rate_text


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page in the caller's language, with the signed-in staff member (if any) in reach."""
    from dinecard.web.session import current_staff  # the session reads the app's authenticator

    locale = locale_of(request.cookies.get(LANG_COOKIE))
    timezone = request.app.state.container.program.business_timezone
    if "principal" not in context:
        context["principal"] = current_staff(request)
    context = {"t": translator(locale), "locale": locale, "timezone": timezone, **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)
