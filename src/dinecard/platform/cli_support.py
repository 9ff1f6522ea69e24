"""What the command groups share: the container, refusals as exit code 2, audited changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.console import Console

from dinecard.platform.container import Container
from dinecard.platform.db import UnitOfWork
from dinecard.platform.settings import get_settings
from dinecard.shared.errors import DomainError

console = Console()

# Who the audit log names for changes made at the shell: the operator, not an API caller.
CLI_ACTOR = "cli"


def container() -> Container:
    return Container.from_settings(get_settings())


def refused(exc: DomainError) -> typer.Exit:
    """Print a business refusal the way the API words it, and exit 2."""
    console.print(f"[red]{exc.kind.message_zh} · {exc.kind.message_en}[/red] ({exc.code}) {exc.detail or ''}")
    return typer.Exit(2)


def audit_change(
    uow: UnitOfWork,
    action: str,
    target_kind: str,
    target_id: str | None,
    after: dict[str, Any],
    now: datetime,
    **where: str | None,
) -> None:
    """Audit a change made at the shell, in the same transaction as the change (`where`: order_no, store_id)."""
    from dinecard.security import audit

    audit.record(
        uow,
        actor=None,
        actor_name=CLI_ACTOR,
        action=f"cli {action}",
        target_kind=target_kind,
        target_id=target_id,
        after=after,
        now=now,
        **where,
    )
