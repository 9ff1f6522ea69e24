"""docs/rewards.md stays true: its refusal table speaks the catalogue's words, and every endpoint
it names exists."""

from __future__ import annotations

import re
from pathlib import Path

from dinecard.platform.api import create_app
from dinecard.platform.container import Container
from dinecard.shared.errors import CATALOG

DOC = Path(__file__).resolve().parents[2] / "docs" / "rewards.md"


def _section(number: int) -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index(f"\n## {number}. ") : text.index(f"\n## {number + 1}. ")]


def _template(path: str) -> str:
    """/members/{id}/stamps and /members/{member_id}/stamps are the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_every_refusal_in_the_table_has_the_catalogues_code_and_chinese_message() -> None:
    rows = [row for row in re.findall(r"^\| `([a-z_]+)` \| ([^|]+) \|", _section(5), re.M) if row[0] != "code"]

    assert len(rows) >= 14
    assert {code: zh.strip() for code, zh in rows} == {code: CATALOG.kinds[code].message_zh for code, _ in rows}


def test_every_endpoint_the_guide_names_exists(container: Container) -> None:
    found = re.findall(
        r"`((?:GET|POST|PUT|PATCH)(?:/(?:GET|POST|PUT|PATCH))*) (/api/v1/[^ `?]+)", DOC.read_text("utf-8")
    )
    named = {(method, _template(path)) for methods, path in found for method in methods.split("/")}
    routes = {
        (method.upper(), _template(path))
        for path, operations in create_app(container).openapi()["paths"].items()
        for method in operations
    }

    assert len(named) >= 15
    assert {(method, path) for method, path in named if (method, path) not in routes} == set()
