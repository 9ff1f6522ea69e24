"""`dinecard mall ...`: points mall and buying a level with points.

Changes made here are audited like API writes, with the operator at the shell as the actor
(`cli`), in the same transaction as the change.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from dinecard.platform.cli_support import audit_change, console, container, refused
from dinecard.shared.errors import DomainError

app = typer.Typer(help="Points mall and buying a level with points.", no_args_is_help=True)


@app.command("list")
def list_rewards() -> None:
    """List the rewards of the points mall."""
    from dinecard.mall import service

    table = Table("id", "name", "kind", "points", "stock", "redeemed", "levels", "active")
    with container().database.read() as session:
        for row in service.list_rewards(session):
            table.add_row(
                row.id,
                row.name,
                row.kind,
                str(row.points_price),
                "unlimited" if row.stock is None else str(row.stock),
                str(row.redeemed_count),
                ", ".join(row.levels) if row.levels is not None else "all",
                "yes" if row.active else "no",
            )
    console.print(table)


@app.command("add")
def add_reward(file: Annotated[Path, typer.Argument(help="A reward as JSON (the body of POST /mall/rewards)")]) -> None:
    """Add a reward from a JSON file; prints its id."""
    from dinecard.mall import service
    from dinecard.mall.schemas import RewardCreate, RewardOut

    try:
        document: Any = json.loads(file.read_text(encoding="utf-8"))
        body = RewardCreate.model_validate(document)
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        console.print(f"[red]Cannot read a reward from {file}:[/red]")
        for line in _validation_lines(exc):
            console.print(f"  {line}")
        raise typer.Exit(2) from None
    built = container()
    now = built.clock.now()
    try:
        with built.database.write() as uow:
            row = service.create_reward(uow, built.programs.at(now), body.fields(), now)
            audit_change(uow, "mall add", "reward", row.id, RewardOut.of(row).model_dump(mode="json"), now)
    except DomainError as exc:
        raise refused(exc) from None
    console.print(f"Reward {body.name} added")
    sys.stdout.write(body.id + "\n")


def _validation_lines(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in error['loc']) or '(reward)'}: {error['msg']}" for error in exc.errors()]
    return [str(exc)]


@app.command("redeem")
def redeem(
    member: Annotated[str, typer.Option(help="Member id")],
    reward: Annotated[str, typer.Option(help="Reward id")],
    store: Annotated[str, typer.Option(help="Store id where the member redeems")],
) -> None:
    """Redeem a member's points for a reward; prints the order number."""
    from dinecard.mall import service
    from dinecard.mall.schemas import RedeemOut

    built = container()
    now = built.clock.now()
    command = service.RedeemCommand(member_id=member, reward_id=reward, store_id=store)
    try:
        with built.database.write() as uow:
            result = service.redeem(uow, built.programs.at(now), command, now)
            answer = RedeemOut.of_result(result)
            after = answer.model_dump(mode="json")
            audit_change(uow, "mall redeem", "member", member, after, now, order_no=answer.order_no, store_id=store)
    except DomainError as exc:
        raise refused(exc) from None
    coupon = f", coupon {answer.coupon_code}" if answer.coupon_code else ""
    left = answer.points.usable
    console.print(f"Redeemed {answer.reward.name} for {answer.points_spent} points{coupon}; {left} left")
    sys.stdout.write(answer.order_no + "\n")
