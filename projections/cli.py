"""Commands of the projections: `db migrate`, `project`, `check`, `query`."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Annotated, Any

import typer

logger = logging.getLogger(__name__)

db_app = typer.Typer(help="The query database.", no_args_is_help=True)

_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S"]
SchemaOpt = Annotated[
    str,
    typer.Option(
        "--schema", envvar="LEDGER_SCHEMA", help="PostgreSQL schema of the tables."
    ),
]


def register(app: typer.Typer) -> None:
    """Add the projection commands to the `shixin` app."""
    app.add_typer(db_app, name="db")
    app.command("project")(project)
    app.command("check")(check)
    app.command("query")(query)


def _settings() -> Any:
    from shixin.settings import get_settings

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper())
    return settings


@db_app.command("migrate")
def migrate(schema: SchemaOpt = "ledger") -> None:
    """Create or upgrade the query tables in SCHEMA."""
    import psycopg

    from projections.migrate import MigrationError, analyze
    from projections.migrate import migrate as run_migrations

    settings = _settings()
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        try:
            applied = run_migrations(conn, schema)
            analyze(conn, schema)
        except MigrationError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(f"schema {schema}: applied {applied or 'nothing (up to date)'}")


def project(
    schema: SchemaOpt = "ledger",
    until_caught_up: Annotated[
        bool, typer.Option(help="Stop at the end of every partition.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Messages per transaction.")] = 5000,
    projector: Annotated[str, typer.Option(help="Name the offsets are kept under.")] = (
        "query-tables"
    ),
) -> None:
    """Project the ledger and derived topics into the query tables, exactly once."""
    from projections.projector import run

    stats = run(
        _settings(),
        schema=schema,
        projector=projector,
        until_caught_up=until_caught_up,
        batch_size=batch_size,
    )
    rate = stats.applied / stats.elapsed if stats.elapsed else 0.0
    typer.echo(
        f"projected {stats.applied} events ({stats.skipped} seen before, "
        f"{stats.rejected} rejected) in {stats.batches} batches, {rate:,.0f} events/s"
    )


def check(
    subject: Annotated[str, typer.Argument(help="Resident ID, USCC or org code.")],
    agency: Annotated[str | None, typer.Option(help="Only this agency.")] = None,
    measure: Annotated[str | None, typer.Option(help="Only this measure code.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    schema: SchemaOpt = "ledger",
) -> None:
    """Is SUBJECT under an active measure now (interception, 拦截)?

    Exit status 0: clear, 3: intercept, 2: invalid subject."""
    import psycopg

    from projections.check import SubjectError
    from projections.check import check as run_check

    settings = _settings()
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        try:
            result = run_check(conn, subject, agency, measure, schema=schema)
        except SubjectError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    if as_json:
        typer.echo(
            json.dumps(result.as_dict(), default=_json, ensure_ascii=False, indent=2)
        )
    else:
        verdict = "INTERCEPT" if result.intercept else "CLEAR"
        typer.echo(f"{verdict} {result.subject_kind} {result.subject}")
        for m in result.active:
            typer.echo(
                f"  active {m.agency} {m.measure_code} {m.sanction_state} since "
                f"{m.since.isoformat()} listing={m.listing_id} ({m.listing_state}) "
                f"trigger={m.trigger_event}; {m.bound_as}"
            )
        for m in result.stale:
            typer.echo(
                f"  not enforceable: {m.agency} {m.measure_code} "
                f"still {m.sanction_state} "
                f"but listing {m.listing_id} is {m.listing_state}: release overdue"
            )
    raise typer.Exit(3 if result.intercept else 0)


def query(
    table: Annotated[
        str, typer.Argument(help="listings|sanctions|obligations|violations")
    ],
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=_FORMATS, help="Effective time (default now)."),
    ] = None,
    known_at: Annotated[
        datetime | None,
        typer.Option(
            "--known-at",
            formats=_FORMATS,
            help="As the ledger knew it then (default now).",
        ),
    ] = None,
    listing: Annotated[
        str | None, typer.Option("--listing", help="Listing id.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines output.")] = False,
    schema: SchemaOpt = "ledger",
) -> None:
    """What was true at --as-of, as known at --known-at (UTC unless offset given)."""
    import psycopg

    from projections.query import as_of as run_query

    settings = _settings()
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        try:
            found = run_query(
                conn, table, _utc(as_of), _utc(known_at), listing, schema=schema
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    for row in found:
        if as_json:
            typer.echo(json.dumps(row, default=_json, ensure_ascii=False))
        else:
            typer.echo(
                "  ".join(
                    f"{k}={_json(v) if v is not None else ''}" for k, v in row.items()
                )
            )
    if not as_json:
        typer.echo(f"({len(found)} rows)")


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
