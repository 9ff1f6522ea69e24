"""Simplified Chinese first, English second: every word on a page comes from here.

Each screen area registers its own messages (key → (中文, English)); a page asks `t(key)` in the
caller's locale, chosen per user with the `dinecard_lang` cookie.
"""

from __future__ import annotations

from collections.abc import Callable

LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
LANG_COOKIE = "dinecard_lang"

_MESSAGES: dict[str, tuple[str, str]] = {}


def register(messages: dict[str, tuple[str, str]]) -> None:
    for key, pair in messages.items():
        assert _MESSAGES.get(key, pair) == pair, f"message {key!r} registered twice with different words"
        _MESSAGES[key] = pair


def translator(locale: str) -> Callable[..., str]:
    index = LOCALES.index(locale) if locale in LOCALES else 0

    def t(key: str, **values: object) -> str:
        pair = _MESSAGES.get(key)
        text = pair[index] if pair else key  # a missing key shows itself: tests catch it
        return text.format(**values) if values else text

    return t


def locale_of(cookie: str | None) -> str:
    return cookie if cookie in LOCALES else DEFAULT_LOCALE


register(
    {
        "app.name": ("DineCard 会员系统", "DineCard"),
        "nav.till": ("收银台", "Till"),
        "nav.console": ("总部后台", "HQ console"),
        "nav.member": ("会员中心", "Member page"),
        "nav.logout": ("退出登录", "Log out"),
        "nav.language": ("English", "中文"),
        "login.title": ("员工登录", "Staff login"),
        "login.username": ("用户名", "Username"),
        "login.password": ("密码", "Password"),
        "login.submit": ("登录", "Log in"),
        "login.failed": ("用户名或密码错误", "Wrong username or password"),
        "login.throttled": ("尝试次数过多，请稍后再试", "Too many attempts; try again later"),
        "common.yuan": ("元", "yuan"),
        "common.points": ("积分", "points"),
        "common.back": ("返回", "Back"),
        "common.save": ("保存", "Save"),
        "common.cancel": ("取消", "Cancel"),
        "common.none": ("无", "None"),
        "error.title": ("操作未完成", "Not done"),
    }
)
