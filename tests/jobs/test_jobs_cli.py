"""`dinecard jobs run`, `dinecard jobs list` through the Typer app, on the real database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from dinecard.platform.container import Container
from dinecard.shared.clock import FixedClock
from tests.jobs.conftest import Invoke, expired_counter_total, lots, midnight, new_member, recharge, shanghai


def _flat(output: str) -> str:
    """Rich wraps long lines at the terminal width; compare with whitespace collapsed."""
    return " ".join(output.split())


def test_jobs_run_as_of_a_date_expires_points_and_prints_what_each_job_did(
    container: Container, clock: FixedClock, store_id: str, invoke: Callable[[str, datetime], Invoke]
) -> None:
    # given a member with March 2026 points, and the CLI's clock on 1 April 2027
    wang = new_member(container, "13600000001")
    recharge(container, wang, store_id, 500)
    points = lots(container, wang)[midnight(datetime(2027, 4, 1).date())]
    run = invoke(container.database.url, shanghai(2027, 4, 1, hour=9))

    # when the jobs run for 1 April 2027
    first = run("jobs", "run", "--as-of", "2027-04-01")

    # then the expiry ran and the table says what it did
    assert first.exit_code == 0, first.output
    output = _flat(first.output)
    assert "points_expiry" in output and "points_expiry_reminders" in output
    # (the table may wrap a cell over lines, so the counts are looked for one by one)
    assert "lots=1" in output and "members=1" in output and f"points={points}" in output
    assert expired_counter_total(container) == points

    # when they run again, then they are skipped; --rerun runs them and finds nothing to do
    again = run("jobs", "run", "--as-of", "2027-04-01")
    assert again.exit_code == 0 and "already_ran" in again.output
    forced = run("jobs", "run", "--as-of", "2027-04-01", "--rerun")
    assert forced.exit_code == 0 and "already_ran" not in forced.output
    assert expired_counter_total(container) == points

    # and the list shows each job with the last date it finished for
    listed = run("jobs", "list")
    assert listed.exit_code == 0, listed.output
    assert "points_expiry" in listed.output and "2027-04-01" in listed.output


def test_jobs_run_refuses_a_date_that_has_not_begun_and_a_malformed_one(
    container: Container, invoke: Callable[[str, datetime], Invoke]
) -> None:
    run = invoke(container.database.url, shanghai(2027, 4, 1, hour=9))

    ahead = run("jobs", "run", "--as-of", "2027-04-02")
    assert ahead.exit_code == 2 and "has not begun" in _flat(ahead.output)
    malformed = run("jobs", "run", "--as-of", "1 April")
    assert malformed.exit_code == 2


def test_jobs_run_without_a_date_runs_today_in_the_business_time_zone(
    container: Container, invoke: Callable[[str, datetime], Invoke]
) -> None:
    # 20:00 UTC on 31 March is 04:00 on 1 April in Shanghai
    run = invoke(container.database.url, datetime.fromisoformat("2027-03-31T20:00:00+00:00"))
    result = run("jobs", "run")
    assert result.exit_code == 0, result.output
    assert "2027-04-01" in result.output
