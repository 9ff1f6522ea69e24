"""The `dinecard` command: database, stores, API keys, demo data, serving, jobs, the worker and reconciliation."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from dinecard.platform.container import Container
from dinecard.platform.settings import Settings, get_settings
from dinecard.security.domain import Role
from dinecard.shared.errors import DomainError

app = typer.Typer(help="DineCard: membership, stored value and points for restaurant chains.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
store_app = typer.Typer(help="Stores.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for POS systems and operators.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
program_app = typer.Typer(help="The membership programme: tiers, points, levels, member day.", no_args_is_help=True)
jobs_app = typer.Typer(help="Daily jobs: points expiry, reminders, ...", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")
app.add_typer(apikey_app, name="apikey")
app.add_typer(demo_app, name="demo")
app.add_typer(program_app, name="program")
app.add_typer(jobs_app, name="jobs")

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


@program_app.command("show")
def program_show() -> None:
    """Print the programme in force now as JSON (a file `program apply` accepts)."""
    container = _container()
    program = container.program
    document = {"version": program.version, "program": program.model_dump(mode="json", exclude={"version"})}
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _save_program(program_document: dict[str, object], note: str, effective_at: datetime | None) -> None:
    from pydantic import ValidationError

    from dinecard.program.domain import Program
    from dinecard.program.service import save_version

    try:
        program = Program.model_validate(program_document)
    except ValidationError as exc:
        console.print("[red]The programme is not valid:[/red]")
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            console.print(f"  {where}: {error['msg']}")
        raise typer.Exit(2) from None
    if effective_at is not None and effective_at.tzinfo is None:
        console.print("[red]--effective-at needs a time zone offset[/red], e.g. 2026-12-01T00:00:00+08:00")
        raise typer.Exit(2)
    container = _container()
    now = container.clock.now()
    try:
        with container.database.write() as uow:
            saved = save_version(uow, program, effective_at or now, now, "cli", note)
    except DomainError as exc:
        console.print(f"[red]{exc.kind.message_en}[/red] {exc.detail or ''}")
        raise typer.Exit(2) from None
    console.print(
        f"[green]Programme version {saved.version} saved[/green] ({program.name}), effective "
        f"{max(effective_at or now, now).isoformat()}"
    )


@program_app.command("apply")
def program_apply(
    file: Annotated[Path, typer.Argument(help="JSON file: a programme, or the output of `program show`")],
    effective_at: Annotated[datetime | None, typer.Option(help="ISO time with offset; default now")] = None,
    note: Annotated[str, typer.Option(help="Why the change")] = "",
) -> None:
    """Validate a programme file and save it as a new version."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        console.print(f"[red]Cannot read a JSON programme from {file}:[/red] {exc}")
        raise typer.Exit(2) from None
    if isinstance(document, dict) and "program" in document:
        document = document["program"]
    _save_program(document, note or f"applied from {file.name}", effective_at)


@program_app.command("preset")
def program_preset(
    name: Annotated[str, typer.Argument(help="default, hotpot or tea")],
    effective_at: Annotated[datetime | None, typer.Option(help="ISO time with offset; default now")] = None,
) -> None:
    """Save a ready-made programme as a new version."""
    from dinecard.program.presets import PRESETS

    if name not in PRESETS:
        console.print(f"[red]Unknown preset {name!r}[/red]; choose one of {', '.join(sorted(PRESETS))}")
        raise typer.Exit(2)
    document = dict(PRESETS[name])
    document["business_timezone"] = get_settings().timezone
    _save_program(document, f"preset {name}", effective_at)


@program_app.command("versions")
def program_versions() -> None:
    """List every programme version, newest first."""
    from dinecard.program.service import list_versions

    table = Table("version", "name", "effective at", "created at", "by", "note")
    for info in list_versions(_container().database):
        table.add_row(
            str(info.version),
            info.name,
            info.effective_at.isoformat(),
            info.created_at.isoformat(),
            info.created_by or "",
            info.note or "",
        )
    console.print(table)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="API processes (PostgreSQL only)")] = 1,
) -> None:
    """Serve the API (and OpenAPI docs at /docs)."""
    import uvicorn

    settings = get_settings()
    if settings.embedded_worker is None and settings.worker_in_server():
        # uvicorn builds the app from the environment (asgi.py), so the decision travels there.
        os.environ["DINECARD_EMBEDDED_WORKER"] = "true"
        get_settings.cache_clear()
    logging.basicConfig(level=settings.log_level)
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


class _RichJobProgress:
    """One progress bar per job, shown once the job knows how much work it has."""

    def __init__(self, bar: Progress, name: str) -> None:
        self.bar = bar
        self.name = name
        self.task: TaskID | None = None

    def set_total(self, total: int) -> None:
        if self.task is None:
            self.task = self.bar.add_task(self.name, total=total)
        else:
            self.bar.update(self.task, total=total)

    def advance(self, amount: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, amount)


@jobs_app.command("run")
def jobs_run(
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="Business date (default: today in the business time zone)"),
    ] = None,
    rerun: Annotated[bool, typer.Option(help="Run again the jobs that already finished for the date")] = False,
) -> None:
    """Run the daily jobs due for a business date and show what each did; exit 1 if one failed."""
    from dinecard.platform.jobs import RunStatus, run_due

    container = _container()
    try:
        with Progress(console=console, transient=True) as bar:
            outcomes = run_due(
                container,
                as_of.date() if as_of else None,
                rerun=rerun,
                progress_for=lambda name: _RichJobProgress(bar, name),
            )
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        container.database.dispose()
    table = Table("job", "business date", "status", "what it did")
    for outcome in outcomes:
        did = ", ".join(f"{name}={count}" for name, count in sorted(outcome.counts.items())) or "-"
        status = outcome.status.value if outcome.error is None else f"{outcome.status.value}: {outcome.error}"
        table.add_row(outcome.job, outcome.business_date.isoformat(), status, did)
    console.print(table)
    if any(outcome.status is RunStatus.FAILED for outcome in outcomes):
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list() -> None:
    """List the registered daily jobs and the last business date each finished for."""
    from sqlalchemy import func, select

    from dinecard.platform.jobs import JobRun, registered_jobs

    container = _container()
    with container.database.read() as session:
        rows = session.execute(
            select(JobRun.job, func.max(JobRun.business_date))
            .where(JobRun.finished_at.is_not(None))
            .group_by(JobRun.job)
        ).all()
    last = {job: business_date for job, business_date in rows}
    container.database.dispose()
    table = Table("job", "what it does", "last finished for")
    for job in registered_jobs():
        finished = last.get(job.name)
        table.add_row(job.name, job.description, finished.isoformat() if finished else "never")
    console.print(table)


@app.command("worker")
def worker(
    interval: Annotated[
        float | None, typer.Option(min=0.05, max=3600, help="Seconds between iterations (default: settings)")
    ] = None,
) -> None:
    """Deliver notifications and run the daily jobs until SIGTERM or Ctrl-C; run as many as you like."""
    from dinecard.platform.worker import run_worker

    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    container = _container()
    stop = threading.Event()

    def request_stop(signal_number: int, _frame: FrameType | None) -> None:
        console.print(f"Stopping after the current iteration ({signal.Signals(signal_number).name})")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    seconds = interval if interval is not None else settings.worker_interval_seconds
    console.print(f"DineCard worker started (every {seconds:g} s)")
    try:
        run_worker(container, stop, seconds)
    finally:
        container.database.dispose()


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
