"""Reading the audit log straight from the database, as an auditor (or a tamperer) would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from dinecard.platform.container import Container
from dinecard.security.models import AuditEntry


def audit_entries(container: Container) -> list[AuditEntry]:
    """Every entry, oldest first."""
    with container.database.read() as session:
        return list(session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def audit_count(container: Container) -> int:
    with container.database.read() as session:
        return session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


def last_entry(container: Container) -> AuditEntry:
    return audit_entries(container)[-1]


def money_and_points(state: dict[str, Any]) -> tuple[str, str, int]:
    """Balance total, level code and usable points, from a before or an after document."""
    return state["balance"]["total"], state["level"]["code"], state["points"]["usable"]
