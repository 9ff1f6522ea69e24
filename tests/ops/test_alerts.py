"""Alerts (R-OPS-2, R-OPS-4): a failed scheduled reconciliation raises one critical alert, stored, counted, sent."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi.testclient import TestClient
from sqlalchemy import text

from dinecard.ledger.reconcile import CHECKS, Check, Report
from dinecard.platform.container import Container
from dinecard.platform.jobs import RunStatus, registered_jobs, run_due
from dinecard.security.risk_events import NEGATIVE_BALANCE_CHECK, reconciliation_alerts
from tests.ops.conftest import metric, outbox_messages, risk_events
from tests.ops.helpers import new_member, recharge

CACHED_BALANCES = "member balances equal the sum of their postings"


def _reconciliation(container: Container, rerun: bool = False) -> dict[str, int]:
    [outcome] = [o for o in run_due(container, rerun=rerun) if o.job == "ledger_reconciliation"]
    assert outcome.status is RunStatus.RAN, outcome
    return outcome.counts


def test_reconciliation_and_the_risk_scan_are_daily_jobs() -> None:
    assert {"ledger_reconciliation", "risk_scan"} <= {job.name for job in registered_jobs()}


def test_a_corrupted_cached_balance_raises_one_critical_alert_with_an_outbox_message(
    client: TestClient, container: Container, service_store_id: str
) -> None:
    # given a sound ledger
    member_id = new_member(container, "13900000801")
    recharge(container, member_id, service_store_id, 10_000)
    assert _reconciliation(container) == {}
    alerts_counted = metric(client, "dinecard_risk_events_total", category="alert", kind="reconciliation_failed")
    # when a cached balance is changed behind the ledger's back
    with container.database.write() as uow:
        uow.session.execute(
            text(
                "UPDATE ledger_accounts SET balance = balance + 100 WHERE member_id = :m AND kind = 'member_principal'"
            ),
            {"m": member_id},
        )
    first = _reconciliation(container, rerun=True)
    second = _reconciliation(container, rerun=True)
    # then
    assert first == {"failed_checks": 1, "reconciliation_failed": 1}
    assert second == {"failed_checks": 1}
    [alert] = risk_events(container)
    assert (alert.category, alert.kind, alert.severity, alert.status) == (
        "alert",
        "reconciliation_failed",
        "critical",
        "open",
    )
    assert list(alert.details["failed_checks"]) == [CACHED_BALANCES]
    assert "cached 10100, postings add up to 10000" in alert.details["failed_checks"][CACHED_BALANCES][0]
    [message] = outbox_messages(container, "alert")
    assert message.member_id is None
    assert (message.payload["risk_event_id"], message.payload["severity"]) == (alert.id, "critical")
    assert metric(client, "dinecard_risk_events_total", category="alert", kind="reconciliation_failed") == (
        alerts_counted + 1
    )


def test_a_balance_of_the_wrong_sign_raises_a_negative_balance_alert_too() -> None:
    # The CHECK constraints keep such a balance out of the database, so the report is made up.
    [negative_check] = [name for name, _ in CHECKS if name.startswith(NEGATIVE_BALANCE_CHECK)]
    report = Report(
        checks=[Check(negative_check, ["m:01ABC:member_principal has a balance of the wrong sign: -1"])],
        members=1,
        transactions=1,
        checked_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    findings = reconciliation_alerts(report, date(2026, 3, 2))
    assert [(f.kind, f.severity.value, f.category.value) for f in findings] == [
        ("reconciliation_failed", "critical", "alert"),
        ("negative_balance", "critical", "alert"),
    ]
    assert findings[1].dedupe_key == "negative_balance:2026-03-02"


def test_a_sound_ledger_raises_nothing() -> None:
    report = Report(checks=[Check(name) for name, _ in CHECKS], members=0, transactions=0, checked_at=datetime.now(UTC))
    assert reconciliation_alerts(report, date(2026, 3, 2)) == []
