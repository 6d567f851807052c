"""`shixin stack up|down|status` and `shixin topics ensure`."""

from __future__ import annotations

import logging
import time

import typer
from rich.console import Console
from rich.table import Table

from shixin.broker import KafkaUnavailable
from shixin.settings import Settings
from shixin.stack import manager
from shixin.stack.errors import StackError
from shixin.stack.topics import ensure_topics

logger = logging.getLogger(__name__)

app = typer.Typer(help="The embedded Kafka broker and PostgreSQL server.")
topics_app = typer.Typer(help="The ledger's Kafka topics.")
console = Console()


def _settings() -> Settings:
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper())
    return settings


@app.command("up")
def up() -> None:
    """Start Kafka and PostgreSQL (or reuse running ones) and create the topics."""
    settings = _settings()
    began = time.monotonic()
    try:
        manager.up(settings)
    except (StackError, KafkaUnavailable) as exc:
        console.print(
            f"[red]stack up failed:[/red] {exc}", markup=True, highlight=False
        )
        raise typer.Exit(1) from exc
    console.print(f"stack up in {time.monotonic() - began:.1f}s")
    _print_status(settings)


@app.command("down")
def down() -> None:
    """Stop what `shixin stack up` started; leave anything else alone."""
    settings = _settings()
    stopped = manager.down(settings)
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")


@app.command("status")
def status() -> None:
    """Show what runs where (pid, port, version) and whether we started it.

    Exit status 0: every service is up; 3: one or more is down."""
    settings = _settings()
    rows = _print_status(settings)
    if not all(row.running for row in rows):
        raise typer.Exit(3)


def _print_status(settings: Settings) -> list[manager.ServiceStatus]:
    rows = manager.status(settings)
    table = Table(title=f"shixin stack (data in {settings.data_dir})")
    for column in ("service", "address", "state", "pid", "started by us", "version"):
        table.add_column(column)
    table.add_column("detail", overflow="fold")
    for row in rows:
        table.add_row(
            row.name,
            row.address,
            "[green]up[/green]" if row.running else "[red]down[/red]",
            str(row.pid) if row.pid is not None else "-",
            "yes" if row.started_by_us else "no",
            row.version or "-",
            row.detail,
        )
    console.print(table)
    return rows


@topics_app.command("ensure")
def ensure() -> None:
    """Create every topic of TOPIC_PREFIX that is missing.

    Exit status: 0 done, 1 a topic cannot be created or has another partition
    count, 4 Kafka unreachable."""
    from projections.cli import unavailable

    settings = _settings()
    try:
        created = ensure_topics(settings)
    except KafkaUnavailable as exc:
        raise unavailable(str(exc)) from exc
    except StackError as exc:
        console.print(f"[red]topics ensure failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    if created:
        console.print("created: " + ", ".join(created))
    else:
        console.print(f"all topics of prefix '{settings.topic_prefix}' exist")
