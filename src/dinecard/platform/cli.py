"""The `dinecard` command: database, stores, API keys, demo data, serving and reconciliation."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dinecard.platform.container import Container
from dinecard.platform.settings import Settings, get_settings
from dinecard.security.domain import Role

app = typer.Typer(help="DineCard: membership, stored value and points for restaurant chains.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
store_app = typer.Typer(help="Stores.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for POS systems and operators.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")
app.add_typer(apikey_app, name="apikey")
app.add_typer(demo_app, name="demo")

console = Console()


def _container() -> Container:
    return Container.from_settings(get_settings())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database named by DINECARD_DATABASE_URL (default: embedded SQLite)."""
    from dinecard.platform.migrate import upgrade

    url = get_settings().resolved_database_url()
    upgrade(url)
    console.print(f"[green]Database is up to date[/green] ({_safe_url(url)})")


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':')[0]}:***@{host}"
    return url


@store_app.command("create")
def store_create(
    code: Annotated[str, typer.Option(help="Short store code, e.g. S001")],
    name: Annotated[str, typer.Option(help="Store name")],
) -> None:
    """Open a store; prints its id."""
    from dinecard.stores.service import create_store

    container = _container()
    with container.database.write() as uow:
        store = create_store(uow, code, name, container.clock.now())
        store_id = store.id
    console.print(f"Store {code} created")
    sys.stdout.write(store_id + "\n")


@store_app.command("list")
def store_list() -> None:
    """List stores."""
    from dinecard.stores.service import list_stores

    container = _container()
    table = Table("id", "code", "name")
    with container.database.read() as session:
        for store in list_stores(session):
            table.add_row(store.id, store.code, store.name)
    console.print(table)


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. 'POS store 1'")],
    role: Annotated[Role, typer.Option(help="cashier, store_manager or hq_admin")] = Role.CASHIER,
    store: Annotated[str | None, typer.Option(help="Store id for a POS key")] = None,
) -> None:
    """Create an API key; the key itself is printed once, as the last line."""
    from dinecard.security.service import create_api_key

    container = _container()
    with container.database.write() as uow:
        _key_id, token = create_api_key(uow, name, role, store, container.clock.now())
    console.print(f"API key '{name}' ({role.value}) created. Keep it secret; it is not shown again:")
    sys.stdout.write(token + "\n")


@demo_app.command("load")
def demo_load(
    members: Annotated[int, typer.Option(help="How many members")] = 300,
    stores: Annotated[int, typer.Option(help="How many stores")] = 4,
    days: Annotated[int, typer.Option(help="Days of history")] = 90,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same chain)")] = 7,
) -> None:
    """Load a demo chain: stores, members and a few months of history through the real services."""
    from dinecard.demo.generator import DemoSpec, generate

    container = _container()
    summary = generate(container, DemoSpec(members=members, stores=stores, days=days, seed=seed), console=console)
    console.print(f"[green]Demo chain loaded[/green]: {summary}")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes (PostgreSQL only)")] = 1,
) -> None:
    """Serve the API (and OpenAPI docs at /docs)."""
    import uvicorn

    logging.basicConfig(level=get_settings().log_level)
    uvicorn.run("dinecard.platform.asgi:app", host=host, port=port, workers=workers, log_level="info", access_log=False)


@app.command("quickstart")
def quickstart(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """First run: create the embedded database, load the demo chain once, print a key, serve."""
    from dinecard.demo.generator import DemoSpec, generate, has_demo_data
    from dinecard.platform.migrate import upgrade
    from dinecard.security.service import create_api_key

    settings = get_settings()
    upgrade(settings.resolved_database_url())
    container = Container.from_settings(settings)
    if not has_demo_data(container):
        generate(container, DemoSpec(), console=console)
    with container.database.write() as uow:
        _key_id, token = create_api_key(uow, "quickstart", Role.HQ_ADMIN, None, container.clock.now())
    container.database.dispose()
    console.print(f"\n[bold green]DineCard is starting at http://{host}:{port}[/bold green]")
    console.print(f"  API docs:     http://{host}:{port}/docs")
    console.print(f"  Demo API key: [bold]{token}[/bold]", soft_wrap=True)
    curl = f"curl -H 'Authorization: Bearer {token}' http://{host}:{port}/api/v1/stores"
    console.print(f"  Try: {curl}\n", soft_wrap=True)
    serve(host=host, port=port, workers=1)


@app.command("reconcile")
def reconcile() -> None:
    """Check every ledger invariant; exit 1 with a report when one fails."""
    from dinecard.ledger.reconcile import run_reconciliation

    container = _container()
    with container.database.read() as session:
        report = run_reconciliation(session, container.clock.now())
    for check in report.checks:
        mark = "[green]ok[/green]" if not check.failures else f"[red]FAILED ({len(check.failures)})[/red]"
        console.print(f"{mark:>24}  {check.name}")
        for failure in check.failures[:20]:
            console.print(f"             - {failure}")
    console.print(report.summary)
    if not report.ok:
        raise typer.Exit(1)


def main() -> None:
    # Settings errors (a bad URL, a bad key) get a one-line message, not a traceback.
    try:
        Settings()
    except Exception as exc:  # pragma: no cover - configuration problems only
        console.print(f"[red]Configuration error:[/red] {exc}")
        sys.exit(2)
    app()
