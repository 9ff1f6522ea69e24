"""`dinecard program ...` and the idempotence of `dinecard jobs run`, through the Typer app on the real database."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, select
from typer.testing import CliRunner

from dinecard.ledger.models import JournalTransaction
from dinecard.members.service import RegisterMember, member_view, register_member
from dinecard.platform.cli import app
from dinecard.platform.container import Container
from dinecard.platform.outbox import OutboxMessage
from dinecard.platform.settings import get_settings
from dinecard.program.domain import Program
from dinecard.program.presets import DEFAULT
from dinecard.program.service import list_versions
from dinecard.shared.money import Money
from dinecard.stores.service import create_store
from dinecard.wallet import service as wallet
from tests.conftest import START, TEST_KEY

Invoke = Callable[..., Result]


@pytest.fixture
def cli(
    container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[datetime], Invoke]]:
    """`cli(now)` runs the `dinecard` command against the test database with its clock pinned at `now`."""
    for name in [name for name in os.environ if name.startswith("DINECARD_")]:
        monkeypatch.delenv(name)
    built: list[Container] = []
    from_settings = Container.from_settings.__func__  # type: ignore[attr-defined]

    def tracking(cls: type[Container], settings: Any) -> Container:
        made = from_settings(cls, settings)
        built.append(made)
        return made

    # The command builds its own container each time; keep them to close their connection pools.
    monkeypatch.setattr(Container, "from_settings", classmethod(tracking))
    runner = CliRunner()

    def at(now: datetime) -> Invoke:
        def run(*args: str) -> Result:
            monkeypatch.setenv("DINECARD_DATABASE_URL", container.database.url)
            monkeypatch.setenv("DINECARD_DATA_KEY", TEST_KEY)
            monkeypatch.setenv("DINECARD_DATA_DIR", str(tmp_path / "cli-data"))
            monkeypatch.setenv("DINECARD_NOW", now.isoformat())
            get_settings.cache_clear()
            return runner.invoke(app, list(args))

        return run

    yield at
    get_settings.cache_clear()
    for made in built:
        made.database.dispose()


def _flat(output: str) -> str:
    """Rich wraps long lines at the terminal width; compare with whitespace collapsed."""
    return " ".join(output.split())


def _program_now(container: Container) -> Program:
    container.programs.invalidate()
    return container.programs.at(container.clock.now())


# ---------------------------------------------------------------- program


def test_program_preset_saves_a_ready_made_programme_as_a_new_version(
    container: Container, cli: Callable[[datetime], Invoke]
) -> None:
    run = cli(START)

    result = run("program", "preset", "hotpot")

    assert result.exit_code == 0, result.output
    assert "Programme version 1 saved (hotpot)" in _flat(result.output)
    program = _program_now(container)
    assert (program.version, program.name, program.recharge.tiers[0].bonus) == (1, "hotpot", Money(10000))
    [version] = list_versions(container.database)
    assert (version.version, version.created_by, version.note, version.effective_at) == (
        1,
        "cli",
        "preset hotpot",
        START,
    )

    unknown = run("program", "preset", "sushi")
    assert unknown.exit_code == 2 and "Unknown preset 'sushi'" in _flat(unknown.output)
    assert len(list_versions(container.database)) == 1


def test_program_show_prints_json_that_program_apply_accepts_back(
    container: Container, cli: Callable[[datetime], Invoke], tmp_path: Path
) -> None:
    # given the tea preset in force
    run = cli(START)
    assert run("program", "preset", "tea").exit_code == 0

    # when it is shown, then the output is the programme as JSON, with its version
    shown = run("program", "show")
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert document["version"] == 1 and document["program"]["name"] == "tea"
    assert Program.model_validate(document["program"]) == _program_now(container).model_copy(update={"version": 0})

    # when that output is applied back, then it is a new version with the same rules
    path = tmp_path / "tea.json"
    path.write_text(shown.stdout, encoding="utf-8")
    applied = run("program", "apply", str(path), "--note", "round trip")
    assert applied.exit_code == 0, applied.output
    assert "Programme version 2 saved (tea)" in _flat(applied.output)
    program = _program_now(container)
    assert program.version == 2
    assert program.model_dump(exclude={"version"}) == Program.model_validate(document["program"]).model_dump(
        exclude={"version"}
    )
    assert [(v.version, v.name, v.note) for v in list_versions(container.database)] == [
        (2, "tea", "round trip"),
        (1, "tea", "preset tea"),
    ]


def test_program_show_without_a_saved_version_shows_the_built_in_default(
    container: Container, cli: Callable[[datetime], Invoke]
) -> None:
    shown = cli(START)("program", "show")

    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert (document["version"], document["program"]["name"]) == (0, "default")


def test_program_apply_of_an_invalid_file_exits_2_saying_where_and_why(
    container: Container, cli: Callable[[datetime], Invoke], tmp_path: Path
) -> None:
    # given a programme with tiers that do not increase and a multiplier below 1
    document = json.loads(json.dumps(DEFAULT))
    document["recharge"]["tiers"][1]["amount"] = "200"
    document["points"]["multipliers"][0]["multiplier"] = "0.5"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    # when it is applied
    result = cli(START)("program", "apply", str(path))

    # then nothing is saved and each problem is named by its place in the document
    assert result.exit_code == 2, result.output
    output = _flat(result.output)
    assert "The programme is not valid" in output
    assert "recharge.tiers: Value error, tier amounts must strictly increase" in output
    assert "points.multipliers.0.multiplier: Input should be greater than or equal to 1" in output
    assert "Traceback" not in result.output
    assert list_versions(container.database) == []


def test_program_apply_of_a_file_that_is_not_json_exits_2_with_a_message(
    cli: Callable[[datetime], Invoke], tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "default", "recharge": ', encoding="utf-8")

    result = cli(START)("program", "apply", str(path))

    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_program_preset_takes_effect_at_the_time_given_and_never_in_the_past(
    container: Container, cli: Callable[[datetime], Invoke]
) -> None:
    run = cli(START)

    # a time to come is kept: hotpot from 3 March 00:00 in Shanghai (16:00 UTC on the 2nd)
    later = run("program", "preset", "hotpot", "--effective-at", "2026-03-03T00:00:00+08:00")
    assert later.exit_code == 0, later.output
    # a time gone by becomes now: tea "from New Year" is in force from the CLI's now
    earlier = run("program", "preset", "tea", "--effective-at", "2026-01-01T00:00:00+08:00")
    assert earlier.exit_code == 0, earlier.output

    hotpot_from = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert [(v.version, v.name, v.effective_at) for v in list_versions(container.database)] == [
        (2, "tea", START),
        (1, "hotpot", hotpot_from),
    ]
    container.programs.invalidate()
    assert container.programs.at(START).name == "tea"
    assert container.programs.at(hotpot_from).name == "hotpot"


def test_program_preset_with_an_effective_time_without_offset_answers_without_a_traceback(
    container: Container, cli: Callable[[datetime], Invoke]
) -> None:
    result = cli(START)("program", "preset", "hotpot", "--effective-at", "2026-03-03T00:00:00")

    # refused with a message (exit 2), or read in the business time zone (exit 0): either, but no crash
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2)


# ---------------------------------------------------------------- jobs


def _counts(container: Container) -> tuple[int, int]:
    """Journal transactions and outbox messages, everything a job could have added."""
    with container.database.read() as session:
        transactions = session.execute(select(func.count()).select_from(JournalTransaction)).scalar_one()
        messages = session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
    return transactions, messages


def test_jobs_run_twice_for_a_date_changes_nothing_more(
    container: Container, cli: Callable[[datetime], Invoke]
) -> None:
    # given a diamond member born on 1 April with March 2026 points, and nothing done for a year
    with container.database.write() as uow:
        store_id = create_store(uow, "C001", "命令行测试店", START).id
        member_id = register_member(
            uow,
            container.cipher,
            container.program,
            RegisterMember(phone="13700000001", birthday=date(1990, 4, 1)),
            START,
        )
    command = wallet.RechargeCommand(member_id, store_id, Money(200000), wallet.PaymentMethod.CASH)
    with container.database.write() as uow:
        wallet.recharge(uow, container.program, command, START)
    before = _counts(container)
    run = cli(datetime(2027, 4, 1, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai

    # when the jobs run for 1 April 2027: the 2000 points expire, the birthday gift is diamond's 1000 (gifts run
    # before the review), then diamond drops to gold
    first = run("jobs", "run", "--as-of", "2027-04-01")
    assert first.exit_code == 0, first.output
    after_first = _counts(container)
    # expiry and birthday gift: 2 transactions; messages: expired, downgraded, birthday
    assert after_first == (before[0] + 2, before[1] + 3)

    # then running them again, plainly or with --rerun, changes nothing more
    again = run("jobs", "run", "--as-of", "2027-04-01")
    assert again.exit_code == 0 and "already_ran" in again.output
    assert _counts(container) == after_first
    forced = run("jobs", "run", "--as-of", "2027-04-01", "--rerun")
    assert forced.exit_code == 0, forced.output
    assert _counts(container) == after_first
    with container.database.read() as session:
        view = member_view(session, container.cipher, container.program, member_id, container.clock.now())
    assert (view.level.code, view.points_lifetime) == ("gold", 3000)  # 2000 from the recharge + 1000 gift
