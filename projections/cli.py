"""Commands of the projections: `db migrate`, `project`, `check`, `query`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any

import typer

logger = logging.getLogger(__name__)

# Exit statuses of `check`; `query`, `audit`, `db migrate`, `project` and `replay`
# use the same 2 and 4. A caller must be able to tell "could not check" from
# "clear": 1 stays what Python gives an unforeseen failure.
EXIT_CLEAR = 0  # check: no enforceable measure; other commands: done
EXIT_USAGE = 2  # bad input: invalid subject, unknown agency or measure code, ...
EXIT_INTERCEPT = 3  # check: an active measure, intercept
EXIT_UNAVAILABLE = 4  # could not check: database unreachable, schema not built
EXIT_LISTED = 5  # check: no measure to enforce, but listed in force, none recorded

db_app = typer.Typer(help="The query database.", no_args_is_help=True)


def schema_name(value: str) -> str:
    """A --schema value that can name a schema (an empty one is a usage error, not
    a database error)."""
    if not value.strip():
        raise typer.BadParameter(f"{value!r} is not a schema name")
    return value


SchemaOpt = Annotated[
    str,
    typer.Option(
        "--schema",
        envvar="LEDGER_SCHEMA",
        help="PostgreSQL schema of the tables.",
        callback=schema_name,
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


def database_address(url: str) -> str:
    """Where `url` points, without user or password: `host:port/dbname`."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except Exception:  # an unparsable URL: connecting reports it
        return "the configured DATABASE_URL"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = str(params.get("port") or "5432")
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or ''}"


