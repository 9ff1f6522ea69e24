"""The console's validation messages in the caller's language: Pydantic's error types with their
limits, and our validators' own English sentences, in Chinese (and English); messages about one
item of a list are moved to that item's field."""

from __future__ import annotations

import ast
import copy
import itertools
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from dinecard.program.domain import Program
from dinecard.program.presets import default_program
from dinecard.shared.schema_types import YuanAmount
from dinecard.web import console_common, form_messages
from dinecard.web.console_common import field_errors

SOURCE = Path(console_common.__file__).resolve().parents[1]  # src/dinecard
# ValueErrors that are not validation messages of a body model (a job's guard).
NOT_VALIDATORS = {"platform/jobs.py"}


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Body(BaseModel):
    count: int = Field(default=1, ge=1, le=28)
    share: Decimal = Field(default=Decimal("0.5"), gt=0, lt=1, max_digits=4, decimal_places=2)
    name: str = Field(default="ab", min_length=2, max_length=5)
    code: str = Field(default="x", pattern=r"^[a-z0-9_-]+$")
    tags: list[str] = Field(default=["a"], min_length=1, max_length=2)
    colour: Colour = Colour.RED
    mode: Literal["a", "b"] = "a"
    day: date = date(2026, 3, 1)
    at: datetime = datetime(2026, 3, 1)
    flag: bool = True
    amount: YuanAmount | None = None
    needed: int


