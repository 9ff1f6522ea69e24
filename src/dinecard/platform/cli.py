"""The `dinecard` command: database, stores, API keys, demo data, serving, jobs, the worker and reconciliation."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.progress import Progress, TaskID
from rich.table import Table

from dinecard.coupons import cli as coupons_cli
from dinecard.lottery import cli as lottery_cli
from dinecard.mall import cli as mall_cli
from dinecard.menu import cli as menu_cli
from dinecard.platform.cli_support import CLI_ACTOR, console
from dinecard.platform.cli_support import container as cli_container
from dinecard.platform.container import Container
from dinecard.platform.logging import configure_logging
from dinecard.platform.settings import Settings, get_settings
from dinecard.security import audit
from dinecard.security.domain import Role
from dinecard.shared.errors import DomainError

app = typer.Typer(help="DineCard: membership, stored value and points for restaurant chains.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
store_app = typer.Typer(help="Stores.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for POS systems and operators.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
keys_app = typer.Typer(help="Personal-data keys: generate and rotate.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
program_app = typer.Typer(help="The membership programme: tiers, points, levels, member day.", no_args_is_help=True)
jobs_app = typer.Typer(help="Daily jobs: points expiry, reminders, ...", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log: seal, verify, show.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")
app.add_typer(apikey_app, name="apikey")
app.add_typer(demo_app, name="demo")
app.add_typer(program_app, name="program")
app.add_typer(keys_app, name="keys")
app.add_typer(staff_app, name="staff")
app.add_typer(jobs_app, name="jobs")
app.add_typer(audit_app, name="audit")
app.add_typer(mall_cli.app, name="mall")
app.add_typer(lottery_cli.app, name="lottery")
app.add_typer(coupons_cli.app, name="coupons")
app.add_typer(menu_cli.app, name="menu")

AUDIT_SEAL_BATCHES_MAX = 10_000


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
    from dinecard.security import audit
    from dinecard.stores.service import create_store

    container = cli_container()
    now = container.clock.now()
    with container.database.write() as uow:
        store = create_store(uow, code, name, now)
        store_id = store.id
        after = {"id": store_id, "code": code, "name": name}
        audit.record(
            uow,
            actor=None,
            actor_name=CLI_ACTOR,
            action="cli store create",
            target_kind="store",
            target_id=store_id,
            after=after,
            now=now,
        )
    console.print(f"Store {code} created")
    sys.stdout.write(store_id + "\n")


@store_app.command("list")
def store_list() -> None:
    """List stores."""
    from dinecard.stores.service import list_stores

    container = cli_container()
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
    from dinecard.security import audit
    from dinecard.security.service import create_api_key

    container = cli_container()
    now = container.clock.now()
    with container.database.write() as uow:
        key_id, token = create_api_key(uow, name, role, store, now)
        after = {"id": key_id, "name": name, "role": role.value, "store_id": store}
        audit.record(
            uow,
            actor=None,
            actor_name=CLI_ACTOR,
            action="cli apikey create",
            target_kind="api_key",
            target_id=key_id,
            store_id=store,
            after=after,
            now=now,
        )
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

    container = cli_container()
    summary = generate(container, DemoSpec(members=members, stores=stores, days=days, seed=seed), console=console)
    console.print(f"[green]Demo chain loaded[/green]: {summary}")


@program_app.command("show")
def program_show() -> None:
    """Print the programme in force now as JSON (a file `program apply` accepts)."""
    container = cli_container()
    program = container.program
    document = {"version": program.version, "program": program.model_dump(mode="json", exclude={"version"})}
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def _save_program(program_document: dict[str, object], note: str, effective_at: datetime | None, action: str) -> None:
    from pydantic import ValidationError

    from dinecard.program.domain import Program
    from dinecard.program.service import save_version
    from dinecard.security import audit

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
    container = cli_container()
    now = container.clock.now()
    before = {"version": container.program.version}
    try:
        with container.database.write() as uow:
            saved = save_version(uow, program, effective_at or now, now, CLI_ACTOR, note)
            after = {
                "version": saved.version,
                "effective_at": max(effective_at or now, now).isoformat(),
                "note": note,
                "program": saved.model_dump(mode="json"),
            }
            audit.record(
                uow,
                actor=None,
                actor_name=CLI_ACTOR,
                action=action,
                target_kind="program",
                target_id=str(saved.version),
                before=before,
                after=after,
                now=now,
            )
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
    _save_program(document, note or f"applied from {file.name}", effective_at, "cli program apply")


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
    _save_program(document, f"preset {name}", effective_at, "cli program preset")


@program_app.command("versions")
def program_versions() -> None:
    """List every programme version, newest first."""
    from dinecard.program.service import list_versions

    table = Table("version", "name", "effective at", "created at", "by", "note")
    for info in list_versions(cli_container().database):
        table.add_row(
            str(info.version),
            info.name,
            info.effective_at.isoformat(),
            info.created_at.isoformat(),
            info.created_by or "",
            info.note or "",
        )
    console.print(table)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Embedded mode: add a new key to data/data.key and re-seal every phone with it.

    With DINECARD_DATA_KEY (production): first deploy "NEWKEY,OLDKEY" to every process
    (`dinecard keys generate` prints a new key), then run this to move every row to NEWKEY,
    then drop OLDKEY from the configuration.
    """
    from dinecard.security.crypto import load_or_create_keys, new_key_text
    from dinecard.security.keys import rotate, stale_count

    settings = get_settings()
    if settings.data_key is None:
        key_file = settings.data_dir / "data.key"
        old = load_or_create_keys(None, key_file)
        key_file.write_text(new_key_text() + "\n" + key_file.read_text())
        console.print(f"New key added to {key_file} ({len(old)} older key(s) kept until every row has moved)")
    container = cli_container()
    moved = rotate(container.database, container.cipher)
    left = stale_count(container.database, container.cipher)
    with container.database.write() as uow:
        audit.record(
            uow,
            actor=None,
            actor_name="cli",
            action="cli keys rotate",
            target_kind="key",
            target_id=container.cipher.key_id,
            now=container.clock.now(),
            after={"moved": moved, "left": left},
        )
    console.print(f"[green]{moved} member(s) re-sealed with key {container.cipher.key_id}[/green]; {left} left")
    if left:
        raise typer.Exit(1)
    if settings.data_key is None:
        # Every row now opens with the newest key: the older ones can go (staff log in again).
        key_file = settings.data_dir / "data.key"
        key_file.write_text(key_file.read_text().splitlines()[0] + "\n")
        console.print("Older keys removed from the key file")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new random key (base64) for DINECARD_DATA_KEY."""
    from dinecard.security.crypto import new_key_text

    sys.stdout.write(new_key_text() + "\n")


@staff_app.command("create")
def staff_create(
    username: Annotated[str, typer.Option(help="Login name")],
    role: Annotated[Role, typer.Option(help="cashier, store_manager or hq_admin")],
    store: Annotated[str | None, typer.Option(help="Store id (cashiers and store managers)")] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown on receipts")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Create a staff account (the password is asked for, never echoed)."""
    from dinecard.security.staff import create_staff

    container = cli_container()
    try:
        with container.database.write() as uow:
            staff_id = create_staff(
                uow,
                username=username,
                password=password,
                role=role,
                store_id=store,
                display_name=display_name or username,
                now=container.clock.now(),
            )
            audit.record(
                uow,
                actor=None,
                actor_name="cli",
                action="cli staff create",
                target_kind="staff",
                target_id=staff_id,
                now=container.clock.now(),
                after={"username": username, "role": role.value, "store_id": store},
            )
    except DomainError as exc:
        console.print(f"[red]{exc.kind.message_en}[/red]")
        raise typer.Exit(2) from None
    console.print(f"Staff account {username} ({role.value}) created")
    sys.stdout.write(staff_id + "\n")


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
    configure_logging(settings.log_format, settings.log_level)
    uvicorn.run("dinecard.platform.asgi:app", host=host, port=port, workers=workers, log_level="info", access_log=False)


