"""`dinecard coupons ...`: coupon templates, giving coupons, looking one up."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from dinecard.platform.cli_support import audit_change, console, container, refused
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money

app = typer.Typer(help="Coupon templates and coupons.", no_args_is_help=True)


@app.command("templates")
def templates() -> None:
    """List the coupon templates with their stock."""
    from dinecard.coupons import service

    table = Table("code", "name", "kind", "issued", "stock", "active")
    with container().database.read() as session:
        for row in service.list_templates(session):
            stock = "unlimited" if row.stock is None else str(row.stock)
            table.add_row(row.code, row.name, row.kind, str(row.issued_count), stock, "yes" if row.active else "no")
    console.print(table)


@app.command("add-template")
def add_template(
    file: Annotated[Path, typer.Argument(help="A template as JSON (the body of POST /coupon-templates)")],
) -> None:
    """Create a coupon template from a JSON file."""
    from dinecard.coupons import service
    from dinecard.coupons.schemas import TemplateCreate

    try:
        body = TemplateCreate.model_validate(json.loads(file.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        console.print(f"[red]Cannot read a template from {file}:[/red] {exc}")
        raise typer.Exit(2) from None
    built = container()
    now = built.clock.now()
    try:
        with built.database.write() as uow:
            fields = service.TemplateFields(body.name, body.name_en, body.stock, body.active)
            service.create_template(uow, body.code, fields, body.rules(), now, built.programs.at(now))
            audit_change(uow, "coupons add-template", "coupon_template", body.code, body.model_dump(mode="json"), now)
    except DomainError as exc:
        raise refused(exc) from None
    sys.stdout.write(body.code + "\n")


@app.command("issue")
def issue(
    member: Annotated[str, typer.Option(help="Member id")],
    template: Annotated[str, typer.Option(help="Template code")],
    count: Annotated[int, typer.Option(min=1, max=100)] = 1,
) -> None:
    """Give a member coupons; prints their codes."""
    from dinecard.coupons import service
    from dinecard.members.domain import ensure_open
    from dinecard.members.service import lock_member

    built = container()
    now = built.clock.now()
    try:
        with built.database.write() as uow:
            ensure_open(lock_member(uow, member).status)
            rows = service.issue(uow, built.programs.at(now), member, template, now, service.Source.STAFF, count=count)
            codes = [row.code for row in rows]
            audit_change(uow, "coupons issue", "member", member, {"template": template, "coupons": codes}, now)
    except DomainError as exc:
        raise refused(exc) from None
    sys.stdout.write("\n".join(codes) + "\n")


@app.command("show")
def show(code: Annotated[str, typer.Argument(help="The coupon code, as typed or scanned")]) -> None:
    """One coupon: its template, status and where it was used."""
    from dinecard.coupons import service

    built = container()
    now = built.clock.now()
    try:
        with built.database.read() as session:
            row = service.find(session, code)
            template = service.get_template(session, row.template_code)
            console.print(
                f"{row.code}  {template.name}  {service.display_status(row, now)}  member {row.member_id}\n"
                f"valid {row.valid_from:%Y-%m-%d %H:%M} – {row.valid_until:%Y-%m-%d %H:%M} UTC"
                + (f"\nused on {row.used_order_no} ({Money(row.discount_fen).yuan()})" if row.used_order_no else "")
            )
    except DomainError as exc:
        raise refused(exc) from None
