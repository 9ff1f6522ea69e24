"""Validation messages in the caller's language, for the console's forms.

Pydantic reports what is wrong as an error `type` with its `ctx` (limits, lengths, choices);
our own validators raise `ValueError` with an English sentence. Here both become words in
Simplified Chinese or English: the types from the table below, our sentences from a table keyed
by the English text (patterns where a sentence names a level, a campaign or a field). The
domain stays free of web words; a sentence not in the table is shown as it was written.

Some of our sentences are raised on a whole list (the levels) or a whole section (the recharge
rules) but are about one field of one item ("level 'gold': min_recharge must be higher..."):
they are moved to that field, so a form shows them next to the input they are about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic_core import ErrorDetails

from dinecard.shared.errors import CATALOG

_NUMBER = ("请填写数字", "Enter a number")
_WHOLE = ("请填写整数", "Enter a whole number")
_DATE = ("请填写日期，如 2026-03-01", "Enter a date, e.g. 2026-03-01")
_MOMENT = ("请填写日期和时间，如 2026-03-01 12:00", "Enter a date and a time, e.g. 2026-03-01 12:00")
_CHOICE = ("请从 {expected} 中选择", "Choose one of {expected}")
_YES_NO = ("请选择是或否", "Choose yes or no")
_LIST = ("请填写一组值", "Give a list of values")
_SHAPE = ("格式不正确", "Not in the expected form")

# Pydantic's error types: (中文, English), formatted with the error's ctx.
TYPES: dict[str, tuple[str, str]] = {
    "missing": ("必填", "Required"),
    "greater_than": ("必须大于 {gt}", "Must be greater than {gt}"),
    "greater_than_equal": ("不能小于 {ge}", "Must be at least {ge}"),
    "less_than": ("必须小于 {lt}", "Must be less than {lt}"),
    "less_than_equal": ("不能大于 {le}", "Must be at most {le}"),
    "multiple_of": ("必须是 {multiple_of} 的倍数", "Must be a multiple of {multiple_of}"),
    "int_parsing": _WHOLE,
    "int_type": _WHOLE,
    "int_from_float": ("请填写整数，不带小数", "Enter a whole number, without decimals"),
    "int_parsing_size": ("数字太大", "The number is too large"),
    "decimal_parsing": _NUMBER,
    "decimal_type": _NUMBER,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": _NUMBER,
    "decimal_max_digits": ("最多 {max_digits} 位数字", "At most {max_digits} digits"),
    "decimal_max_places": ("最多 {decimal_places} 位小数", "At most {decimal_places} decimal places"),
    "decimal_whole_digits": ("整数部分最多 {whole_digits} 位", "At most {whole_digits} digits before the point"),
    "string_type": ("请填写文字", "Enter text"),
    "string_too_short": ("至少 {min_length} 个字", "At least {min_length} characters"),
    "string_too_long": ("最多 {max_length} 个字", "At most {max_length} characters"),
    "string_pattern_mismatch": _SHAPE,
    "too_short": ("至少需要 {min_length} 项", "At least {min_length} item(s)"),
    "too_long": ("最多 {max_length} 项", "At most {max_length} item(s)"),
    "enum": _CHOICE,
    "literal_error": _CHOICE,
    "bool_parsing": _YES_NO,
    "bool_type": _YES_NO,
    "date_parsing": _DATE,
    "date_type": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "datetime_parsing": _MOMENT,
    "datetime_type": _MOMENT,
    "datetime_from_date_parsing": _MOMENT,
    "datetime_object_invalid": _MOMENT,
    "timezone_aware": ("请带时区，如 +08:00", "Give a time zone offset, e.g. +08:00"),
    "extra_forbidden": ("不是此表单的字段", "Not a field of this form"),
    "list_type": _LIST,
    "tuple_type": _LIST,
    "set_type": _LIST,
    "frozen_set_type": _LIST,
    "dict_type": _SHAPE,
    "model_type": _SHAPE,
    "model_attributes_type": _SHAPE,
}

# Patterns of codes, in words (a regex means nothing to a restaurant's head office).
PATTERNS: dict[str, tuple[str, str]] = {
    r"^[a-z0-9_-]+$": (
        "只能使用小写字母、数字、下划线和连字符",
        "Only lower-case letters, digits, underscores and hyphens",
    ),
    r"^[a-z0-9_]+$": ("只能使用小写字母、数字和下划线", "Only lower-case letters, digits and underscores"),
}

# Words our sentences name (fields, kinds), for the Chinese sentence.
WORDS: dict[str, str] = {
    "min_recharge": "累计充值门槛",
    "min_consume": "累计消费门槛",
    "value": "面额",
    "threshold": "使用门槛",
    "rate": "支付比例",
    "cap": "最高优惠",
    "dish_ids": "菜品编号",
    "name": "名称",
    "points_price": "所需积分",
    "cancel_window_hours": "可取消时限",
    "active": "启用",
    "cash": "无门槛",
    "threshold_cash": "满减",
    "percent": "折扣",
    "dish": "菜品",
    "free_meal": "免单",
    "coupon": "优惠券",
    "merchandise": "实物",
}

_WORDED = ("field", "kind")  # the parts of a sentence said in words (codes stay as they are)

# Where a sentence raised on a list or a section belongs: the sub-path under the error's place,
# found from the sentence's parts and the input the validator saw (None: it stays where it is).
Locate = Callable[[Mapping[str, str], Any], str | None]


def _index_of(items: Any, code: str) -> int | None:
    if isinstance(items, list | tuple):
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and item.get("code") == code:
                return index
    return None


def _item(field: str, within: str = "", code: str = "code") -> Locate:
    """The item whose code the sentence names, in the list (or the section's `within` list)."""

    def locate(parts: Mapping[str, str], given: Any) -> str | None:
        items = given.get(within) if within and isinstance(given, Mapping) else given
        index = _index_of(items, parts[code])
        if index is None:
            return None
        return ".".join(part for part in (within, str(index), parts.get(field, field)) if part)

    return locate


def _entry_threshold(_parts: Mapping[str, str], given: Any) -> str:
    first = given[0] if isinstance(given, list | tuple) and given else {}
    has_consume = isinstance(first, Mapping) and first.get("min_consume") not in (None, "")
    has_recharge = isinstance(first, Mapping) and first.get("min_recharge") not in (None, "")
    return "0.min_consume" if has_consume and not has_recharge else "0.min_recharge"


def _at(path: str) -> Locate:
    return lambda _parts, _given: path


@dataclass(frozen=True)
class Ours:
    """One of our validators' sentences: the English as raised, the Chinese, and where it belongs."""

    english: re.Pattern[str]
    zh: str
    locate: Locate | None = None


def _ours(english: str, zh: str, locate: Locate | None = None) -> Ours:
    return Ours(re.compile(english), zh, locate)


_Q = r"'(?P<{}>[^']*)'"  # a quoted code, as the validators write it with !r

OURS: tuple[Ours, ...] = (
    # dinecard.program.domain
    _ours(
        r"give a time zone offset, e\.g\. 2026-12-01T00:00:00\+08:00",
        "请带时区偏移，如 2026-12-01T00:00:00+08:00",
    ),
    _ours(r"ends_at must be after starts_at", "结束时间必须晚于开始时间"),
    _ours(r"tier amounts must strictly increase", "各档充值金额必须逐档递增"),
    _ours(r"tier amounts must be positive", "充值金额必须大于零"),
    _ours(r"campaign codes must be unique", "活动编码不能重复"),
    _ours(
        rf"campaigns {_Q.format('first')} and {_Q.format('code')} overlap in time and stores; "
        r"give them separate windows or separate stores",
        "活动 {first} 与 {code} 的时间和门店有重叠：请错开时间或门店",
        _item("starts_at", within="campaigns"),
    ),
    _ours(r"a new_member multiplier needs days", "新会员积分倍率需要填写天数", _at("days")),
    _ours(r"a window multiplier needs starts_at and ends_at", "限时积分倍率需要开始时间和结束时间", _at("starts_at")),
    _ours(rf"unknown time zone {_Q.format('zone')}", "未知时区 {zone}"),
    _ours(r"unknown store (?P<store>\S+)", "未知门店 {store}"),
    _ours(r"at least one level \(the entry level\) is needed", "至少需要一个等级（入门等级）"),
    _ours(
        r"the first level is the entry level: it has no threshold",
        "第一个等级是入门等级，不设门槛",
        _entry_threshold,
    ),
    _ours(r"level codes must be unique", "等级编码不能重复"),
    _ours(
        rf"level {_Q.format('code')}: (?P<field>min_recharge|min_consume) must be higher than the level below",
        "等级 {code} 的{field}必须高于前一个等级",
        _item("field"),
    ),
    _ours(
        rf"level {_Q.format('code')} needs min_recharge or min_consume",
        "等级 {code} 需要累计充值门槛或累计消费门槛",
        _item("min_recharge"),
    ),
    _ours(
        r"a member_day multiplier needs the member_day section",
        "会员日积分倍率需要先设置会员日",
        _at("member_day"),
    ),
    _ours(
        r"the entry level cannot be bought: set points_price on a higher level",
        "入门等级不能用积分购买：请在更高的等级设置所需积分",
        _at("levels.0.points_price"),
    ),
    # dinecard.coupons.domain
    _ours(
        r"give either valid_until \(fixed dates\) or days \(relative to issue\)",
        "请填写截止日期（固定日期）或有效天数（自发放起）之一",
    ),
    _ours(r"delay_days applies only to relative validity", "延迟生效天数只适用于按天数计算的有效期"),
    _ours(r"valid_until must be after valid_from", "截止日期必须晚于起始日期"),
    _ours(r"a (?P<kind>\w+) coupon needs (?P<field>\w+)", "{kind}券需要填写{field}"),
    _ours(r"(?P<field>\w+) does not apply to a (?P<kind>\w+) coupon", "{kind}券不适用{field}"),
    _ours(r"value must be greater than zero", "面额必须大于零"),
    _ours(r"threshold must be at least the value", "使用门槛不能低于面额"),
    _ours(
        r"rate is the share paid: above 0 and below 1 \(0\.88 = 12 % off\)",
        "支付比例须大于 0 且小于 1（0.88 即 8.8 折）",
    ),
    _ours(r"dish_ids needs at least one dish", "至少需要一个菜品编号"),
    # dinecard.mall
    _ours(
        r"a merchandise reward issues no coupon: leave coupon_template_code out",
        "实物奖品不发券：请不要填写优惠券模板",
    ),
    _ours(
        r"a (?P<kind>\w+) reward needs coupon_template_code \(the coupon the member receives\)",
        "{kind}奖品需要填写优惠券模板（会员得到的券）",
    ),
    _ours(
        r"a dish reward needs a dish-voucher template, not a (?P<kind>\w+) one",
        "菜品奖品需要菜品券模板，而不是{kind}券模板",
    ),
    _ours(r"(?P<count>\d+) are already redeemed: stock cannot be lower", "已兑换 {count} 件：库存不能低于此数"),
    _ours(r"(?P<field>\w+) cannot be null", "{field}不能为空"),
    # dinecard.stamps, dinecard.lottery
    _ours(r"give dish_ids or categories: what earns a stamp", "请填写菜品编号或菜品分类：集点的依据"),
    _ours(r"a seed is an even number of hex digits, 2 to 64", "种子须为 2 到 64 位、偶数位的十六进制数字"),
    _ours(r"candidate codes must be unique", "候选编码不能重复"),
    _ours(r"candidate weights must be at least 1", "候选权重至少为 1"),
    # dinecard.lottery, dinecard.mall, dinecard.coupons (service refusals by field)
    _ours(r"a draw costs at least 1 point", "每次抽奖至少消耗 1 积分"),
    _ours(r"a lottery needs at least one prize", "抽奖至少需要一个奖品"),
    _ours(r"at least 1 draw a day", "每天至少可抽 1 次"),
    _ours(r"prize code (?P<code>\S+) appears twice", "奖品编码 {code} 重复"),
    _ours(r"(?P<count>\d+) are already given; the stock cannot be lower", "已送出 {count} 份：库存不能低于此数"),
    _ours(r"weight is a whole number from 1 to (?P<most>\d+)", "权重须为 1 到 {most} 的整数"),
    _ours(r"a coupon prize needs a coupon template", "优惠券奖品需要选择优惠券模板"),
    _ours(r"a (?P<kind>\w+) prize has no coupon template", "此类奖品（{kind}）不需要优惠券模板"),
    _ours(r"a points prize gives more than 0 points", "积分奖品的积分须大于 0"),
    _ours(r"a (?P<kind>\w+) prize gives no points", "此类奖品（{kind}）不赠送积分"),
    _ours(r"unknown level codes: (?P<codes>.+)", "未知的等级编码：{codes}"),
    _ours(r"(?P<count>\d+) are already issued", "已发放 {count} 张：库存不能低于此数"),
)


def _our_sentence(item: ErrorDetails) -> str:
    """The English sentence a validator raised (ValueError or assert), without Pydantic's prefix."""
    raised = (item.get("ctx") or {}).get("error")
    text = str(raised) if raised is not None else str(item["msg"])
    return text.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _match_ours(sentence: str) -> tuple[Ours, re.Match[str]] | None:
    for ours in OURS:
        found = ours.english.fullmatch(sentence)
        if found is not None:
            return ours, found
    return None


def _choices(expected: str, locale: str) -> str:
    return expected.replace(" or ", " 或 ").replace(", ", "、") if locale == "zh" else expected


def message(item: ErrorDetails, locale: str) -> str:
    """One error in words of `locale` ("zh" or "en")."""
    kind = item["type"]
    english = locale != "zh"
    if kind in ("value_error", "assertion_error"):
        sentence = _our_sentence(item)
        found = None if english else _match_ours(sentence)
        if found is None:
            return sentence
        ours, parts = found
        named = parts.groupdict()
        return ours.zh.format(**{name: WORDS.get(v, v) if name in _WORDED else v for name, v in named.items()})
    if item.get("input") == "":  # an emptied field: whatever it should have held, it is needed
        return "Required" if english else "必填"
    if kind in CATALOG.kinds:  # our own PydanticCustomError types (amount_invalid, phone_invalid, ...)
        error_kind = CATALOG.kinds[kind]
        return error_kind.message_en if english else error_kind.message_zh
    ctx = dict(item.get("ctx") or {})
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERNS:
        return PATTERNS[ctx["pattern"]][english]
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "Must not be empty" if english else "不能为空"
    words = TYPES.get(kind)
    if words is None:
        return str(item["msg"])
    values = {name: str(value) for name, value in ctx.items()}
    if "expected" in values:
        values["expected"] = _choices(values["expected"], locale)
    try:
        return words[english].format(**values)
    except (KeyError, IndexError):  # a ctx without the value the words name: Pydantic's own message
        return str(item["msg"])


def location(item: ErrorDetails) -> str:
    """The dotted path the error is about (moved to the field one of our sentences names)."""
    path = ".".join(str(part) for part in item["loc"])
    if item["type"] not in ("value_error", "assertion_error"):
        return path
    found = _match_ours(_our_sentence(item))
    if found is None or found[0].locate is None:
        return path
    ours, parts = found
    assert ours.locate is not None
    below = ours.locate(parts.groupdict(), item.get("input"))
    return ".".join(part for part in (path, below) if part) if below else path


def by_field(errors: Iterable[ErrorDetails], locale: str) -> dict[str, str]:
    """Each message by its field (a whole-model error under ""); the first one where there are several."""
    found: dict[str, str] = {}
    for item in errors:
        found.setdefault(location(item), message(item, locale))
    return found
