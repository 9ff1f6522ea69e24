"""`dinecard audit seal | verify | show`, and the audit entries of the CLI's own changes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from dinecard.platform.cli import app
from dinecard.platform.container import Container
from dinecard.platform.settings import get_settings
from tests.conftest import TEST_KEY
from tests.security.helpers import audit_entries


class Cli:
    def __init__(self, runner: CliRunner) -> None:
        self.runner = runner

    def __call__(self, *args: str) -> Result:
        get_settings.cache_clear()
        return self.runner.invoke(app, list(args))


@pytest.fixture
def cli(container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI pointed at the test's database."""
    for name in [name for name in os.environ if name.startswith("DINECARD_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DINECARD_DATABASE_URL", container.database.url)
    monkeypatch.setenv("DINECARD_DATA_KEY", TEST_KEY)
    monkeypatch.setenv("DINECARD_DATA_DIR", str(tmp_path / "cli-data"))
    yield Cli(CliRunner())
    get_settings.cache_clear()


def _flat(output: str) -> str:
    return " ".join(output.split())


def test_cli_changes_are_logged_as_the_cli(cli: Cli, container: Container) -> None:
    # when an operator opens a store, creates a key and applies a preset from the shell
    store = cli("store", "create", "--code", "C001", "--name", "静安店")
    assert store.exit_code == 0, store.output
    store_id = store.output.strip().splitlines()[-1]
    key = cli("apikey", "create", "--name", "POS 9", "--role", "cashier", "--store", store_id)
    assert key.exit_code == 0, key.output
    token = key.output.strip().splitlines()[-1]
    preset = cli("program", "preset", "hotpot")
    assert preset.exit_code == 0, preset.output

    # then each left an entry naming the CLI, and the key's secret is nowhere
    entries = audit_entries(container)
    assert [(e.action, e.actor_kind, e.actor_name) for e in entries] == [
        ("cli store create", "system", "cli"),
        ("cli apikey create", "system", "cli"),
        ("cli program preset", "system", "cli"),
    ]
    assert (entries[0].target_kind, entries[0].target_id, entries[0].after["code"]) == ("store", store_id, "C001")
    assert (entries[1].target_kind, entries[1].store_id, entries[1].after["role"]) == ("api_key", store_id, "cashier")
    assert token.split(".")[-1] not in str(entries[1].after)
    assert entries[2].target_kind == "program"
    assert entries[2].after["version"] == int(entries[2].target_id or 0) > entries[2].before["version"]


def test_verify_passes_on_a_sealed_log_and_exits_1_naming_a_tampered_entry(cli: Cli, container: Container) -> None:
    # given three CLI changes, sealed
    for code in ("C001", "C002", "C003"):
        assert cli("store", "create", "--code", code, "--name", "店").exit_code == 0
    sealed = cli("audit", "seal")
    assert sealed.exit_code == 0, sealed.output
    assert "3 audit entries sealed" in sealed.output
    intact = cli("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.output

    # when the second entry is edited in the database
    second = audit_entries(container)[1].id
    with container.database.write() as uow:
        uow.session.execute(text(f"UPDATE audit_log SET actor_name = 'someone else' WHERE id = {second}"))

    # then verify fails and names it
    broken = cli("audit", "verify")
    assert broken.exit_code == 1, broken.output
    assert f"first bad entry: {second}" in broken.output
    assert f"entry {second} was altered" in _flat(broken.output)


def test_show_lists_entries_newest_first_optionally_for_one_target(cli: Cli, container: Container) -> None:
    for code in ("C001", "C002"):
        assert cli("store", "create", "--code", code, "--name", "店").exit_code == 0
    first, second = audit_entries(container)
    assert first.target_id is not None

    everything = cli("audit", "show", "--json")
    only_first = cli("audit", "show", "--member", first.target_id, "--limit", "5", "--json")
    table = cli("audit", "show")

    assert everything.exit_code == 0 and only_first.exit_code == 0 and table.exit_code == 0
    assert [json.loads(line)["id"] for line in everything.output.splitlines()] == [second.id, first.id]
    assert [json.loads(line)["target_id"] for line in only_first.output.splitlines()] == [first.target_id]
    assert "action" in table.output
