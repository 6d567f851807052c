"""`shixin process` (the processor worker) and `shixin clock tick`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from shixin.settings import get_settings

logger = logging.getLogger(__name__)

clock_app = typer.Typer(
    name="clock", help="Clock ticks: the instants overdue deadlines are detected at."
)


def process(
    until_caught_up: Annotated[
        bool,
        typer.Option(
            "--until-caught-up",
            help="Stop once every input partition reached the end offsets read at "
            "start and the derived events are flushed and committed; exit 1, "
            "naming the partitions behind, if nothing moves for 60 s before.",
        ),
    ] = False,
    metrics_file: Annotated[
        Path | None,
        typer.Option(help="Write the worker's counters and lag here as JSON."),
    ] = None,
    metrics_interval: Annotated[
        float, typer.Option(help="Seconds between two progress logs / metric files.")
    ] = 10.0,
    timekeeper: Annotated[
        bool,
        typer.Option(
            help="Run the leader-only timekeeper that ticks the clock topic every "
            "CLOCK_INTERVAL_SECONDS (off for tests and replays at fixed instants).",
        ),
    ] = True,
    loglevel: Annotated[
        str | None, typer.Option("--loglevel", "-l", help="Log level (LOG_LEVEL).")
    ] = None,
    app_id: Annotated[
        str | None,
        typer.Option(
            help="Consumer group and prefix of the worker's tables (default "
            "'<TOPIC_PREFIX>.processors'); a new id processes the log from the start."
        ),
    ] = None,
) -> None:
    """Run a processor worker: derive sanction state and deadlines from the ledger."""
    from processors.checks import StartupError
    from processors.worker import WorkerOptions, run
    from projections.cli import unavailable
    from shixin.broker import KafkaUnavailable

    settings = get_settings()
    options = WorkerOptions(
        until_caught_up=until_caught_up,
        metrics_file=metrics_file,
        metrics_interval=metrics_interval,
        timekeeper=timekeeper,
        loglevel=(loglevel or settings.log_level).lower(),
        app_id=app_id,
    )
    try:
        code = run(settings, options)
    except StartupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except KafkaUnavailable as exc:
        raise unavailable(str(exc)) from exc
    raise typer.Exit(code)


@clock_app.command("tick")
def tick(
    at: Annotated[
        str,
        typer.Option(
            "--at",
            help="The instant, ISO 8601 with an offset (2024-05-01T00:00:00+08:00).",
        ),
    ],
) -> None:
    """Write one clock tick into every partition of the clock topic."""
    from processors.clock import ClockError, parse_instant, publish_ticks
    from projections.cli import unavailable
    from shixin.broker import KafkaUnavailable

    try:
        instant = parse_instant(at)
        count = publish_ticks(get_settings(), instant)
    except ClockError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except KafkaUnavailable as exc:
        raise unavailable(str(exc)) from exc
    typer.echo(f"ticked {instant.isoformat()} into {count} partitions")
