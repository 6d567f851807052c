"""Digests and diffs of query tables, so two schemas can be compared by a line of text.

A table's digest is the SHA-256 of its rows, each rendered as canonical JSON text by
PostgreSQL (`to_jsonb(row)::text`: keys sorted by jsonb, timestamps in UTC because the
session time zone is pinned), sorted bytewise, one per line. Nothing in it depends on
the host's time zone, the physical row order or the machine.

Two views of a schema can be digested:

- `content` (the default): what the ledger says, as a function of the log alone. It
  leaves out the processing bookkeeping that records which step of which driver
  wrote a row (`last_event`, the `known_*` columns of derived rows, fold states),
  derived events themselves (their ids name the ledger event whose processing
  produced them, and the live worker may meet court, agency and publisher events in
  another order than the replay, which reads them in broker-time order), the
  versions of the history tables the ledger no longer believes (`known_to` set:
  every intermediate version a driver saw; the versions still believed, the valid
  time history the `--as-of` views and the audit's questions read, are content) and
  violations that were withdrawn (a transient the live worker may see when a
  later-recorded act arrives). The live projection and a replay of the same log give
  the same content digest.
- `raw`: every row of every table, as stored. Two replays of the same log give the
  same raw digest (whatever the host time zone), since they read it in one order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

# Bookkeeping of the drivers, not content: where a projector or replay stopped and
# which migrations ran. Two schemas built from the same log differ there by design.
BOOKKEEPING_TABLES = frozenset(
    {
        "schema_migrations",
        "projector_offsets",
        "projector_rejects",
        "replay_checkpoint",
        "replay_state",
    }
)
# Columns that say which processing step wrote a row, not what the ledger says.
PROCESSING_COLUMNS = frozenset(
    {
        "last_event",
        "known_from",
        "known_topic",
        "known_partition",
        "known_offset",
        "known_to",
        "fold_state",
        "opened_event",
        "met_event",
        "violated_event",
    }
)
# Rows of the content view: ledger events only; violations still standing; the
# versions of history still believed.
CONTENT_FILTERS = {
    "events": "NOT derived",
    "violations": "NOT withdrawn",
    "listings_history": "known_to IS NULL",
    "sanctions_history": "known_to IS NULL",
    "obligations_history": "known_to IS NULL",
    "violations_history": "known_to IS NULL AND NOT withdrawn",
}


class SchemaNotFound(LookupError):
    """The schema does not exist or holds no tables: nothing to digest or compare."""

    def __init__(self, schema: str, message: str) -> None:
        super().__init__(message)
        self.schema = schema


def pin_session(conn: psycopg.Connection[Any]) -> None:
    """Make every text rendering of the session independent of the server's defaults."""
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("SET DateStyle = 'ISO, YMD'")
    conn.execute("SET IntervalStyle = 'iso_8601'")
    conn.execute("SET extra_float_digits = 3")


def content_tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """Base tables of a schema that hold ledger content (both views), in name
    order."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
        (schema,),
    ).fetchall()
    names = [r[0] for r in rows]
    if not names:
        raise SchemaNotFound(
            schema,
            f"schema {schema!r} does not exist or has no tables: was it projected "
            "or replayed?",
        )
    return [n for n in names if n not in BOOKKEEPING_TABLES]


def _row_texts(
    conn: psycopg.Connection[Any], schema: str, table: str, view: str = "content"
) -> list[str]:
    if view not in ("content", "raw"):
        raise ValueError(f"unknown digest view {view!r}; expected 'content' or 'raw'")
    query = sql.SQL("SELECT to_jsonb(t){} FROM {}.{} AS t{}").format(
        sql.SQL(
            "".join(f" - '{c}'" for c in sorted(PROCESSING_COLUMNS))
            if view == "content"
            else ""
        ),
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(
            f" WHERE {CONTENT_FILTERS[table]}"
            if view == "content" and table in CONTENT_FILTERS
            else ""
        ),
    )
    query = sql.SQL("SELECT x::text FROM ({}) AS q(x)").format(query)
    texts = [r[0] for r in conn.execute(query)]
    texts.sort(key=lambda s: s.encode("utf-8"))
    return texts


def _digest(texts: Iterable[str]) -> str:
    h = hashlib.sha256()
    for text in texts:
        h.update(text.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass(frozen=True)
class TableDigest:
    table: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class SchemaDigest:
    schema: str
    view: str
    tables: tuple[TableDigest, ...]

    @property
    def sha256(self) -> str:
        """Digest of the per-table digests: one line to compare two schemas."""
        return _digest(f"{t.table} {t.rows} {t.sha256}" for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "view": self.view,
            "sha256": self.sha256,
            "tables": {
                t.table: {"rows": t.rows, "sha256": t.sha256} for t in self.tables
            },
        }


def digest_schema(
    conn: psycopg.Connection[Any],
    schema: str,
    view: str = "content",
    tables: Sequence[str] | None = None,
) -> SchemaDigest:
    pin_session(conn)
    names = list(tables) if tables is not None else content_tables(conn, schema)
    out = []
    for table in names:
        texts = _row_texts(conn, schema, table, view)
        out.append(TableDigest(table, len(texts), _digest(texts)))
    return SchemaDigest(schema, view, tuple(out))


@dataclass
class TableDiff:
    table: str
    only_a: list[dict[str, Any]] = field(default_factory=list)
    only_b: list[dict[str, Any]] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return not self.only_a and not self.only_b


def diff_schemas(
    conn: psycopg.Connection[Any], schema_a: str, schema_b: str, view: str = "content"
) -> list[TableDiff]:
    """Rows that are in one schema and not the other, table by table.

    A changed row shows up once on each side; the primary key columns (listed first
    in the output by the caller) tell which rows belong together.
    """
    pin_session(conn)
    tables_a = set(content_tables(conn, schema_a))
    tables_b = set(content_tables(conn, schema_b))
    diffs = []
    for table in sorted(tables_a | tables_b):
        rows_a = set(
            _row_texts(conn, schema_a, table, view) if table in tables_a else []
        )
        rows_b = set(
            _row_texts(conn, schema_b, table, view) if table in tables_b else []
        )
        d = TableDiff(table)
        d.only_a = [json.loads(t) for t in sorted(rows_a - rows_b)]
        d.only_b = [json.loads(t) for t in sorted(rows_b - rows_a)]
        diffs.append(d)
    return diffs


def primary_key(conn: psycopg.Connection[Any], schema: str, table: str) -> list[str]:
    rows = conn.execute(
        """
        SELECT a.attname
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
        WHERE i.indisprimary AND n.nspname = %s AND c.relname = %s
        ORDER BY array_position(i.indkey, a.attnum)
        """,
        (schema, table),
    ).fetchall()
    return [r[0] for r in rows]
