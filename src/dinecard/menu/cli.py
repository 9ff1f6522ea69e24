"""`dinecard menu ...`: list the menu, load dishes from a JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError
from rich.table import Table

from dinecard.platform.cli_support import audit_change, console, container, refused
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money

app = typer.Typer(help="The menu: dishes, prices, stores and levels.", no_args_is_help=True)


@app.command("list")
def list_dishes(category: Annotated[str | None, typer.Option(help="Only this category")] = None) -> None:
    """List the dishes."""
    from dinecard.menu import service

    table = Table("id", "name", "category", "price", "stores", "levels", "active")
    with container().database.read() as session:
        for row in service.list_dishes(session, category):
            table.add_row(
                row.id,
                row.name,
                row.category,
                Money(row.price_fen).yuan(),
                ", ".join(row.stores) if row.stores is not None else "all",
                ", ".join(row.exclusive_levels) if row.exclusive_levels is not None else "all",
                "yes" if row.active else "no",
            )
    console.print(table)


@app.command("import")
def import_dishes(
    file: Annotated[Path, typer.Argument(help="A JSON list of dishes (bodies of POST /dishes)")],
) -> None:
    """Add the dishes of a file, or change them where the id exists; all or nothing."""
    from dinecard.menu import service
    from dinecard.menu.models import Dish
    from dinecard.menu.views import DishCreate

    try:
        dishes = TypeAdapter(list[DishCreate]).validate_python(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        console.print(f"[red]Cannot read dishes from {file}:[/red] {exc}")
        raise typer.Exit(2) from None
    built = container()
    now = built.clock.now()
    added = changed = 0
    try:
        with built.database.write() as uow:
            program = built.programs.at(now)
            for dish in dishes:
                if uow.session.get(Dish, dish.id) is None:
                    service.create_dish(uow, dish.id, dish.fields(), now, program)
                    added += 1
                else:
                    service.update_dish(uow, dish.id, dish.fields(), now, program)
                    changed += 1
            audit_change(uow, "menu import", "menu", None, {"dishes": [d.id for d in dishes]}, now)
    except DomainError as exc:
        raise refused(exc) from None
    console.print(f"{added} dishes added, {changed} changed")
