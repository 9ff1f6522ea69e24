"""Ready-made programmes: the article's defaults and its two case studies (section 7)."""

from __future__ import annotations

from typing import Any

from dinecard.program.domain import Program

_DEFAULT_LEVELS: list[dict[str, Any]] = [
    {"code": "normal", "name": "普通会员", "name_en": "Member"},
    {
        "code": "silver",
        "name": "银卡会员",
        "name_en": "Silver",
        "min_recharge": "500",
        "discount": "0.95",
        "multiplier": "1.2",
        "birthday_gift_points": 200,
        "benefits": ["birthday_gift", "priority_queue"],
    },
    {
        "code": "gold",
        "name": "金卡会员",
        "name_en": "Gold",
        "min_recharge": "1000",
        "discount": "0.90",
        "multiplier": "1.5",
        "birthday_gift_points": 500,
        "upgrade_gift_coupons": ["UPGRADE_GOLD_30"],
        "benefits": ["birthday_gift", "priority_queue", "exclusive_dishes", "monthly_free_meal"],
    },
    {
        "code": "diamond",
        "name": "钻石会员",
        "name_en": "Diamond",
        "min_recharge": "2000",
        "discount": "0.85",
        "multiplier": "2",
        "birthday_gift_points": 1000,
        "upgrade_gift_coupons": ["UPGRADE_DIAMOND_FREE_MEAL"],
        "benefits": [
            "birthday_gift",
            "priority_queue",
            "exclusive_dishes",
            "monthly_free_meal",
            "private_room",
            "manager_reception",
        ],
    },
]

SOUP_BASES = ["soup_spicy", "soup_tomato", "soup_mushroom", "soup_bone"]

# Coupon templates the presets give as gifts: created the first time a programme names them,
# so a preset works on a fresh database (coupons.service.ensure_preset_template).
PRESET_COUPON_TEMPLATES: dict[str, dict[str, Any]] = {
    "UPGRADE_GOLD_30": {
        "name": "金卡升级礼：满100减30",
        "name_en": "Gold welcome: 30 off a bill of 100",
        "kind": "threshold_cash",
        "value": "30",
        "threshold": "100",
        "validity": {"days": 60},
    },
    "UPGRADE_DIAMOND_FREE_MEAL": {
        "name": "钻石升级礼：免单券（最高200元）",
        "name_en": "Diamond welcome: a free meal up to 200",
        "kind": "free_meal",
        "cap": "200",
        "validity": {"days": 90},
        "stacking": "exclusive",
    },
    "HOTPOT_BIRTHDAY_50": {
        "name": "生日礼：50元代金券",
        "name_en": "Birthday: a 50 yuan voucher",
        "kind": "cash",
        "value": "50",
        "validity": {"days": 30},
    },
}

DEFAULT: dict[str, Any] = {
    "name": "default",
    "recharge": {
        "tiers": [
            {"amount": "200", "bonus": "20", "points": 100},
            {"amount": "500", "bonus": "80", "points": 300},
            {"amount": "1000", "bonus": "200", "points": 800},
            {"amount": "2000", "bonus": "500", "points": 2000},
        ],
    },
    "points": {"multipliers": [{"code": "birthday_month", "kind": "birthday_month", "multiplier": "2"}]},
    "levels": _DEFAULT_LEVELS,
}

HOTPOT: dict[str, Any] = {
    "name": "hotpot",
    "recharge": {
        "tiers": [
            {"amount": "500", "bonus": "100", "points": 0},
            {"amount": "1000", "bonus": "300", "points": 0},
            {"amount": "2000", "bonus": "800", "points": 0},
        ],
    },
    "points": {
        "earn_per_yuan": "1",
        "multipliers": [{"code": "member_day", "kind": "member_day", "multiplier": "2"}],
        "redemption": {"points_per_yuan": 100},
    },
    "levels": [
        {"code": "normal", "name": "普通会员", "name_en": "Member", "birthday_gift_coupons": ["HOTPOT_BIRTHDAY_50"]},
        {
            "code": "silver",
            "name": "银卡会员",
            "name_en": "Silver",
            "min_recharge": "500",
            "discount": "0.95",
            "birthday_gift_coupons": ["HOTPOT_BIRTHDAY_50"],
        },
        {
            "code": "gold",
            "name": "金卡会员",
            "name_en": "Gold",
            "min_recharge": "1000",
            "discount": "0.90",
            "birthday_gift_coupons": ["HOTPOT_BIRTHDAY_50"],
        },
        {
            "code": "diamond",
            "name": "钻石会员",
            "name_en": "Diamond",
            "min_recharge": "2000",
            "discount": "0.85",
            "birthday_gift_coupons": ["HOTPOT_BIRTHDAY_50"],
            "benefits": ["private_room"],
        },
    ],
    "member_day": {"day_of_month": 18, "dish_discounts": [{"dish_ids": SOUP_BASES, "rate": "0.5"}]},
    "birthday": {"dish_discounts": [{"dish_ids": SOUP_BASES, "rate": "0"}]},
}

TEA: dict[str, Any] = {
    "name": "tea",
    "recharge": {
        "tiers": [
            {"amount": "100", "bonus": "10", "points": 100},
            {"amount": "300", "bonus": "40", "points": 300},
            {"amount": "500", "bonus": "80", "points": 500},
        ],
    },
    "points": {
        "earn_per_yuan": "1",
        "spend_bonuses": [
            {
                "code": "winter_warmth",
                "min_spend": "50",
                "points": 50,
                "starts_at": "2026-12-01T00:00:00+08:00",
                "ends_at": "2027-03-01T00:00:00+08:00",
            },
        ],
    },
    "levels": [
        {"code": "normal", "name": "普通会员", "name_en": "Member"},
        {
            "code": "silver",
            "name": "银卡会员",
            "name_en": "Silver",
            "min_consume": "300",
            "discount": "0.95",
            "multiplier": "1.2",
        },
        {
            "code": "gold",
            "name": "金卡会员",
            "name_en": "Gold",
            "min_consume": "1000",
            "discount": "0.90",
            "multiplier": "1.5",
        },
    ],
}

PRESETS: dict[str, dict[str, Any]] = {"default": DEFAULT, "hotpot": HOTPOT, "tea": TEA}


def preset(name: str, timezone: str = "Asia/Shanghai") -> Program:
    document = dict(PRESETS[name])
    document["business_timezone"] = timezone
    return Program.model_validate(document)


def default_program() -> Program:
    """The seed article's section 3 numbers."""
    return preset("default")