@app.command("quickstart")
def quickstart(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
) -> None:
    """First run: create the embedded database, load the demo chain once, print a key, serve."""
    from dinecard.demo.generator import DemoSpec, generate, has_demo_data
    from dinecard.demo.staff import DEMO_PASSWORD, ensure_demo_logins
    from dinecard.platform.migrate import upgrade
    from dinecard.security import audit
    from dinecard.security.service import create_api_key

    settings = get_settings()
    upgrade(settings.resolved_database_url())
    container = Container.from_settings(settings)
    if not has_demo_data(container):
        generate(container, DemoSpec(), console=console)
    logins = ensure_demo_logins(container)
    now = container.clock.now()
    with container.database.write() as uow:
        key_id, token = create_api_key(uow, "quickstart", Role.HQ_ADMIN, None, now)
        after = {"id": key_id, "name": "quickstart", "role": Role.HQ_ADMIN.value, "store_id": None}
        audit.record(
            uow,
            actor=None,
            actor_name=CLI_ACTOR,
            action="cli quickstart",
            target_kind="api_key",
            target_id=key_id,
            after=after,
            now=now,
        )
    container.database.dispose()
    console.print(f"\n[bold green]DineCard is starting at http://{host}:{port}[/bold green]")
    console.print(f"  The till:     http://{host}:{port}/till")
    for login in logins:
        console.print(f"  Demo login:   {login.username} / {DEMO_PASSWORD}  ({login.role.value})")
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

    container = cli_container()
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

    container = cli_container()
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
    configure_logging(settings.log_format, settings.log_level)
    container = cli_container()
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

    container = cli_container()
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


