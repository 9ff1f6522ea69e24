"""`dinecard mall list|add|redeem` on the test database, audited with the shell operator as actor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from dinecard.mall.models import Redemption, Reward
from dinecard.members.service import RegisterMember, register_member
from dinecard.platform.container import Container
from dinecard.security.models import AuditEntry
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from tests.rewards.conftest import Invoke


@pytest.fixture
def cli(dinecard: Invoke) -> Invoke:
    return dinecard


def _member_with_points(container: Container) -> tuple[str, str]:
    """A store, and a member there with 300 points (a 500-yuan recharge)."""
    now = container.clock.now()
    with container.database.write() as uow:
        store_id = create_store(uow, "S001", "人民广场店", now).id
        member_id = register_member(uow, container.cipher, container.program, RegisterMember(phone="13812341234"), now)
        command = wallet.RechargeCommand(member_id, store_id, Money(50000), wallet.PaymentMethod.WECHAT)
        wallet.recharge(uow, container.program, command, now)
    return store_id, member_id


def _audit(container: Container, action: str) -> list[AuditEntry]:
    with container.database.read() as session:
        rows = list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())
        session.expunge_all()
        return rows


def test_add_list_and_redeem_from_the_command_line(cli: Invoke, container: Container, tmp_path: Path) -> None:
    store_id, member_id = _member_with_points(container)
    file = tmp_path / "mug.json"
    reward = {"id": "R-MUG", "name": "定制马克杯", "kind": "merchandise", "points_price": 200, "stock": 2}
    file.write_text(json.dumps(reward, ensure_ascii=False), encoding="utf-8")

    added = cli("mall", "add", str(file))
    listed = cli("mall", "list")
    redeemed = cli("mall", "redeem", "--member", member_id, "--reward", "R-MUG", "--store", store_id)

    assert added.exit_code == 0, added.output
    assert added.output.splitlines()[-1] == "R-MUG"
    assert listed.exit_code == 0, listed.output
    assert "R-MUG" in listed.output and "定制马克杯" in listed.output
    assert redeemed.exit_code == 0, redeemed.output
    order_no = redeemed.output.splitlines()[-1]
    assert order_no.startswith("M")
    with container.database.read() as session:
        row = session.execute(select(Redemption).where(Redemption.order_no == order_no)).scalar_one()
        assert (row.member_id, row.points, row.store_id) == (member_id, 200, store_id)
        stored = session.get(Reward, "R-MUG")
        assert stored is not None and stored.redeemed_count == 1
    [add_entry] = _audit(container, "cli mall add")
    [redeem_entry] = _audit(container, "cli mall redeem")
    assert (add_entry.actor_name, add_entry.target_id) == ("cli", "R-MUG")
    assert (redeem_entry.actor_name, redeem_entry.target_id, redeem_entry.order_no) == ("cli", member_id, order_no)


def test_the_command_line_refuses_what_the_api_refuses(cli: Invoke, container: Container, tmp_path: Path) -> None:
    store_id, member_id = _member_with_points(container)
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"id": "R1", "name": "x", "kind": "dish", "points_price": 10}), encoding="utf-8")
    not_json = tmp_path / "not.json"
    not_json.write_text("{", encoding="utf-8")
    pricey = tmp_path / "pricey.json"
    pricey.write_text(json.dumps({"id": "R2", "name": "x", "kind": "merchandise", "points_price": 301}))

    assert cli("mall", "add", str(invalid)).exit_code == 2
    assert cli("mall", "add", str(not_json)).exit_code == 2
    assert cli("mall", "add", str(tmp_path / "missing.json")).exit_code == 2
    assert cli("mall", "add", str(pricey)).exit_code == 0
    taken = cli("mall", "add", str(pricey))
    too_few = cli("mall", "redeem", "--member", member_id, "--reward", "R2", "--store", store_id)

    assert taken.exit_code == 2 and "reward_taken" in taken.output
    assert too_few.exit_code == 2 and "insufficient_points" in too_few.output
    assert _audit(container, "cli mall redeem") == []
    assert len(_audit(container, "cli mall add")) == 1
