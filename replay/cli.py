"""`shixin replay` and `shixin audit`: rebuild from the log, compare, answer."""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from projections.cli import instant_option, schema_name
from shixin.settings import get_settings

logger = logging.getLogger(__name__)

audit_app = typer.Typer(
    help=(
        "Auditors' tools: digests, diffs and questions answered from the tables. "
        "Exit status 2: invalid input; 4: could not answer (database unreachable, "
        "schema missing or not built); diff: 1 when the schemas differ."
    ),
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


SchemaOpt = Annotated[
    str,
    typer.Option(
        "--schema",
        envvar="LEDGER_SCHEMA",
        help="Schema of the query tables to read.",
        callback=schema_name,
    ),
]


def _day(value: str, option: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from exc
    _in_ledger_years(day, value, option)
    return day


def _in_ledger_years(day: date, value: str, option: str) -> None:
    """The years the contract accepts acts in (`contract.inputs`): outside them no
    act can be, and the day's end would not be countable (9999-12-31)."""
    from contract.inputs import LEDGER_YEARS, in_ledger_years

    if not in_ledger_years(day):
        raise typer.BadParameter(
            f"{value!r}: expected a day {LEDGER_YEARS}", param_hint=option
        )


def _date_range(since: str, until: str) -> tuple[date, date]:
    first, last = _day(since, "--from"), _day(until, "--to")
    if first > last:
        raise typer.BadParameter(
            f"--from {first.isoformat()} is after --to {last.isoformat()}: expected "
            "a period whose first day is on or before its last day"
        )
    return first, last


def _agency(value: str | None) -> str | None:
    """The agency code in the catalogue's spelling, as `shixin check` reads it."""
    from projections.check import CheckInputError, normalized_agency

    if value is None:
        return None
    try:
        return normalized_agency(value, "agency")
    except CheckInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--agency") from exc


def _court(value: str | None) -> str | None:
    """The court code the rules engine accounts a court's obligations under, given
    by the code or (for a court of the directory `rules.courts`) the full name,
    full-width characters folded. A code is taken when it is well-formed the way
    the publisher's input validation takes a court actor's code (the directory
    lists only some Fujian courts; the publisher accepts any well-formed code, so
    any such court can have missed a deadline). Anything else would match no row
    and give an empty report that looks like a court that missed nothing."""
    from contract.inputs import court_code_ok  # the publisher's own check
    from rules.courts import COURT_NAMES, court_code

    if value is None:
        return None
    code = court_code(unicodedata.normalize("NFKC", value).strip())
    if code not in COURT_NAMES and not court_code_ok(code):
        raise typer.BadParameter(
            f"court {value!r} is neither a court code nor the full name of a court "
            "of the directory (rules/courts.py): expected a court code as the "
            "publisher accepts it (a province abbreviation alone or with 2 or 4 "
            "digits, such as 闽0203, 闽02, 闽 or 京0105, or 最高法) or a full name "
            f"such as {COURT_NAMES['闽0203']} (full names are known only for the "
            f"directory's courts: {', '.join(COURT_NAMES)})",
            param_hint="--court",
        )
    return code


def _subject(value: str) -> str:
    """The subject as stored, checked as `shixin check` checks it."""
    from projections.check import CheckInputError, normalized_subject, subject_kind

    try:
        subject_kind(value)
    except CheckInputError as exc:
        raise typer.BadParameter(str(exc), param_hint="--subject") from exc
    return normalized_subject(value)


@contextmanager
def _connect(*schemas: str, built: bool = False) -> Iterator[Any]:
    """A pinned session on the database, never a traceback: a listing not found is
    a usage error (exit status 2); a database that cannot answer (unreachable, a
    schema missing or, with `built`, not built: nothing was ever projected into it,
    so "no rows" would be an answer it cannot give) is exit status 4, one line
    naming what failed."""
    from projections.check import NotProjected, projected_as_of
    from projections.cli import EXIT_USAGE, connect, database_errors, unavailable
    from replay.audit import SchemaNotFound, pin_session

    url = get_settings().postgres_url
    try:
        with database_errors(url, schemas), connect(url) as conn:
            pin_session(conn)
            for schema in schemas if built else ():
                projected_as_of(conn, schema)
            yield conn
    except (SchemaNotFound, NotProjected) as exc:
        raise unavailable(str(exc.args[0] if exc.args else exc)) from exc
    except LookupError as exc:
        typer.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _show(title: str, rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([_plain(r) for r in rows], ensure_ascii=False, indent=1))
        return
    console = Console()
    if not rows:
        console.print(f"[bold]{title}[/bold]: no rows")
        return
    table = Table(title=title, show_lines=False)
    for column in rows[0]:
        table.add_column(column, overflow="fold")
    cells = [
        ["" if v is None else str(_plain(v)) for v in row.values()] for row in rows
    ]
    for row_cells in cells:
        table.add_row(*row_cells)
    unbounded = console.options.update_width(1 << 20)  # the table's own width
    if console.measure(table, options=unbounded).maximum <= console.width:
        console.print(table)
        return
    # too wide for the terminal: a table folded into it would cut every id and
    # instant into pieces; one block per row, "column  value", reads whole
    console.print(f"[bold]{title}[/bold] ({len(rows)} rows)")
    for number, row_cells in enumerate(cells, start=1):
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold")
        block.add_column(overflow="fold")
        for column, cell in zip(rows[0], row_cells, strict=True):
            block.add_row(column, cell)
        console.print(f"[dim]#{number}[/dim]")
        console.print(block)


def replay_command(
    into: Annotated[
        str, typer.Option("--into", help="Scratch schema to build the tables in.")
    ],
    until: Annotated[
        str | None,
        typer.Option(help="Keep only acts that took effect by this instant (ISO)."),
    ] = None,
    until_offsets: Annotated[
        Path | None,
        typer.Option(help='JSON {"topic": {"partition": offset}}: stop there.'),
    ] = None,
    fresh: Annotated[
        bool, typer.Option(help="Drop the schema first instead of resuming.")
    ] = False,
    batch: Annotated[int, typer.Option(min=1, help="Records per transaction.")] = 5000,
) -> None:
    """Rebuild every query table from the log alone into a scratch schema.

    A schema is resumed only with the cut-off (--until) it was built with; --fresh
    rebuilds it. Exit status 2: invalid input or refused; 4: database or Kafka
    unreachable; 130: interrupted (run again to resume)."""
    from confluent_kafka import KafkaException
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from projections.cli import EXIT_USAGE, database_errors, unavailable
    from replay.replayer import ReplayError, read_offsets_file, replay

    if until is not None and until_offsets is not None:
        raise typer.BadParameter("give --until or --until-offsets, not both")
    cutoff = instant_option(until, "--until")
    settings = get_settings()
    try:
        stop = None if until_offsets is None else read_offsets_file(str(until_offsets))
    except ReplayError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    with (
        database_errors(settings.postgres_url),
        Progress(
            TextColumn("replay"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>10} ev/s"),
            TimeRemainingColumn(),
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("replay", total=None, rate="")
        started = time.monotonic()
        piped = not progress.console.is_terminal
        said = started

        def on_progress(done: int, total: int) -> None:
            now = time.monotonic()
            elapsed = max(now - started, 1e-6)
            rate = done / elapsed
            progress.update(task, completed=done, total=total, rate=f"{rate:,.0f}")
            nonlocal said
            if piped and (now - said >= 10 or done >= total):
                said = now  # no bar when piped: a line every 10 s instead
                left = (total - done) / rate if rate else 0.0
                typer.echo(
                    f"replay: {done:,}/{total:,} records, {rate:,.0f} records/s, "
                    f"about {left:,.0f} s left",
                    err=True,
                )

        try:
            stats = replay(
                settings,
                into,
                until=cutoff,
                until_offsets=stop,
                fresh=fresh,
                batch_size=batch,
                on_progress=on_progress,
            )
        except ReplayError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from exc
        except KafkaException as exc:
            raise unavailable(
                f"Kafka unreachable at {settings.bootstrap_servers}: {exc} "
                "(is the broker running? KAFKA_BOOTSTRAP_SERVERS / KAFKA_PORT)"
            ) from exc
    Console().print(
        f"replayed [bold]{stats.records:,}[/bold] records into [bold]{into}[/bold] "
        f"in {stats.seconds:.1f}s ({stats.rate:,.0f} records/s): "
        f"{stats.applied:,} events applied, {stats.skipped:,} seen before, "
        f"{stats.derived:,} derived, {stats.filtered:,} after --until, "
        f"{stats.dead_letters:,} undecodable or refused"
        + (
            f", {stats.contradictions:,} event ids met again with other content"
            if stats.contradictions
            else ""
        )
        + (
            f" (named in {into}.projector_rejects)"
            if stats.dead_letters or stats.contradictions
            else ""
        )
        + (" — interrupted, run again to resume" if stats.interrupted else "")
    )
    if stats.interrupted:
        raise typer.Exit(130)


@audit_app.command("digest")
def digest_command(
    schema: Annotated[str, typer.Argument(help="Schema to digest.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="Every row of every table, as stored.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Print a digest per table and one for the schema."""
    from replay.audit import digest_schema

    with _connect(schema) as conn:
        result = digest_schema(conn, schema, view="raw" if raw else "content")
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    for t in result.tables:
        typer.echo(f"{t.sha256}  {t.rows:>9}  {t.table}")
    typer.echo(f"{result.sha256}  {'':>9}  {schema} ({result.view})")


@audit_app.command("diff")
def diff_command(
    schema_a: Annotated[str, typer.Argument()],
    schema_b: Annotated[str, typer.Argument()],
    raw: Annotated[bool, typer.Option("--raw")] = False,
    limit: Annotated[int, typer.Option(help="Rows shown per table and side.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Show the rows that differ between two schemas, table by table."""
    from replay.audit import diff_schemas

    with _connect(schema_a, schema_b) as conn:
        diffs = diff_schemas(conn, schema_a, schema_b, view="raw" if raw else "content")
    differing = [d for d in diffs if not d.equal]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    d.table: {"only_a": d.only_a[:limit], "only_b": d.only_b[:limit]}
                    for d in differing
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        console = Console()
        if not differing:
            console.print(f"{schema_a} and {schema_b}: no differences")
        for d in differing:
            console.print(
                f"[bold]{d.table}[/bold]: {len(d.only_a)} rows only in {schema_a}, "
                f"{len(d.only_b)} only in {schema_b}"
            )
            for side, rows in ((schema_a, d.only_a), (schema_b, d.only_b)):
                for row in rows[:limit]:
                    console.print(f"  {side}: {json.dumps(row, ensure_ascii=False)}")
    if differing:
        raise typer.Exit(1)


@audit_app.command("history")
def history_command(
    listing_id: Annotated[str, typer.Argument(help="Listing id (the message key).")],
    derived: Annotated[
        bool, typer.Option(help="Also show what the rules engine derived.")
    ] = False,
    schema: SchemaOpt = "ledger",
    as_json: JsonOpt = False,
) -> None:
    """Every event of a listing, with when it took effect and when it was recorded."""
    from replay.questions import listing_history

    with _connect(schema, built=True) as conn:
        rows = listing_history(conn, schema, listing_id, derived=derived)
    _show(f"history of {listing_id}", rows, as_json)


@audit_app.command("enforce")
def enforce_command(
    subject: Annotated[
        str, typer.Option(help="Resident ID number or unified social credit code.")
    ],
    on: Annotated[str, typer.Option(help="The date (YYYY-MM-DD, Asia/Shanghai).")],
    agency: Annotated[str | None, typer.Option(help="Agency code.")] = None,
    schema: SchemaOpt = "ledger",
    as_json: JsonOpt = False,
) -> None:
    """What an agency had to enforce against a subject on a date, and why."""
    from replay.questions import had_to_enforce

    value, day, code = _subject(subject), _day(on, "--on"), _agency(agency)
    with _connect(schema, built=True) as conn:
        rows = had_to_enforce(conn, schema, value, day, code)
    _show(
        f"measures recorded against the subject as of the end of {on} "
        "(must_enforce: whether each was to be enforced)",
        rows,
        as_json,
    )


@audit_app.command("missed")
def missed_command(
    since: Annotated[str, typer.Option("--from", help="First due date (inclusive).")],
    until: Annotated[str, typer.Option("--to", help="Last due date (inclusive).")],
    court: Annotated[
        str | None,
        typer.Option(
            help="Court code (e.g. 闽0203, 京0105) or full name (of rules/courts.py)."
        ),
    ] = None,
    agency: Annotated[str | None, typer.Option(help="Agency code.")] = None,
    publisher: Annotated[str | None, typer.Option(help="Republisher name.")] = None,
    schema: SchemaOpt = "ledger",
    as_json: JsonOpt = False,
) -> None:
    """The deadlines a court, agency or republisher missed in a period."""
    from replay.questions import missed_deadlines

    chosen = [(k, v) for k, v in (("COURT", court), ("AGENCY", agency),
              ("REPUBLISHER", publisher)) if v is not None]  # fmt: skip
    if len(chosen) > 1:
        raise typer.BadParameter("give one of --court, --agency, --publisher")
    kind, code = chosen[0] if chosen else (None, None)
    if kind == "AGENCY":
        code = _agency(code)
    elif kind == "COURT":
        code = _court(code)
    elif kind == "REPUBLISHER" and not str(code).strip():
        raise typer.BadParameter("--publisher is empty; expected a republisher name")
    first, last = _date_range(since, until)
    with _connect(schema, built=True) as conn:
        if kind == "REPUBLISHER":
            _known_republisher(conn, schema, str(code))
        rows = missed_deadlines(conn, schema, first, last, kind, code)
    _show("missed deadlines", rows, as_json)


def _known_republisher(conn: Any, schema: str, name: str) -> None:
    """Republishers are named as the courts' requests name them (free text): a name
    no obligation carries is a usage error listing the names that do, not an empty
    report."""
    from replay.questions import republishers

    known = republishers(conn, schema)
    if name not in known:
        shown = "; ".join(known[:10]) + ("; ..." if len(known) > 10 else "")
        raise LookupError(
            f"no obligation of a republisher named {name!r} is recorded in schema "
            f"{schema!r}; republishers named there: {shown or 'none'}"
        )


@audit_app.command("figures")
def figures_command(
    since: Annotated[str, typer.Option("--from", help="First day (inclusive).")],
    until: Annotated[str, typer.Option("--to", help="Last day (inclusive).")],
    schema: SchemaOpt = "ledger",
    as_json: JsonOpt = False,
) -> None:
    """Accountability figures (责任追究) of every court, agency and republisher for
    the obligations due on a day of the period."""
    from replay.questions import accountability

    first, last = _date_range(since, until)
    with _connect(schema, built=True) as conn:
        rows = accountability(conn, schema, first, last)
    _show("accountability figures", rows, as_json)
