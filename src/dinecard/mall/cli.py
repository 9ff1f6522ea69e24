"""`dinecard mall ...`: points mall and buying a level with points."""

from __future__ import annotations

import typer

app = typer.Typer(help="Points mall and buying a level with points.", no_args_is_help=True)
