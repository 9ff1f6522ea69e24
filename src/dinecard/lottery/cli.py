"""`dinecard lottery ...`: lotteries and draws."""

from __future__ import annotations

import typer

app = typer.Typer(help="Lotteries and draws.", no_args_is_help=True)
