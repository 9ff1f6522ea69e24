"""`dinecard lottery ...`: lotteries and draws.

`show` prints a prize table with each prize's chance and the expected cost per draw; `verify`
recomputes a draw from its stored seed, candidates and exhausted prizes (exit 0: it matches,
1: it does not, 2: no such draw), so anyone with database access can audit a draw.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from dinecard.platform.cli_support import console, container
from dinecard.shared.errors import DomainError

app = typer.Typer(help="Lotteries and draws.", no_args_is_help=True)

EXIT_MISMATCH = 1
EXIT_NOT_FOUND = 2


@app.command("show")
def show(
    lottery_id: Annotated[str, typer.Argument(help="The lottery's id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a table")] = False,
) -> None:
    """A lottery's prize table with probabilities and the expected cost per draw."""
    from dinecard.lottery import service
    from dinecard.lottery.domain import expected_cost, is_running
    from dinecard.lottery.schemas import LotteryOut

    built = container()
    now = built.clock.now()
    try:
        with built.database.read() as session:
            lottery = service.get_lottery(session, lottery_id)
            table = service.prize_table(session, lottery)
            estimate = expected_cost(table, built.programs.at(now).points.redemption.points_per_yuan)
            running = is_running(lottery.active, lottery.starts_at, lottery.ends_at, now)
            out = LotteryOut.of(lottery, table, estimate, running)
    except DomainError as refused:
        console.print(f"[red]{refused.kind.message_en}[/red] ({refused.code}: {lottery_id})")
        raise typer.Exit(EXIT_NOT_FOUND) from refused
    if as_json:
        sys.stdout.write(out.model_dump_json(indent=2) + "\n")
        return
    state = "running" if out.running else "not running"
    console.print(f"{out.id}  {out.name}  {out.cost_points} points a draw  ({state})")
    grid = Table("code", "name", "kind", "weight", "chance", "left", "gives")
    for prize in out.prizes:
        gives = f"{prize.points} points" if prize.points else ""
        if prize.coupon_template_code:
            gives = f"{prize.coupon_template_code} ({prize.coupon_value or '?'} yuan)"
        grid.add_row(
            prize.code,
            prize.name,
            prize.kind.value,
            str(prize.weight),
            f"{Decimal(prize.probability) * 100:.2f}%",
            "unlimited" if prize.left is None else str(prize.left),
            gives,
        )
    console.print(grid)
    cost = out.expected_cost
    console.print(
        f"Per draw on average: {cost.points_back} points back, {cost.coupon_value} yuan of coupons "
        f"= {cost.value_points} points at {cost.points_per_yuan} points a yuan; "
        f"margin {cost.margin_points} of {cost.cost_points} points"
    )
    if cost.unvalued_prizes:
        console.print(f"Not counted (coupon value unknown): {', '.join(cost.unvalued_prizes)}")


@app.command("verify")
def verify(draw_no: Annotated[str, typer.Argument(help="The draw number (L...)")]) -> None:
    """Replay a draw from its seed; exit 0 if it gives the recorded prize, 1 if not."""
    from dinecard.lottery import service

    built = container()
    try:
        with built.database.read() as session:
            row = service.get_draw(session, draw_no)
            outcome = service.replay_draw(row)
            matches = service.replay_matches(row, outcome)
    except DomainError as refused:
        console.print(f"[red]{refused.kind.message_en}[/red] ({refused.code}: {draw_no})")
        raise typer.Exit(EXIT_NOT_FOUND) from refused
    console.print(f"seed {row.seed}, {len(row.candidates)} candidates, exhausted {list(row.exhausted) or 'none'}")
    console.print(f"recorded prize {row.prize_code}, replayed prize {outcome.prize_code}")
    if not matches:
        console.print("[red]MISMATCH[/red]: the stored draw does not replay to its recorded outcome")
        raise typer.Exit(EXIT_MISMATCH)
    console.print("[green]ok[/green]: the draw replays exactly")
