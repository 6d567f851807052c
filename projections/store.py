"""The projection store: applies batches of events to the query tables of a schema.

`apply_batch` is the one entry point both the Kafka projector and the replayer use;
it knows nothing of Kafka. It runs inside the caller's transaction, so the caller
can commit its own bookkeeping (consumer offsets) atomically with the rows.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from contract.event import LedgerEvent, Position
from projections import rows
from projections.rows import (
    KIND_TABLES,
    PRIMARY_TABLE,
    TABLE_COLUMNS,
    TABLE_KEYS,
    EntityChange,
    Fact,
    FoldState,
    Key,
    Knowledge,
)

logger = logging.getLogger(__name__)

EVENT_COLUMNS = (
    "event_id", "event_type", "listing_id", "derived", "occurred_at", "broker_time",
    "topic", "partition", "offset", "actor_kind", "actor_code", "actor_name",
    "jurisdiction", "source_event_id", "seq", "correlation_id", "causation_id",
    "payload",
)  # fmt: skip
KNOWN_COLUMNS = (
    "valid_from",
    "known_from",
    "known_topic",
    "known_partition",
    "known_offset",
)
HISTORY_EXTRA = ("valid_to", "known_to")


class FoldCache:
    """The fold states of entities this process wrote, kept between the batches of
    one run so that a batch need not read them back (with their JSON) from the
    primary tables.

    Valid only while (1) this process is the only writer of the schema and (2) every
    batch applied with it was committed: `apply_batch` updates it before the caller
    commits, so a caller whose transaction fails must `clear()` it (the projector
    and the benchmark make a new one per run, and a failure ends the run). Bounded:
    the least recently written entities are forgotten first and read back from the
    database when they come again.

    It also keeps every fact of recently recomputed listings (an out-of-order event
    rebuilds an entity from all its listing's facts), and, when made for a schema
    that held no events (`empty`, a replay into a new schema), of every listing it
    sees: a recompute then reads nothing back from the events table.
    """

    def __init__(
        self, limit: int = 200_000, fact_limit: int = 5_000, empty: bool = False
    ) -> None:
        self.limit = limit
        self.fact_limit = fact_limit
        self._states: dict[tuple[str, rows.Entity], FoldState] = {}
        # every fact of a listing in the schema, once read back for a recompute
        # (then kept up to date by `add_facts`): a recompute of an entity of that
        # listing reads them from here, not from the events table
        self._facts: dict[tuple[str, str], list[Fact]] = {}
        # `empty`: the schemas held no events when this cache was made, so the
        # facts of a listing are all those added since, unless some were forgotten
        self._empty = empty
        self._forgotten: set[tuple[str, str]] = set()
        self.hits = 0
        self.misses = 0

    def get(self, schema: str, entity: rows.Entity) -> FoldState | None:
        found = self._states.get((schema, entity))
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, schema: str, entity: rows.Entity, state: FoldState) -> None:
        states = self._states
        states.pop((schema, entity), None)  # re-insert: most recent last
        states[(schema, entity)] = state
        while len(states) > self.limit:
            del states[next(iter(states))]

    def facts(self, schema: str, listing_id: str) -> list[Fact] | None:
        """Every fact of the listing in the schema, or None if not kept."""
        return self._facts.get((schema, listing_id))

    def keep_facts(self, schema: str, listing_id: str, facts: list[Fact]) -> None:
        """Keep every fact of a listing (as read back from the events table)."""
        kept = self._facts
        kept.pop((schema, listing_id), None)
        kept[(schema, listing_id)] = facts
        self._forget_facts()

    def add_facts(self, schema: str, new: Iterable[Fact]) -> None:
        """Add a batch's new facts to the listings whose facts are kept (before the
        batch is planned: its recomputes read them)."""
        kept = self._facts
        for fact in new:
            key = (schema, fact.listing_id)
            listing = kept.get(key)
            if listing is not None:
                listing.append(fact)
            elif self._empty and key not in self._forgotten:
                kept[key] = [fact]  # the listing's first fact in the schema
        self._forget_facts()

    def _forget_facts(self) -> None:
        kept = self._facts
        while len(kept) > self.fact_limit:
            oldest = next(iter(kept))
            del kept[oldest]
            self._forgotten.add(oldest)  # read back from the table when needed

    def clear(self) -> None:
        self._states.clear()
        self._facts.clear()
        self._empty = False  # what was committed before is read back from now on

    def __len__(self) -> int:
        return len(self._states)


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: int  # events new to the schema
    skipped: int  # events seen before (same event id)
    recomputed: int  # entities rebuilt from all their events (out-of-order input)
    # events whose id was seen before with other content: the first one stands
    contradictions: tuple[Contradiction, ...] = ()


@dataclass(frozen=True, slots=True)
class Contradiction:
    """An event id met again with other content (another act under a reused id, or
    a derived event an upgraded engine derives otherwise): the first one stands."""

    event_id: str
    topic: str
    partition: int
    offset: int
    fields: tuple[str, ...]  # what differs

    @property
    def error(self) -> str:
        return (
            f"event {self.event_id} was applied before with other "
            f"{', '.join(self.fields)}; the first one stands"
        )


# What an event says (not where the log holds it): two events of one id must agree.
_SAID = (
    "event_type", "listing_id", "occurred_at", "actor_kind", "actor_code",
    "jurisdiction", "source_event_id", "seq", "payload",
)  # fmt: skip


def _said(fact: Fact) -> dict[str, Any]:
    said = {name: getattr(fact, name) for name in _SAID[:-1]}
    said["payload"] = fact.payload_json()
    return said


def _differing(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name in _SAID if a[name] != b[name])


def apply_batch(
    conn: psycopg.Connection,
    schema: str,
    items: Sequence[tuple[LedgerEvent, Position]],
    cache: FoldCache | None = None,
) -> BatchResult:
    """Apply ledger and derived events (derived ones with the position of their
    cause) to the tables of `schema`, inside the caller's transaction.

    Rows are a function of the set of events applied, whatever the batches and
    their order; an event id seen before is skipped. `cache` (see `FoldCache`)
    spares reading back the fold states of entities written earlier in the run.
    """
    conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))

    # 1. facts, without events this schema has already applied; an id met again
    # with other content is named, never silently dropped
    facts: dict[str, Fact] = {}
    contradictions: list[Contradiction] = []
    for event, position in items:
        first = facts.get(event.event_id)
        if first is None:
            facts[event.event_id] = Fact.of(event, position)
            continue
        again = Fact.of(event, position)
        differing = _differing(_said(first), _said(again))
        if differing:
            contradictions.append(_contradiction(again, differing))
    seen = set()
    for row in conn.execute(
        sql.SQL("SELECT {} FROM events WHERE event_id = ANY(%s)").format(
            sql.SQL(", ").join(map(sql.Identifier, ("event_id", *_SAID)))
        ),
        (list(facts),),
    ):
        seen.add(row[0])
        stored = dict(zip(_SAID, row[1:], strict=True))
        stored["occurred_at"] = rows.iso(stored["occurred_at"])
        stored["payload"] = json.dumps(stored["payload"], ensure_ascii=False,
                                       sort_keys=True)  # fmt: skip
        differing = _differing(stored, _said(facts[row[0]]))
        if differing:
            contradictions.append(_contradiction(facts[row[0]], differing))
    for c in contradictions:
        logger.warning(
            "contradicting event schema=%s event_id=%s topic=%s partition=%d "
            "offset=%d differs=%s",
            schema, c.event_id, c.topic, c.partition, c.offset, ",".join(c.fields),
        )  # fmt: skip
    new = [f for f in facts.values() if f.event_id not in seen]
    skipped = len(items) - len(new)
    if not new:
        return BatchResult(0, skipped, 0, tuple(contradictions))

    # 2. the event history, before planning: a recompute reads it back
    _copy(conn, "events", EVENT_COLUMNS, (_event_row(f) for f in new))
    if cache is not None:
        cache.add_facts(schema, new)

    # 3. plan each touched entity
    touched: dict[rows.Entity, list[Fact]] = defaultdict(list)
    for fact in new:
        for entity in rows.entities_of(fact):
            touched[entity].append(fact)
    priors: dict[rows.Entity, FoldState] = {}
    unknown: list[rows.Entity] = []
    for entity in touched:
        cached = cache.get(schema, entity) if cache is not None else None
        if cached is None:
            unknown.append(entity)
        else:
            priors[entity] = cached
    if unknown:
        priors.update(_load_fold_states(conn, unknown))
    # the listings with an entity to rebuild: their facts read in one statement
    rebuilt = {
        facts[0].listing_id
        for entity, facts in touched.items()
        if rows.needs_recompute(entity[0], priors.get(entity), facts)
    }
    loaded = _load_facts(
        conn,
        sorted(
            lid for lid in rebuilt if cache is None or cache.facts(schema, lid) is None
        ),
    )
    by_entity: dict[str, dict[rows.Entity, list[Fact]]] = {}

    def all_facts(entity: rows.Entity, listing_id: str) -> list[Fact]:
        grouped = by_entity.get(listing_id)
        if grouped is None:
            known = cache.facts(schema, listing_id) if cache is not None else None
            if known is None:
                if listing_id not in loaded:  # not foreseen: read it now
                    loaded.update(_load_facts(conn, [listing_id]))
                known = loaded.get(listing_id, [])
                if cache is not None:
                    cache.keep_facts(schema, listing_id, known)
            grouped = by_entity[listing_id] = defaultdict(list)
            for fact in known:
                for of in rows.entities_of(fact):
                    grouped[of].append(fact)
        return grouped.get(entity, [])

    changes: list[EntityChange] = []
    for entity in sorted(touched):
        kind, key = entity
        listing_id = touched[entity][0].listing_id
        changes.append(
            rows.plan(
                kind,
                key,
                priors.get(entity),
                touched[entity],
                lambda e=entity, lid=listing_id: all_facts(e, lid),  # type: ignore[misc]
            )
        )

    # 4. write
    _write(conn, changes)
    if cache is not None:
        for change in changes:
            if change.fold_state is not None:
                cache.put(schema, (change.kind, change.key), change.fold_state)
    recomputed = sum(1 for c in changes if c.recompute)
    logger.debug(
        "batch applied schema=%s applied=%d skipped=%d entities=%d recomputed=%d",
        schema,
        len(new),
        skipped,
        len(changes),
        recomputed,
    )
    return BatchResult(len(new), skipped, recomputed, tuple(contradictions))


def _contradiction(fact: Fact, differing: tuple[str, ...]) -> Contradiction:
    k = fact.known
    return Contradiction(fact.event_id, k.topic, k.partition, k.offset, differing)


def _event_row(f: Fact) -> tuple[Any, ...]:
    k = f.known
    return (
        f.event_id, f.event_type, f.listing_id, f.derived, f.occurred_at, k.broker_time,
        k.topic, k.partition, k.offset, f.actor_kind, f.actor_code, f.actor_name,
        f.jurisdiction, f.source_event_id, f.seq, f.correlation_id, f.causation_id,
        f.payload_json(),
    )  # fmt: skip


def _load_facts(
    conn: psycopg.Connection, listing_ids: Sequence[str]
) -> dict[str, list[Fact]]:
    """Every fact of each listing in the events table, by listing."""
    facts: dict[str, list[Fact]] = {}
    if not listing_ids:
        return facts
    cur = conn.execute(
        sql.SQL("SELECT {} FROM events WHERE listing_id = ANY(%s)").format(
            sql.SQL(", ").join(map(sql.Identifier, EVENT_COLUMNS))
        ),
        (list(listing_ids),),
    )
    for r in cur:
        d = dict(zip(EVENT_COLUMNS, r, strict=True))
        facts.setdefault(d["listing_id"], []).append(
            Fact(
                event_id=d["event_id"],
                event_type=d["event_type"],
                listing_id=d["listing_id"],
                derived=d["derived"],
                occurred_at=rows.iso(d["occurred_at"]),
                actor_kind=d["actor_kind"],
                actor_code=d["actor_code"],
                actor_name=d["actor_name"],
                jurisdiction=d["jurisdiction"],
                source_event_id=d["source_event_id"],
                seq=d["seq"],
                correlation_id=d["correlation_id"],
                causation_id=d["causation_id"],
                payload=d["payload"],
                known=Knowledge(
                    rows.iso(d["broker_time"]), d["topic"], d["partition"], d["offset"]
                ),
            )
        )
    return facts


def _load_fold_states(
    conn: psycopg.Connection, touched: Iterable[rows.Entity]
) -> dict[rows.Entity, FoldState]:
    by_kind: dict[str, list[Key]] = defaultdict(list)
    for kind, key in touched:
        by_kind[kind].append(key)
    found: dict[rows.Entity, FoldState] = {}
    for kind, keys in by_kind.items():
        table = PRIMARY_TABLE[kind]
        key_cols = TABLE_KEYS[table]
        columns = list(zip(*keys, strict=True))
        query = sql.SQL(
            "SELECT {keys}, fold_state FROM {table} WHERE {first} = ANY(%s) "
            "AND ({keys}) IN (SELECT * FROM unnest({arrays}))"
        ).format(
            keys=sql.SQL(", ").join(map(sql.Identifier, key_cols)),
            table=sql.Identifier(table),
            first=sql.Identifier(key_cols[0]),
            arrays=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in key_cols),
        )
        params = [sorted(set(columns[0])), *(list(c) for c in columns)]
        for r in conn.execute(query, params):
            found[(kind, tuple(r[:-1]))] = FoldState.from_json(r[-1])
    return found


def _write(conn: psycopg.Connection, changes: Sequence[EntityChange]) -> None:
    tables = [t for kind_tables in KIND_TABLES.values() for t in kind_tables]
    for table in tables:
        key_cols = TABLE_KEYS[table]
        history = f"{table}_history"

        # a recomputed entity's history is rewritten whole
        dropped = [
            c.key for c in changes if c.recompute and table in KIND_TABLES[c.kind]
        ]
        if dropped:
            _delete_keys(conn, history, key_cols, dropped)

        # versions that stop being believed (open-ended rows of earlier batches)
        closes = [
            (*c.key, known_to)
            for c in changes
            for t, known_to in c.closes
            if t == table and not c.recompute
        ]
        if closes:
            _close(conn, history, key_cols, closes)

        inserted = [hr for c in changes for hr in c.inserted if hr.table == table]
        if inserted:
            _copy(
                conn,
                history,
                (*TABLE_COLUMNS[table], *KNOWN_COLUMNS, *HISTORY_EXTRA),
                (
                    (
                        *_db_row(table, hr.row),
                        hr.valid_from,
                        hr.known.broker_time,
                        hr.known.topic,
                        hr.known.partition,
                        hr.known.offset,
                        hr.valid_to,
                        hr.known_to,
                    )
                    for hr in inserted
                ),
            )

        # current rows: replaced whole
        mine = [c for c in changes if table in KIND_TABLES[c.kind]]
        if not mine:
            continue
        _delete_keys(conn, table, key_cols, [c.key for c in mine])
        primary = PRIMARY_TABLE[mine[0].kind] == table
        columns = (*TABLE_COLUMNS[table], *KNOWN_COLUMNS) + (
            ("fold_state",) if primary else ()
        )
        current_rows = []
        for c in mine:
            current = c.current(table)
            if current is None:
                continue
            row, head = current
            values = (
                *_db_row(table, row),
                head.valid_from,
                head.known.broker_time,
                head.known.topic,
                head.known.partition,
                head.known.offset,
            )
            if primary:
                assert c.fold_state is not None
                values += (json.dumps(c.fold_state.to_json(), ensure_ascii=False),)
            current_rows.append(values)
        _copy(conn, table, columns, current_rows)


# Positions of the array columns (text[]) of each table: rows hold them as tuples.
_ARRAYS = {
    table: tuple(i for i, c in enumerate(columns) if c == "conduct_codes")
    for table, columns in TABLE_COLUMNS.items()
}


def _db_row(table: str, row: rows.Row) -> tuple[Any, ...]:
    positions = _ARRAYS[table]
    if not positions:
        return row
    values = list(row)
    for i in positions:
        if values[i] is not None:  # as the array literal: no per-row array dumper
            values[i] = _array_literal(values[i])
    return tuple(values)


def _array_literal(items: Sequence[str]) -> str:
    quoted = (
        '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in items
    )
    return "{" + ",".join(quoted) + "}"


def _delete_keys(
    conn: psycopg.Connection, table: str, key_cols: Sequence[str], keys: Sequence[Key]
) -> None:
    # `first = ANY` lets the planner use the index whose first column is the key's
    query = sql.SQL(
        "DELETE FROM {table} WHERE {first} = ANY(%s) "
        "AND ({keys}) IN (SELECT * FROM unnest({arr}))"
    )
    columns = [list(c) for c in zip(*keys, strict=True)]
    conn.execute(
        query.format(
            table=sql.Identifier(table),
            first=sql.Identifier(key_cols[0]),
            keys=sql.SQL(", ").join(map(sql.Identifier, key_cols)),
            arr=sql.SQL(", ").join(sql.SQL("%s::text[]") for _ in key_cols),
        ),
        [sorted(set(columns[0])), *columns],
    )


def _close(
    conn: psycopg.Connection,
    history: str,
    key_cols: Sequence[str],
    closes: Sequence[tuple[str, ...]],
) -> None:
    names = [*key_cols, "known_to"]
    casts = [*("text[]" for _ in key_cols), "timestamptz[]"]
    query = sql.SQL(
        "UPDATE {h} AS h SET known_to = u.known_to "
        "FROM unnest({arr}) AS u({names}) "
        "WHERE h.{first} = ANY(%s) AND {match} "
        "AND h.valid_to IS NULL AND h.known_to IS NULL"
    ).format(
        h=sql.Identifier(history),
        first=sql.Identifier(key_cols[0]),
        arr=sql.SQL(", ").join(sql.SQL("%s::" + c) for c in casts),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        match=sql.SQL(" AND ").join(
            sql.SQL("h.{c} = u.{c}").format(c=sql.Identifier(c)) for c in key_cols
        ),
    )
    columns = [list(c) for c in zip(*closes, strict=True)]
    conn.execute(query, [*columns, sorted(set(columns[0]))])


def _copy(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    records: Iterable[Sequence[Any]],
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for record in records:
            copy.write_row(record)
