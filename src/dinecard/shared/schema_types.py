"""API field types shared by every business area: yuan amounts as strings, never floats."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from dinecard.shared.errors import AMOUNT_INVALID
from dinecard.shared.money import InvalidAmount, Money

# No single operation moves more than this; it keeps points (int columns) far from overflow.
MAX_AMOUNT = Money(100_000_000)  # 1,000,000.00 yuan


def _parse_money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    # A float has already lost exactness; ask for a string instead of guessing.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        try:
            amount = Money.parse_yuan(value)
        except InvalidAmount:
            pass
        else:
            if amount <= MAX_AMOUNT:
                return amount
    raise PydanticCustomError(AMOUNT_INVALID.code, AMOUNT_INVALID.message_en)


YuanAmount = Annotated[
    Money,
    PlainValidator(_parse_money),
    PlainSerializer(lambda money: money.yuan(), return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d+(\.\d{1,2})?$",
            "examples": ["500.00"],
            "description": "Yuan, at most two decimals, at most 1000000.00",
        }
    ),
]


# Changes in histories can be negative; this type is for responses only.
SignedYuanAmount = Annotated[
    Money,
    PlainValidator(lambda value: value if isinstance(value, Money) else Money.parse_yuan(str(value))),
    PlainSerializer(lambda money: money.yuan(), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["-95.00"]}),
]


def _parse_signed_money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, str) and value.strip().startswith("-"):
        return -_parse_money(value.strip()[1:])
    return _parse_money(value)


# Corrections may take money away; this input type accepts a leading minus.
SignedYuanInput = Annotated[
    Money,
    PlainValidator(_parse_signed_money),
    PlainSerializer(lambda money: money.yuan(), return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "examples": ["-20.00"]}),
]
