"""`dinecard menu ...` and `dinecard coupons ...` on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from dinecard.coupons.models import Coupon
from dinecard.platform.container import Container
from dinecard.security.models import AuditEntry
from tests.api.helpers import API, register
from tests.rewards.conftest import Invoke


def _flat(output: str) -> str:
    """Rich tables without their borders, whitespace collapsed: rows read as words."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", output).split())


def test_menu_import_adds_then_changes_dishes_all_or_nothing(
    dinecard: Invoke, client: TestClient, tmp_path: Path
) -> None:
    menu = tmp_path / "menu.json"
    menu.write_text(
        json.dumps(
            [
                {"id": "D001", "name": "招牌毛肚", "category": "涮菜", "price": "68.00"},
                {"id": "D007", "name": "酸梅汤", "category": "饮品", "price": "8.00", "exclusive_levels": ["gold"]},
            ]
        ),
        encoding="utf-8",
    )

    first = dinecard("menu", "import", str(menu))
    menu.write_text(json.dumps([{"id": "D001", "name": "招牌毛肚", "category": "涮菜", "price": "72.00"}]))
    second = dinecard("menu", "import", str(menu))

    assert first.exit_code == 0 and "2 dishes added, 0 changed" in first.output
    assert second.exit_code == 0 and "0 dishes added, 1 changed" in second.output
    dishes = {d["id"]: d for d in client.get(f"{API}/dishes").json()}
    assert dishes["D001"]["price"] == "72.00" and dishes["D007"]["exclusive_levels"] == ["gold"]
    listing = _flat(dinecard("menu", "list").output)
    assert "D001 招牌毛肚 涮菜 72.00 all all yes" in listing


def test_menu_import_refuses_a_bad_file_and_changes_nothing(
    dinecard: Invoke, client: TestClient, tmp_path: Path
) -> None:
    menu = tmp_path / "menu.json"
    menu.write_text(json.dumps([{"id": "D001", "name": "毛肚", "category": "涮菜", "price": "-1"}]))

    result = dinecard("menu", "import", str(menu))

    assert result.exit_code == 2
    assert client.get(f"{API}/dishes").json() == []


def test_coupon_template_issue_and_show_are_audited(
    dinecard: Invoke, client: TestClient, container: Container, store_id: str, tmp_path: Path
) -> None:
    member_id = register(client, "13800000001", store_id=store_id)["id"]
    template = tmp_path / "template.json"
    template.write_text(
        json.dumps(
            {
                "code": "CASH20",
                "name": "20元无门槛券",
                "kind": "cash",
                "value": "20",
                "validity": {"days": 7},
                "stock": 2,
            }
        )
    )

    created = dinecard("coupons", "add-template", str(template))
    issued = dinecard("coupons", "issue", "--member", member_id, "--template", "CASH20", "--count", "2")
    over_stock = dinecard("coupons", "issue", "--member", member_id, "--template", "CASH20")

    assert created.exit_code == 0 and created.output.strip().endswith("CASH20")
    assert issued.exit_code == 0
    codes = issued.output.split()[-2:]
    with container.database.read() as session:
        stored = set(session.execute(select(Coupon.code).where(Coupon.member_id == member_id)).scalars())
        actions = list(session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())
    assert stored == set(codes)
    assert over_stock.exit_code == 2 and "coupon_out_of_stock" in over_stock.output
    assert actions.count("cli coupons add-template") == 1 and actions.count("cli coupons issue") == 1
    shown = _flat(dinecard("coupons", "show", codes[0].lower()).output)
    assert codes[0] in shown and "20元无门槛券 usable" in shown
    listing = _flat(dinecard("coupons", "templates").output)
    assert "CASH20 20元无门槛券 cash 2 2 yes" in listing
