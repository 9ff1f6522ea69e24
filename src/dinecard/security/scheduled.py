"""Daily jobs of the security package: the risk scan's catch-up and the ledger reconciliation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from dinecard.platform.jobs import JobProgress, JobResult, register_daily_job
from dinecard.security import risk
from dinecard.security.risk_events import check_ledger
from dinecard.shared.calendar import end_of_day, start_of_day

if TYPE_CHECKING:
    from dinecard.platform.container import Container


def scan_risks(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Look for risk patterns in the business day before and the day itself so far (R-SEC-4)."""
    timezone = container.program.business_timezone
    since = start_of_day(business_date - timedelta(days=1), timezone)
    until = min(end_of_day(business_date, timezone), container.clock.now())
    result = JobResult()
    for kind, count in risk.scan(container, since, until).items():
        result.add(kind, count)
    return result


def reconcile_ledger(container: Container, business_date: date, progress: JobProgress) -> JobResult:
    """Reconcile the ledger and raise a critical alert when a check fails (R-OPS-2, R-OPS-4)."""
    report, raised = check_ledger(container, business_date)
    result = JobResult()
    failed = sum(1 for check in report.checks if check.failures)
    if failed:
        result.add("failed_checks", failed)
    for kind, count in raised.items():
        result.add(kind, count)
    return result


register_daily_job("risk_scan", scan_risks)
register_daily_job("ledger_reconciliation", reconcile_ledger)
