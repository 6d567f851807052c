"""Bitemporal queries: what was true at T (effective time) as known at T2 (broker
time), read from the history tables; see `projections.rows` for the model."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from projections.migrate import DEFAULT_SCHEMA
from projections.rows import TABLE_COLUMNS, TABLE_KEYS

logger = logging.getLogger(__name__)

SUBJECTS = ("listings", "sanctions", "obligations", "violations")
# Columns never shown by the auditors' query (interception reads them via `check`).
HIDDEN = frozenset({"subject_id", "legal_rep_id"})


def as_of(
    conn: psycopg.Connection,
    table: str,
    at: datetime | None = None,
    known_at: datetime | None = None,
    listing_id: str | None = None,
    schema: str = DEFAULT_SCHEMA,
    include_withdrawn: bool = False,
) -> list[dict[str, Any]]:
    """Rows of `table` in effect at `at`, as the ledger knew them at `known_at`
    (both default to now).

    Violations the engine withdrew (`withdrawn`: a later-recorded act showed the
    obligation met after all) are no violations: they are left out, as the demo
    report and the audit's `missed` leave them out, unless `include_withdrawn`."""
    _subject(table)
    now = datetime.now(UTC)
    at, known_at = at or now, known_at or now
    for name, value in (("--as-of", at), ("--known-at", known_at)):
        if value.tzinfo is None:
            raise ValueError(
                f"{name} {value.isoformat()!r} has no UTC offset: give one"
            )
    columns = [c for c in TABLE_COLUMNS[table] if c not in HIDDEN]
    columns += ["valid_from", "valid_to", "known_from", "known_to", "known_topic",
                "known_partition", "known_offset"]  # fmt: skip
    query = sql.SQL(
        "SELECT {cols} FROM {schema}.{table} "
        "WHERE valid_from <= %(at)s AND (valid_to IS NULL OR %(at)s < valid_to) "
        "AND known_from <= %(known)s AND (known_to IS NULL OR %(known)s < known_to) "
        "AND (%(listing)s::text IS NULL OR listing_id = %(listing)s) "
        "{standing}ORDER BY {order}"
    ).format(
        cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        schema=sql.Identifier(schema),
        table=sql.Identifier(f"{table}_history"),
        order=sql.SQL(", ").join(map(sql.Identifier, TABLE_KEYS[table])),
        standing=sql.SQL(
            "AND NOT withdrawn "
            if table == "violations" and not include_withdrawn
            else ""
        ),
    )
    with conn.cursor() as cur:
        cur.execute(query, {"at": at, "known": known_at, "listing": listing_id})
        found = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
    if table == "obligations":
        for row in found:
            row["status"] = status_at(row, at)
    return found


def _subject(table: str) -> None:
    if table not in SUBJECTS:
        raise ValueError(
            f"unknown table {table!r}: expected one of {', '.join(SUBJECTS)}"
        )


LAPSED = "LAPSED"


def status_at(row: dict[str, Any], at: datetime) -> str:
    """An obligation's status at `at`: as stored, except a party's own period (a
    debtor's right to object) left unused past its due day, which is LAPSED, not
    OPEN: no one owes an answer to it, and the engine reports nothing for it (a
    later use of it is OUT_OF_TIME from that act)."""
    status = str(row["status"])
    due_at = row.get("due_at")
    if status == "OPEN" and row.get("obligor") == "PARTY" and due_at and due_at <= at:
        return LAPSED
    return status


def listing_known(
    conn: psycopg.Connection, listing_id: str, table: str, schema: str = DEFAULT_SCHEMA
) -> bool:
    """Whether the schema knows the listing at all (an event of it, or a version
    of `table`'s rows at any time): an empty answer about a listing it does not know
    is a mistyped id, not a listing with nothing to show."""
    _subject(table)
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM {schema}.events WHERE listing_id = %(l)s) "
        "OR EXISTS (SELECT 1 FROM {schema}.{table} WHERE listing_id = %(l)s)"
    ).format(schema=sql.Identifier(schema), table=sql.Identifier(f"{table}_history"))
    row = conn.execute(query, {"l": listing_id}).fetchone()
    return bool(row and row[0])