@audit_app.command("seal")
def audit_seal(
    settle_seconds: Annotated[
        float, typer.Option(min=0, max=3600, help="Leave entries younger than this for the next run")
    ] = 0,
) -> None:
    """Seal every committed audit entry onto the hash chain now (the worker does it every few seconds)."""
    from dinecard.security import audit

    container = cli_container()
    sealed = late = 0
    try:
        for _ in range(AUDIT_SEAL_BATCHES_MAX):
            now = audit.sealing_time(container.clock.now())
            result = audit.seal_pending(container.database, now, settle_seconds)
            sealed += result.sealed
            late += result.late
            if result.sealed < audit.SEAL_BATCH:
                break
    finally:
        container.database.dispose()
    console.print(f"[green]{sealed} audit entries sealed[/green]" + (f" ({late} committed late)" if late else ""))


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the audit hash chain; exit 1 naming the first altered or deleted entry when it is broken."""
    from dinecard.security import audit

    container = cli_container()
    try:
        report = audit.verify(container.database)
    finally:
        container.database.dispose()
    console.print(
        f"{report.sealed} sealed entries checked, {report.unsealed} not sealed yet; the seal counts {report.seal_count}"
    )
    if report.ok:
        console.print("[green]The audit chain is intact[/green]")
        return
    for problem in report.problems:
        console.print(f"[red]{problem}[/red]", soft_wrap=True)
    if report.first_bad_entry_id is not None:
        sys.stdout.write(f"first bad entry: {report.first_bad_entry_id}\n")
    raise typer.Exit(1)


@audit_app.command("show")
def audit_show(
    member: Annotated[str | None, typer.Option(help="Only entries about this member id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many entries, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line, with before and after")] = False,
) -> None:
    """List audit entries, newest first."""
    from dinecard.security import audit

    container = cli_container()
    try:
        with container.database.read() as session:
            lines = audit.list_entries(session, target_id=member, limit=limit)
    finally:
        container.database.dispose()
    if as_json:
        for line in lines:
            document = {**vars(line), "occurred_at": line.occurred_at.isoformat()}
            sys.stdout.write(json.dumps(document, ensure_ascii=False, sort_keys=True) + "\n")
        return
    table = Table("id", "when", "who", "from", "action", "target", "order", "change", "sealed")
    for line in lines:
        who = f"{line.actor_name or line.actor_kind} ({line.actor_role or line.actor_kind})"
        target = f"{line.target_kind or ''} {line.target_id or ''}".strip()
        table.add_row(
            str(line.id),
            line.occurred_at.isoformat(timespec="seconds"),
            who,
            line.ip or "",
            line.action,
            target,
            line.order_no or "",
            _change_summary(line.before, line.after),
            "yes" if line.sealed else "no",
        )
    console.print(table)


def _change_summary(before: object, after: object) -> str:
    """Balance and points before → after, for entries about a member's money."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return ""
    parts = []
    if isinstance(before.get("balance"), dict) and isinstance(after.get("balance"), dict):
        parts.append(f"balance {before['balance'].get('total')} → {after['balance'].get('total')}")
    if isinstance(before.get("points"), dict) and isinstance(after.get("points"), dict):
        parts.append(f"points {before['points'].get('usable')} → {after['points'].get('usable')}")
    return ", ".join(parts)


def main() -> None:
    # Settings errors (a bad URL, a bad key) get a one-line message, not a traceback.
    try:
        Settings()
    except Exception as exc:  # pragma: no cover - configuration problems only
        console.print(f"[red]Configuration error:[/red] {exc}")
        sys.exit(2)
    app()
