"""`shixin publish` and `shixin generate`."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

logger = logging.getLogger(__name__)

PROGRESS_MIN_BYTES = 4_000_000  # a few thousand listings or lifecycles


def publish(
    files: Annotated[
        list[Path],
        typer.Argument(help="JSON Lines or CSV files of listings or lifecycles."),
    ],
    all_or_nothing: Annotated[
        bool,
        typer.Option(
            "--all-or-nothing",
            help="Publish each file in one Kafka transaction, or nothing of it.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and convert; produce nothing.")
    ] = False,
) -> None:
    """Validate input files and publish their events to the ledger.

    Exit status: 0 all published, 1 some records rejected (see <file>.rejects.csv),
    2 a delivery failure or an interruption (Ctrl-C, SIGTERM).
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
    )

    from producers.publish import (
        EXIT_DELIVERY,
        Interrupted,
        StopFlag,
        exit_code,
        publish_files,
    )
    from producers.publisher import DeliveryError
    from shixin.settings import get_settings

    settings = get_settings()
    _configure_logging(settings.log_level)
    console = Console(stderr=True)
    for path in files:
        if not path.is_file():
            console.print(f"[red]cannot publish {str(path)!r}: no such file[/red]")
            raise typer.Exit(EXIT_DELIVERY)

    stop = StopFlag()
    _install_signal_handlers(stop)

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    task: list[TaskID] = []

    def on_file(path: Path) -> None:
        size = path.stat().st_size
        progress.update(task[0], description=path.name, total=size, completed=0)
        progress.update(task[0], visible=size >= PROGRESS_MIN_BYTES)

    def on_record(record: object) -> None:
        end = getattr(record, "end", 0)
        if end:
            progress.update(task[0], completed=end)

    try:
        with progress:
            task.append(progress.add_task("", total=None, visible=False))
            reports = publish_files(
                files,
                settings=settings,
                all_or_nothing=all_or_nothing,
                dry_run=dry_run,
                stop=stop,
                on_record=on_record,
                on_file=on_file,
            )
    except Interrupted:
        console.print("[red]aborted: queued messages dropped, delivery unknown[/red]")
        raise typer.Exit(EXIT_DELIVERY) from None
    except DeliveryError as exc:
        console.print(f"[red]error: {escape(str(exc))}[/red]", highlight=False)
        raise typer.Exit(EXIT_DELIVERY) from exc

    _print_summary(console, reports, dry_run=dry_run, all_or_nothing=all_or_nothing)
    raise typer.Exit(exit_code(reports))


def _install_signal_handlers(stop: object) -> None:
    """First Ctrl-C or SIGTERM: stop reading, flush, report. Second: abort now."""
    from producers.publish import Interrupted

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if getattr(stop, "requested", False):
            raise Interrupted(f"second {name}")
        stop.requested = True  # type: ignore[attr-defined]
        stop.signal_name = name  # type: ignore[attr-defined]
        print(f"\n{name}: finishing and flushing; send again to abort", file=sys.stderr)

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _print_summary(
    console: object, reports: list, *, dry_run: bool, all_or_nothing: bool
) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    assert isinstance(console, Console)
    table = Table(title="dry run: nothing produced" if dry_run else "published")
    for column in (
        "file",
        "records",
        "rejected",
        "events",
        "duplicates",
        "events/s",
        "status",
    ):
        table.add_column(
            column, justify="left" if column in ("file", "status") else "right"
        )
    for r in reports:
        if r.delivery_error:
            status = "[red]delivery failed (see below)[/red]"
        elif r.file_error:
            status = "[red]unreadable (see below)[/red]"
        elif r.interrupted:
            status = "[red]interrupted[/red]"
        elif all_or_nothing and not dry_run and not r.committed:
            status = "[yellow]nothing published (rejects)[/yellow]"
        elif r.rejected:
            status = f"[yellow]rejects in {r.rejects_file}[/yellow]"
        elif r.records == 0:
            status = "[yellow]empty file[/yellow]"
        else:
            status = "ok"
        table.add_row(
            str(r.path),
            str(r.records),
            str(r.rejected),
            str(r.events),
            str(r.duplicates),
            f"{r.rate:,.0f}",
            status,
        )
    Console().print(table)
    for r in reports:
        if r.delivery_error:
            console.print(
                f"[red]{escape(str(r.path))}: delivery failed: "
                f"{escape(r.delivery_error)}[/red]",
                highlight=False,
            )
        if r.file_error:
            console.print(f"[red]{escape(r.file_error)}[/red]", highlight=False)
    for r in reports:
        for topic, count in sorted(r.by_topic.items()):
            logger.info("file=%s topic=%s events=%d", r.path.name, topic, count)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )


def generate(
    listings: Annotated[
        int, typer.Option("--listings", min=1, help="How many listings.")
    ],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same bytes.")] = 1,
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory for listings.jsonl, lifecycles.jsonl."),
    ] = Path("."),
) -> None:
    """Write a realistic, deterministic workload in the formats of data/.

    Exit status: 0 written, 2 the --out directory cannot be created or written."""
    import time

    from producers.generate import generate_files

    started = time.perf_counter()
    try:
        counts = generate_files(out, listings=listings, seed=seed)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        where = f" ({exc.filename})" if exc.filename else ""
        typer.echo(
            f"error: cannot write the workload to --out {str(out)!r}: "
            f"{reason.lower()}{where}",
            err=True,
        )
        raise typer.Exit(2) from exc
    seconds = time.perf_counter() - started
    typer.echo(
        f"wrote {counts.listings} listings, {counts.lifecycles} lifecycles,"
        f" {counts.events} lifecycle events to {out} in {seconds:.1f}s"
    )