def connect(url: str, connect_timeout: int = 10) -> Any:
    """An autocommit connection that gives up after `connect_timeout` seconds
    (unless the URL sets its own), so an unreachable database fails fast."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    params: dict[str, Any] = {}
    try:
        if "connect_timeout" not in conninfo_to_dict(url):
            params["connect_timeout"] = connect_timeout
    except psycopg.ProgrammingError:
        pass  # connecting reports the bad URL
    return psycopg.connect(url, autocommit=True, **params)


def _first_line(exc: BaseException) -> str:
    primary = getattr(getattr(exc, "diag", None), "message_primary", None)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return str(primary or (lines[0] if lines else type(exc).__name__))


def _missing_schemas(url: str, schemas: Sequence[str]) -> list[str] | None:
    """Which of `schemas` do not exist (None when that cannot be told)."""
    try:
        with connect(url) as conn:
            found = {
                r[0]
                for r in conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                    (list(schemas),),
                )
            }
    except Exception:
        return None
    return [s for s in schemas if s not in found]


def unavailable(message: str, doing: str = "") -> typer.Exit:
    """Print one line and give the "could not check" exit to raise."""
    typer.echo(f"error: {doing + ': ' if doing else ''}{message}", err=True)
    return typer.Exit(EXIT_UNAVAILABLE)


@contextmanager
def database_errors(
    url: str, schemas: Sequence[str] = (), doing: str = ""
) -> Iterator[None]:
    """Turn a database failure inside the block into one line on stderr (prefixed
    with `doing`) and exit status `EXIT_UNAVAILABLE`, never a traceback and never a
    verdict: a missing schema or table, an unreachable server, any other database
    error. `schemas` are the ones the block reads, to name a missing one."""
    import psycopg

    where = database_address(url)
    try:
        yield
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
        missing = _missing_schemas(url, schemas) if schemas else None
        if missing:
            names = ", ".join(repr(s) for s in missing)
            raise unavailable(
                f"schema {names} does not exist in the database at {where}: give "
                "the schema the tables were projected into (--schema or "
                "LEDGER_SCHEMA)",
                doing,
            ) from exc
        raise unavailable(
            f"{_first_line(exc)} in the database at {where}: is the schema "
            "projected? (shixin project / shixin replay, or --schema / "
            "LEDGER_SCHEMA)",
            doing,
        ) from exc
    except psycopg.OperationalError as exc:
        raise unavailable(
            f"database unreachable at {where}: {_first_line(exc)} "
            "(is PostgreSQL running? DATABASE_URL / POSTGRES_PORT)",
            doing,
        ) from exc
    except psycopg.Error as exc:
        raise unavailable(
            f"database error at {where}: {_first_line(exc)}", doing
        ) from exc


@db_app.command("migrate")
def migrate(schema: SchemaOpt = "ledger") -> None:
    """Create or upgrade the query tables in the schema --schema names."""
    from projections.migrate import MigrationError, analyze
    from projections.migrate import migrate as run_migrations

    settings = _settings()
    with database_errors(settings.postgres_url), connect(settings.postgres_url) as conn:
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
    batch_size: Annotated[
        int, typer.Option(min=1, help="Messages per transaction.")
    ] = 5000,
    projector: Annotated[str, typer.Option(help="Name the offsets are kept under.")] = (
        "query-tables"
    ),
) -> None:
    """Project the ledger and derived topics into the query tables, exactly once."""
    from projections.projector import ProjectorError, run

    settings = _settings()
    with database_errors(settings.postgres_url, [schema]):
        try:
            stats = run(
                settings,
                schema=schema,
                projector=projector,
                until_caught_up=until_caught_up,
                batch_size=batch_size,
            )
        except ProjectorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_USAGE) from exc
    rate = stats.applied / stats.elapsed if stats.elapsed else 0.0
    typer.echo(
        f"projected {stats.applied} events ({stats.skipped} seen before, "
        f"{stats.rejected} rejected) in {stats.batches} batches, {rate:,.0f} events/s"
    )


def check(
    subject: Annotated[str, typer.Argument(help="Resident ID, USCC or org code.")],
    agency: Annotated[
        str | None,
        typer.Option(help="Only this agency (a code such as PBOC, any case)."),
    ] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            help="Only this measure (AGENCY.MEASURE, e.g. RAILWAY.TRAIN_RESTRICTION)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    schema: SchemaOpt = "ledger",
) -> None:
    """Is SUBJECT under an active measure now (interception, 拦截)?

    Every answer says how current the tables are (data_as_of: broker time of the
    newest projected event). Exit status 0: clear; 3: intercept; 5: listed, no
    measure stands (the subject is the debtor of a listing in force on which no
    measure of the agency, or of --measure, stands: none recorded, or only
    released ones; nothing to enforce on record, and the agency's application of
    its measure is missing; not a clear answer); 2: invalid subject, agency or
    measure; 4: could not check (database unreachable, schema missing, or not
    built: nothing projected into it yet), which is never a clear answer."""
    from psycopg import IsolationLevel

    from projections.check import (
        CheckInputError,
        NotProjected,
        normalized_agency,
        normalized_measure,
        projected_as_of,
        subject_kind,
    )
    from projections.check import check as run_check

    try:  # bad input is refused before anything is asked of the database
        subject_kind(subject)
        agency = None if agency is None else normalized_agency(agency, "--agency")
        measure = None if measure is None else normalized_measure(measure, "--measure")
    except CheckInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc
    settings = _settings()
    doing = "could not check (no answer: neither CLEAR, LISTED nor INTERCEPT)"
    with database_errors(settings.postgres_url, [schema], doing):
        with connect(settings.postgres_url) as conn:
            # one snapshot: data_as_of is that of the very rows the answer read
            conn.isolation_level = IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            try:
                with conn.transaction():
                    result = run_check(conn, subject, agency, measure, schema=schema)
                    as_of = projected_as_of(conn, schema)
            except CheckInputError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(EXIT_USAGE) from exc
            except NotProjected as exc:  # empty tables: not a clear answer
                raise unavailable(str(exc), doing) from exc
    result = result.with_data_as_of(as_of)
    if as_json:
        typer.echo(
            json.dumps(result.as_dict(), default=_json, ensure_ascii=False, indent=2)
        )
    else:
        verdict = (
            "INTERCEPT" if result.intercept else "LISTED" if result.listed else "CLEAR"
        )
        typer.echo(f"{verdict} {result.subject_kind} {result.subject}")
        typer.echo(
            f"  data as of {as_of.isoformat()} (broker time of the newest event "
            f"projected into schema {schema})"
        )
        for m in result.active:
            typer.echo(
                f"  active {m.agency} {m.measure_code} {m.sanction_state} since "
                f"{m.since.isoformat()} listing={m.listing_id} ({m.listing_state}) "
                f"trigger={m.trigger_event}; {m.bound_as}"
            )
        for m in result.stale:
            typer.echo(
                f"  not enforceable: {m.agency} {m.measure_code} "
                f"still {m.sanction_state} but {m.stale_reason}"
            )
        asked = measure or (f"of {agency}" if agency else "of any agency")
        for entry in result.listed:
            typer.echo(
                f"  listed: listing={entry.listing_id} ({entry.listing_state}) is in "
                f"force, but no measure {asked} stands on it (none recorded, or "
                "released): the application of the measure is missing"
            )
    if result.intercept:
        raise typer.Exit(EXIT_INTERCEPT)
    raise typer.Exit(EXIT_LISTED if result.listed else EXIT_CLEAR)


def query(
    table: Annotated[
        str, typer.Argument(help="listings|sanctions|obligations|violations")
    ],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Effective time, ISO-8601 with an offset, e.g. "
            "2024-04-20T00:00:00+08:00 (default now).",
        ),
    ] = None,
    known_at: Annotated[
        str | None,
        typer.Option(
            "--known-at",
            help="As the ledger knew it then, ISO-8601 with an offset (default now).",
        ),
    ] = None,
    listing: Annotated[
        str | None, typer.Option("--listing", help="Listing id.")
    ] = None,
    include_withdrawn: Annotated[
        bool,
        typer.Option(
            "--include-withdrawn",
            help="violations: also those the engine withdrew, marked WITHDRAWN.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines output.")] = False,
    schema: SchemaOpt = "ledger",
) -> None:
    """What was true at --as-of, as known at --known-at.

    Instants are ISO-8601 with an offset, as `shixin replay --until` takes them (a
    bare date or a time without an offset is refused: it would be a guess); the
    rows show instants in UTC.

    Violations the engine withdrew are left out unless --include-withdrawn.
    Exit status 2: invalid input (a --listing the schema has no event of); 4: could
    not answer (database unreachable, schema missing or not built)."""
    from projections.check import NotProjected, projected_as_of
    from projections.query import as_of as run_query
    from projections.query import listing_known

    settings = _settings()
    with database_errors(settings.postgres_url, [schema]):
        with connect(settings.postgres_url) as conn:
            conn.execute("SET TimeZone = 'UTC'")  # rows in UTC, whatever the host's TZ
            try:
                projected_as_of(conn, schema)
            except NotProjected as exc:
                raise unavailable(str(exc)) from exc
            try:
                found = run_query(
                    conn,
                    table,
                    instant_option(as_of, "--as-of"),
                    instant_option(known_at, "--known-at"),
                    listing,
                    schema=schema,
                    include_withdrawn=include_withdrawn,
                )
            except ValueError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(EXIT_USAGE) from exc
            empty = listing is not None and not found
            if empty and not listing_known(conn, str(listing), table, schema):
                typer.echo(
                    f"error: --listing {listing!r}: no event of that listing in schema"
                    f" {schema!r}; expected a listing id as `shixin audit history`"
                    " and the rows show it (case number|masked id)",
                    err=True,
                )
                raise typer.Exit(EXIT_USAGE)
    withdrawn = 0
    for row in found:
        if as_json:
            typer.echo(json.dumps(row, default=_json, ensure_ascii=False))
            continue
        mark = ""
        if row.get("withdrawn") is True:
            withdrawn += 1
            mark = "WITHDRAWN  "
        typer.echo(
            mark
            + "  ".join(
                f"{k}={_json(v) if v is not None else ''}" for k, v in row.items()
            )
        )
    if not as_json:
        shown = f"{len(found)} rows"
        if include_withdrawn and table == "violations":
            shown += f", {withdrawn} withdrawn"
        typer.echo(f"({shown})")


def instant_option(value: str | None, option: str) -> datetime | None:
    """An instant given on the command line (`query --as-of`, `replay --until`):
    ISO-8601 with an offset, in the ledger's years."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 instant (e.g. 2024-05-01T00:00:00+08:00)",
            param_hint=option,
        ) from exc
    if instant.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no time zone: give an offset such as +08:00 or Z",
            param_hint=option,
        )
    from contract.inputs import LEDGER_YEARS, in_ledger_years

    if not in_ledger_years(instant):
        raise typer.BadParameter(
            f"{value!r}: expected an instant {LEDGER_YEARS}", param_hint=option
        )
    return instant


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)