def _errors(model: type[BaseModel], data: dict[str, Any], locale: str) -> dict[str, str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return field_errors(refused.value, locale)


@pytest.mark.parametrize(
    ("field", "value", "zh", "en"),
    [
        ("needed", None, "必填", "Required"),
        ("count", "0", "不能小于 1", "Must be at least 1"),
        ("count", "32", "不能大于 28", "Must be at most 28"),
        ("count", "三", "请填写整数", "Enter a whole number"),
        ("count", "", "必填", "Required"),
        ("share", "0", "必须大于 0", "Must be greater than 0"),
        ("share", "1.5", "必须小于 1", "Must be less than 1"),
        ("share", "abc", "请填写数字", "Enter a number"),
        ("share", "0.125", "最多 2 位小数", "At most 2 decimal places"),
        ("name", "a", "至少 2 个字", "At least 2 characters"),
        ("name", "abcdef", "最多 5 个字", "At most 5 characters"),
        (
            "code",
            "Spring!",
            "只能使用小写字母、数字、下划线和连字符",
            "Only lower-case letters, digits, underscores and hyphens",
        ),
        ("tags", [], "至少需要 1 项", "At least 1 item(s)"),
        ("tags", ["a", "b", "c"], "最多 2 项", "At most 2 item(s)"),
        ("colour", "green", "请从 'red' 或 'blue' 中选择", "Choose one of 'red' or 'blue'"),
        ("mode", "c", "请从 'a' 或 'b' 中选择", "Choose one of 'a' or 'b'"),
        ("day", "2026-13-01", "请填写日期，如 2026-03-01", "Enter a date, e.g. 2026-03-01"),
        ("at", "yesterday", "请填写日期和时间，如 2026-03-01 12:00", "Enter a date and a time, e.g. 2026-03-01 12:00"),
        ("flag", "maybe", "请选择是或否", "Choose yes or no"),
        ("amount", "1.005", '金额须为不超过两位小数、不超过 1000000.00 的非负元金额字符串，如 "500.00"', None),
    ],
)
def test_pydantic_types_in_chinese_and_english(field: str, value: Any, zh: str, en: str | None) -> None:
    data: dict[str, Any] = {"needed": 1} | ({} if value is None else {field: value})
    if field == "needed":
        data.pop("needed")
    assert _errors(Body, data, "zh") == {field: zh}
    english = _errors(Body, data, "en")[field]
    assert english == en if en is not None else english.startswith("Amounts are yuan strings")


def _document() -> dict[str, Any]:
    return copy.deepcopy(default_program().model_dump(mode="json"))


def _program_errors(document: dict[str, Any], locale: str = "zh") -> dict[str, str]:
    return _errors(Program, document, locale)


def test_a_threshold_below_the_level_under_it_is_told_next_to_that_levels_field() -> None:
    document = _document()
    document["levels"][2]["min_recharge"] = "400"  # gold below silver's 500
    assert _program_errors(document) == {"levels.2.min_recharge": "等级 gold 的累计充值门槛必须高于前一个等级"}
    assert _program_errors(document, "en") == {
        "levels.2.min_recharge": "level 'gold': min_recharge must be higher than the level below"
    }


def test_sentences_about_one_item_move_to_its_field() -> None:
    document = _document()
    document["levels"][2]["min_recharge"] = None
    assert _program_errors(document) == {"levels.2.min_recharge": "等级 gold 需要累计充值门槛或累计消费门槛"}

    document = _document()
    document["levels"][0]["min_consume"] = "100"
    assert _program_errors(document) == {"levels.0.min_consume": "第一个等级是入门等级，不设门槛"}

    document = _document()
    document["levels"][0]["points_price"] = 100
    assert _program_errors(document) == {"levels.0.points_price": "入门等级不能用积分购买：请在更高的等级设置所需积分"}

    document = _document()
    window = {"min_amount": "500", "starts_at": "2026-03-01T00:00:00+08:00", "ends_at": "2026-04-01T00:00:00+08:00"}
    document["recharge"]["campaigns"] = [{"code": "a", "name": "A", **window}, {"code": "b", "name": "B", **window}]
    assert _program_errors(document) == {
        "recharge.campaigns.1.starts_at": "活动 a 与 b 的时间和门店有重叠：请错开时间或门店"
    }

    document = _document()
    document["points"]["multipliers"].append({"code": "md", "kind": "member_day", "multiplier": "2"})
    assert _program_errors(document) == {"member_day": "会员日积分倍率需要先设置会员日"}


def test_sentences_of_a_list_or_an_item_stay_where_they_are() -> None:
    document = _document()
    document["recharge"]["tiers"][1]["amount"] = "100"
    assert _program_errors(document) == {"recharge.tiers": "各档充值金额必须逐档递增"}

    document = _document()
    later = {"starts_at": "2026-04-01T00:00:00+08:00", "ends_at": "2026-03-01T00:00:00+08:00"}
    document["recharge"]["campaigns"] = [{"code": "a", "name": "A", "min_amount": "500", **later}]
    assert _program_errors(document) == {"recharge.campaigns.0": "结束时间必须晚于开始时间"}
    assert _program_errors(document, "en") == {"recharge.campaigns.0": "ends_at must be after starts_at"}


def test_the_console_request_chooses_the_language_of_build() -> None:
    refused = ValidationError.from_exception_data("Body", [{"type": "missing", "loc": ("needed",), "input": {}}])
    assert field_errors(refused) == {"needed": "必填"}  # no request: Simplified Chinese first
    token = console_common._LOCALE.set("en")
    try:
        assert field_errors(refused) == {"needed": "Required"}
        with pytest.raises(console_common.FormRefused) as form:
            console_common.build(Body, {})
        assert form.value.fields == {"needed": "Required"}
    finally:
        console_common._LOCALE.reset(token)


def test_a_sentence_we_do_not_know_is_shown_as_written() -> None:
    class Odd(BaseModel):
        value: int

        def model_post_init(self, _context: Any) -> None:
            raise ValueError("something new went wrong")

    assert _errors(Odd, {"value": 1}, "zh") == {"": "something new went wrong"}


def _raised_sentences(path: Path) -> list[tuple[int, list[str]]]:
    """Each `raise ValueError(...)` of a module (and each sentence a *_problem function returns):
    the line and the sentences it can say (f-string parts filled with likely values)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
            if isinstance(call.func, ast.Name) and call.func.id == "ValueError" and call.args:
                samples = _samples(call.args[0])
                if samples:
                    found.append((node.lineno, samples))
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    candidates = (
                        [inner.value.body, inner.value.orelse] if isinstance(inner.value, ast.IfExp) else [inner.value]
                    )
                    for candidate in candidates:
                        samples = _samples(candidate)
                        if samples:
                            found.append((inner.lineno, samples))
    return found


def _samples(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.JoinedStr):
        return []
    choices: list[list[str]] = []
    for part in node.values:
        if isinstance(part, ast.Constant):
            choices.append([str(part.value)])
        elif isinstance(part, ast.FormattedValue):
            choices.append(["'gold'"] if part.conversion == ord("r") else ["min_recharge", "7", "cash"])
    return ["".join(parts) for parts in itertools.product(*choices)]


def test_every_sentence_our_validators_raise_has_chinese_words() -> None:
    missing = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith("web/") or relative in NOT_VALIDATORS:
            continue
        for line, samples in _raised_sentences(path):
            if not any(form_messages._match_ours(sample) for sample in samples):
                missing.append(f"{relative}:{line}: {samples[0]}")
    assert missing == [], "add these sentences to dinecard.web.form_messages.OURS"


def test_every_chinese_sentence_fills_its_parts() -> None:
    for ours in form_messages.OURS:
        names = set(ours.english.groupindex)
        assert ours.zh.format(**dict.fromkeys(names, "x")), ours.english.pattern
        assert all("{" + name + "}" in ours.zh for name in names), ours.english.pattern
