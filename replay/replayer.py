"""Rebuild every query table from the log alone, into a scratch schema.

The replayer reads the ledger topics (court, agency, publisher, clock) from the
beginning with a plain consumer, orders each partition number's records by broker
time (`replay.merge`), hands every record to the same driver the faust worker uses
(`processors.core.Processor`, which calls the pure rules engine), decodes the derived
events it would have produced, and applies ledger and derived events to the scratch
schema with the same projection code as the live projector
(`projections.store.apply_batch`). It never produces to a topic and never writes
outside its schema.

Progress is checkpointed in the scratch schema at every batch, in the transaction that
writes the rows: the offsets processed, the engine state of every listing the batch
touched and the clock. An interrupted replay resumes from there.

`--until INSTANT` keeps only acts that took effect by INSTANT (and ticks up to it),
then advances every listing's clock to INSTANT, so the tables show what was true at
that instant as the whole log knows it: the same as the live tables' `--as-of` view.

The cut-off is part of the checkpoint (`replay_state`, kind `meta`). The records it
left out are passed, not kept for later, and the clock was advanced to it: so a
schema is resumed only with the cut-off it was built with (the same instant, or no
`--until` for both), and a replay asking for another one is refused with a
`ReplayError` (`--fresh` rebuilds). Likewise `--until-offsets` may extend a schema,
never take back records it already holds.
"""

from __future__ import annotations

import json
import logging
import signal
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql

from contract.event import LedgerEvent, Position
from processors.core import Processor, Record
from replay.merge import MergeKey, PartitionMerger
from shixin.settings import Settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

TopicPartitionKey = tuple[str, int]
Offsets = dict[TopicPartitionKey, int]
# (topic, partition, offset) of a record the live worker would dead-letter -> why
Rejects = dict[tuple[str, int, int], str]
REPLAY = "replay"  # the projector name of a replay's rows in projector_rejects

# The cut-off a schema was built with, in `replay_state`: ("meta", "until") holds
# the ISO instant, or WHOLE_LOG when the replay had no --until.
META = "meta"
UNTIL_KEY = "until"
WHOLE_LOG = "whole log"

CHECKPOINT_DDL = """
CREATE TABLE IF NOT EXISTS {schema}.replay_checkpoint (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE TABLE IF NOT EXISTS {schema}.replay_state (
    kind text NOT NULL,
    key text NOT NULL,
    value text NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class ReplayError(Exception):
    """A replay cannot start or go on."""


@dataclass
class ReplayStats:
    records: int = 0  # ledger records read from the log
    filtered: int = 0  # records after --until, left out
    applied: int = 0  # events new to the schema (ledger + derived)
    skipped: int = 0  # events the schema had seen (same event id)
    derived: int = 0
    dead_letters: int = 0  # records the live worker would have dead-lettered
    contradictions: int = 0  # event ids met again with other content
    decoded_seconds: float = 0.0
    seconds: float = 0.0
    resumed: bool = False
    interrupted: bool = False
    positions: Offsets = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


class _Tracked(dict[str, Any]):
    """A dict that remembers which keys changed or went since the last checkpoint."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dirty: set[str] = set()

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.dirty.add(key)

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.dirty.add(key)


class _LastDecoded:
    """Decodes for the driver and keeps the last event, so nothing is decoded twice."""

    def __init__(self, decode: Callable[[bytes], LedgerEvent]) -> None:
        self._decode = decode
        self.value: bytes | None = None
        self.event: LedgerEvent | None = None

    def __call__(self, value: bytes) -> LedgerEvent:
        self.value, self.event = value, None
        self.event = self._decode(value)
        return self.event


def read_offsets_file(path: str) -> Offsets:
    """Read `{"topic": {"partition": next_offset}}`: where to stop a replay."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ReplayError(f"offsets file {path!r}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ReplayError(
            f"offsets file {path!r} is not JSON: {exc}; expected "
            "{topic: {partition: offset}}"
        ) from exc
    expected = 'expected {"<topic>": {"<partition>": <next offset>}}'
    if not isinstance(data, dict) or not data:
        raise ReplayError(f"offsets file {path!r} holds {_shown(data)}; {expected}")
    offsets: Offsets = {}
    for topic, partitions in data.items():
        if not isinstance(partitions, dict) or not partitions:
            raise ReplayError(
                f"offsets file {path!r}: topic {topic!r} has {_shown(partitions)}; "
                f"{expected}"
            )
        for partition, offset in partitions.items():
            where = f"offsets file {path!r}: topic {topic!r} partition {partition!r}"
            if not str(partition).isdigit():
                raise ReplayError(f"{where}: expected a partition number")
            if type(offset) is not int or offset < 0:
                raise ReplayError(
                    f"{where}: offset {_shown(offset)}; expected a whole number >= 0 "
                    "(the offset of the first record not to replay)"
                )
            offsets[(str(topic), int(partition))] = offset
    return offsets


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


# What a replay makes in its schema: the query tables (`projections/migrations`),
# their migration record, and its own checkpoint tables.
_REPLAY_TABLES = frozenset(
    {
        "events", "listings", "sanctions", "obligations", "violations",
        "listings_history", "sanctions_history", "obligations_history",
        "violations_history", "projector_offsets", "projector_rejects",
        "schema_migrations", "replay_checkpoint", "replay_state",
    }
)  # fmt: skip
_REPLAY_VIEWS = frozenset({"public_listings", "accountability"})

# Every object of a schema that no table owns: its tables, views, standalone
# sequences, functions and types (a table's own row and array types, indexes and
# owned sequences are the table's).
_SCHEMA_OBJECTS = """
SELECT c.relname, c.relkind::text FROM pg_class c
WHERE c.relnamespace = %(ns)s::regnamespace
  AND (c.relkind IN ('r', 'p', 'v', 'm', 'f')
       OR (c.relkind = 'S' AND NOT EXISTS (
             SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
             AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))))
UNION ALL
SELECT p.proname, 'function' FROM pg_proc p WHERE p.pronamespace = %(ns)s::regnamespace
UNION ALL
SELECT t.typname, 'type' FROM pg_type t
WHERE t.typnamespace = %(ns)s::regnamespace AND t.typrelid = 0 AND t.typelem = 0
"""


def _refuse_foreign_schema(conn: psycopg.Connection[Any], schema: str) -> None:
    """A replay writes (and `--fresh` drops) only a schema that does not exist yet,
    is empty, or holds what a replay makes and nothing else: never the tables a
    projector built (they lack the replay's checkpoint), nor anything a person
    added beside a replay's tables."""
    exists = conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
    ).fetchone()
    if exists is None:
        return
    found = conn.execute(
        _SCHEMA_OBJECTS, {"ns": sql.Identifier(schema).as_string(conn)}
    ).fetchall()
    if not found:
        return
    names = {name for name, _ in found}
    foreign = sorted(
        f"{name} ({kind})"
        for name, kind in found
        if not (
            (kind in ("r", "p") and name in _REPLAY_TABLES)
            or (kind == "v" and name in _REPLAY_VIEWS)
        )
    )
    if foreign or "replay_checkpoint" not in names or "schema_migrations" not in names:
        shown = ", ".join(foreign[:5]) if foreign else ", ".join(sorted(names)[:5])
        raise ReplayError(
            f"refusing to replay into schema {schema!r}: it holds objects no replay"
            f" made ({shown}{', ...' if len(foreign) > 5 else ''}); replay into a new"
            " schema name"
        )


def replay(
    settings: Settings,
    schema: str,
    *,
    until: datetime | None = None,
    until_offsets: Offsets | None = None,
    fresh: bool = False,
    batch_size: int = 5000,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayStats:
    """Replay the ledger of `settings` into `schema` and return what was done.

    `fresh` drops the schema first; otherwise a checkpoint left by an interrupted
    replay of the same schema is resumed. `on_progress(done, total)` is called after
    every batch.
    """
    from confluent_kafka import Consumer, TopicPartition

    from contract import codec
    from projections.migrate import migrate
    from projections.store import FoldCache, apply_batch

    if until is not None and until.tzinfo is None:
        raise ReplayError(f"--until {until.isoformat()} has no time zone")
    if schema in {"public", "ledger", "pg_catalog", "information_schema"} or (
        schema == settings.ledger_schema
    ):
        raise ReplayError(
            f"refusing to replay into schema {schema!r}: a replay writes only into a "
            "scratch schema of its own"
        )

    topics = Topics.for_settings(settings)
    sources = [topics.court, topics.agency, topics.publisher, topics.clock]
    stats = ReplayStats()
    started = time.perf_counter()
    stop = _StopFlag()

    with psycopg.connect(settings.postgres_url) as conn:
        conn.autocommit = True
        _refuse_foreign_schema(conn, schema)
        if fresh:
            conn.execute(
                sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)
                )
            )
        migrate(conn, schema)
        conn.execute(
            sql.SQL(CHECKPOINT_DDL).format(schema=sql.Identifier(schema))  # type: ignore[arg-type]
        )
        conn.autocommit = False
        start, states = _load_checkpoint(conn, schema)
        conn.commit()
        _check_resumable(schema, start, states, until, until_offsets)
        cutoff = _cutoff_text(until)
        stats.resumed = bool(start)

        listings = _Tracked(states.get("listing", {}))
        open_index = _Tracked(
            {k: json.loads(v) for k, v in states.get("open", {}).items()}
        )
        clock = _Tracked(states.get("clock", {}))
        decoder = _LastDecoded(codec.decode)
        processor = Processor(
            topics,
            listings,
            open_index,
            clock,
            decode=decoder,
            encode=codec.encode,
        )

        consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"{settings.topic_prefix}.replay.{schema}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": False,
            }
        )
        try:
            ends = _end_offsets(consumer, sources, until_offsets)
            begin = {tp: start.get(tp, low) for tp, (low, _) in ends.items()}
            stop_at = {tp: high for tp, (_, high) in ends.items()}
            total = sum(max(0, stop_at[tp] - begin[tp]) for tp in stop_at)
            partitions = sorted({p for _, p in stop_at})
            mergers = {p: PartitionMerger[Record](sources) for p in partitions}
            for (topic, partition), end in stop_at.items():
                if begin[(topic, partition)] >= end:
                    mergers[partition].exhaust(topic)
            pending = {tp for tp in stop_at if begin[tp] < stop_at[tp]}
            consumer.assign(
                [TopicPartition(t, p, begin[(t, p)]) for (t, p) in sorted(pending)]
            )
            logger.info(
                "replay started schema=%s records=%d resumed=%s until=%s",
                schema,
                total,
                stats.resumed,
                None if until is None else until.isoformat(),
            )

            positions: Offsets = dict(begin)
            # this replay is the scratch schema's only writer
            cache = FoldCache(empty=_holds_no_events(conn, schema))
            items: list[tuple[LedgerEvent, Position]] = []
            rejects: Rejects = {}
            done_in_batch = 0

            def flush() -> None:
                nonlocal items, done_in_batch
                try:
                    with conn.transaction():
                        result = apply_batch(conn, schema, items, cache)
                        for c in result.contradictions:
                            _note(rejects, (c.topic, c.partition, c.offset), c.error)
                        stats.contradictions += len(result.contradictions)
                        _save_checkpoint(
                            conn, schema, positions, listings, open_index, clock
                        )
                        _save_cutoff(conn, schema, cutoff)
                        _save_rejects(conn, schema, rejects)
                except Exception:
                    cache.clear()  # the batch did not commit: forget what it folded
                    raise
                conn.commit()
                stats.applied += result.applied
                stats.skipped += result.skipped
                items = []
                rejects.clear()
                done_in_batch = 0
                if on_progress is not None:
                    on_progress(stats.records + stats.filtered, total)

            while pending or not all(m.done for m in mergers.values()):
                if stop.requested:
                    stats.interrupted = True
                    break
                _fetch(consumer, pending, stop_at, mergers)
                for merger in mergers.values():
                    if stop.requested:
                        break  # the loop's head checkpoints what is done
                    for _, record in merger.pop_ready():
                        positions[(record.topic, record.partition)] = record.offset + 1
                        t0 = time.perf_counter()
                        keep = _within(record, until, decoder)
                        stats.decoded_seconds += time.perf_counter() - t0
                        if not keep:
                            stats.filtered += 1
                            continue
                        stats.records += 1
                        items.extend(
                            _project(processor, decoder, record, codec.decode, rejects)
                        )
                        done_in_batch += 1
                        if done_in_batch >= batch_size:
                            flush()
                            if stop.requested:
                                break  # at a batch's end: resumed from there
                if stop.requested:
                    continue  # the loop's head marks the replay interrupted
                if not pending and all(m.done for m in mergers.values()):
                    break
            stats.derived = sum(processor.metrics.derived.values())
            stats.dead_letters = processor.metrics.dead_letters

            if until is not None and not stats.interrupted:
                items.extend(
                    _advance_all(processor, decoder, partitions, until, rejects)
                )
            flush()
            stats.positions = positions
        finally:
            consumer.close()
            stop.restore()

    stats.seconds = time.perf_counter() - started
    logger.info(
        "replay finished schema=%s records=%d applied=%d skipped=%d derived=%d "
        "dead_letters=%d seconds=%.1f interrupted=%s",
        schema,
        stats.records,
        stats.applied,
        stats.skipped,
        stats.derived,
        stats.dead_letters,
        stats.seconds,
        stats.interrupted,
    )
    return stats


def _end_offsets(
    consumer: Any, sources: list[str], until_offsets: Offsets | None
) -> dict[TopicPartitionKey, tuple[int, int]]:
    """(low watermark, stop offset) of every partition of the ledger topics."""
    from confluent_kafka import TopicPartition

    metadata = consumer.list_topics(timeout=30)
    counts = {}
    for topic in sources:
        if topic not in metadata.topics:
            raise ReplayError(
                f"topic {topic!r} does not exist: nothing to replay (wrong "
                "TOPIC_PREFIX or KAFKA_BOOTSTRAP_SERVERS?)"
            )
        counts[topic] = len(metadata.topics[topic].partitions)
    if len(set(counts.values())) != 1:
        raise ReplayError(f"ledger topics are not co-partitioned: {counts}")

    if until_offsets is not None:
        _check_stop_offsets(until_offsets, counts)
    ends = {}
    for topic in sources:
        for partition in range(counts[topic]):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
            if until_offsets is not None:
                high = min(high, until_offsets[(topic, partition)])
            ends[(topic, partition)] = (low, high)
    return ends


def _check_stop_offsets(until_offsets: Offsets, counts: dict[str, int]) -> None:
    """A stop offset for every partition of every ledger topic (the clock's
    included), and for nothing else: a partition left out would replay nothing of
    it, silently."""
    for topic, partition in sorted(until_offsets):
        if topic not in counts:
            raise ReplayError(
                f"--until-offsets names topic {topic!r}, which is not a ledger topic "
                f"of this ledger; expected {', '.join(counts)}"
            )
        if partition >= counts[topic]:
            raise ReplayError(
                f"--until-offsets names partition {partition} of {topic!r}, which "
                f"has partitions 0-{counts[topic] - 1}"
            )
    missing = [
        f"{topic} partition {partition}"
        for topic, count in counts.items()
        for partition in range(count)
        if (topic, partition) not in until_offsets
    ]
    if missing:
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        raise ReplayError(
            f"--until-offsets gives no stop offset for {', '.join(missing[:3])}{more}; "
            "expected one for every partition of every ledger topic, the clock "
            "topic's included (0 replays nothing of a partition)"
        )


def _fetch(
    consumer: Any,
    pending: set[TopicPartitionKey],
    stop_at: Offsets,
    mergers: dict[int, PartitionMerger[Record]],
) -> None:
    """Consume one batch into the mergers; mark partitions that reached their end."""
    if not pending:
        return
    from confluent_kafka import TopicPartition

    for message in consumer.consume(1000, timeout=1.0):
        if message.error() is not None:
            raise ReplayError(f"consume error: {message.error()}")
        tp = (str(message.topic()), int(message.partition() or 0))
        offset = int(message.offset() or 0)
        if tp not in pending or offset >= stop_at[tp]:
            continue
        _, millis = message.timestamp()
        merger = mergers[tp[1]]
        record = Record(
            topic=tp[0],
            partition=tp[1],
            offset=offset,
            broker_time=datetime.fromtimestamp(millis / 1000, tz=UTC),
            key=message.key(),
            value=message.value(),
        )
        merger.push(tp[0], MergeKey(millis, merger.rank(tp[0]), tp[1], offset), record)
        if offset + 1 >= stop_at[tp]:
            pending.discard(tp)
            merger.exhaust(tp[0])
            consumer.incremental_unassign([TopicPartition(tp[0], tp[1])])


def _within(record: Record, until: datetime | None, decoder: _LastDecoded) -> bool:
    """Whether the record's act took effect by `until` (always, without --until)."""
    if until is None or not record.value:
        return True
    try:
        event = decoder(record.value)
    except Exception:  # undecodable: the driver dead-letters it, as live does
        return True
    return event.occurred_at <= until


def _project(
    processor: Processor,
    decoder: _LastDecoded,
    record: Record,
    decode: Callable[[bytes], LedgerEvent],
    rejects: Rejects,
) -> list[tuple[LedgerEvent, Position]]:
    """Ledger and derived events of one record, each with its knowledge position."""
    if decoder.value is not record.value:
        decoder.value, decoder.event = None, None
    outgoing = processor.handle(record)
    out: list[tuple[LedgerEvent, Position]] = []
    position = record.position
    if record.topic != processor.topics.clock and decoder.event is not None:
        out.append((decoder.event, position))
    for message in outgoing:
        if message.topic == processor.topics.dead_letter:
            # never produced by a replay: kept in its schema's projector_rejects
            headers = dict(message.headers)
            reason = (
                f"{headers.get('dead_letter_stage', b'').decode()}: "
                f"{headers.get('dead_letter_reason', b'').decode()}"
            )
            _note(rejects, (record.topic, record.partition, record.offset), reason)
            continue
        # the event the live projector would decode from `message.value`
        derived = message.event if message.event is not None else decode(message.value)
        out.append((derived, position))
    return out


def _advance_all(
    processor: Processor,
    decoder: _LastDecoded,
    partitions: list[int],
    until: datetime,
    rejects: Rejects,
) -> list[tuple[LedgerEvent, Position]]:
    """Tick every partition at `until`, as a clock tick at that instant would."""
    from contract import codec
    from processors.clock import tick_event

    items: list[tuple[LedgerEvent, Position]] = []
    for partition in partitions:
        tick = tick_event(until, partition)
        record = Record(
            topic=processor.topics.clock,
            partition=partition,
            offset=-1,  # not in the log: the instant the replay was asked to stop at
            broker_time=until.astimezone(UTC),
            key=None,
            value=codec.encode(tick),
        )
        items.extend(_project(processor, decoder, record, codec.decode, rejects))
    return items


def _holds_no_events(conn: psycopg.Connection[Any], schema: str) -> bool:
    row = conn.execute(
        sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {}.events)").format(
            sql.Identifier(schema)
        )
    ).fetchone()
    conn.commit()
    return bool(row and row[0])


def _note(rejects: Rejects, key: tuple[str, int, int], reason: str) -> None:
    rejects[key] = f"{rejects[key]}; {reason}" if key in rejects else reason


def _save_rejects(conn: psycopg.Connection[Any], schema: str, rejects: Rejects) -> None:
    """What the live worker would have dead-lettered, and event ids met again with
    other content, in the scratch schema (as the projector names its own)."""
    from projections.projector import Rejected, save_rejects

    save_rejects(
        conn,
        schema,
        REPLAY,
        [Rejected(t, p, o, error) for (t, p, o), error in sorted(rejects.items())],
    )


def _cutoff_text(until: datetime | None) -> str:
    return WHOLE_LOG if until is None else until.isoformat()


def _cutoff_words(text: str | None) -> str:
    if text is None:
        return "an unknown cut-off (a checkpoint of an older version)"
    return "the whole log (no --until)" if text == WHOLE_LOG else f"--until {text}"


def _check_resumable(
    schema: str,
    start: Offsets,
    states: dict[str, dict[str, str]],
    until: datetime | None,
    until_offsets: Offsets | None,
) -> None:
    """Refuse to resume a schema built with another cut-off, or to stop it at
    offsets it has already passed: either would report success over tables that
    do not show what was asked."""
    built = states.get(META, {}).get(UNTIL_KEY)
    if not start and built is None:
        return  # a new schema
    same = built is not None and (
        built == WHOLE_LOG
        if until is None
        else built != WHOLE_LOG and datetime.fromisoformat(built) == until
    )
    if not same:
        raise ReplayError(
            f"schema {schema!r} was built from {_cutoff_words(built)}; this replay "
            f"asks for {_cutoff_words(_cutoff_text(until))}. A replay resumes only "
            "with the cut-off it was built with: add --fresh to rebuild the schema "
            "(or replay into another schema)"
        )
    if until_offsets is not None:
        passed = sorted(
            (tp, done) for tp, done in start.items() if done > until_offsets.get(tp, 0)
        )
        if passed:
            (topic, partition), done = passed[0]
            more = f" (and {len(passed) - 1} more)" if len(passed) > 1 else ""
            raise ReplayError(
                f"schema {schema!r} already holds {topic} partition {partition} up "
                f"to offset {done}, past the requested stop offset "
                f"{until_offsets.get((topic, partition), 0)}{more}: a replay never "
                "takes records back; add --fresh to rebuild the schema"
            )


def _save_cutoff(conn: psycopg.Connection[Any], schema: str, cutoff: str) -> None:
    conn.execute(
        sql.SQL(
            "INSERT INTO {}.replay_state (kind, key, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (kind, key) DO NOTHING"  # as first written: same instant
        ).format(sql.Identifier(schema)),
        (META, UNTIL_KEY, cutoff),
    )


def _load_checkpoint(
    conn: psycopg.Connection[Any], schema: str
) -> tuple[Offsets, dict[str, dict[str, str]]]:
    s = sql.Identifier(schema)
    offsets = {
        (topic, partition): offset
        for topic, partition, offset in conn.execute(
            sql.SQL(
                "SELECT topic, partition, next_offset FROM {}.replay_checkpoint"
            ).format(s)
        )
    }
    states: dict[str, dict[str, str]] = {}
    for kind, key, value in conn.execute(
        sql.SQL("SELECT kind, key, value FROM {}.replay_state").format(s)
    ):
        states.setdefault(kind, {})[key] = value
    return offsets, states


def _save_checkpoint(
    conn: psycopg.Connection[Any],
    schema: str,
    positions: Offsets,
    listings: _Tracked,
    open_index: _Tracked,
    clock: _Tracked,
) -> None:
    s = sql.Identifier(schema)
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                "INSERT INTO {}.replay_checkpoint (topic, partition, next_offset) "
                "VALUES (%s, %s, %s) ON CONFLICT (topic, partition) "
                "DO UPDATE SET next_offset = EXCLUDED.next_offset"
            ).format(s),
            [(t, p, o) for (t, p), o in sorted(positions.items())],
        )
        for kind, table, encode in (
            ("listing", listings, _state_text),
            ("open", open_index, json.dumps),
            ("clock", clock, str),
        ):
            gone = [k for k in table.dirty if k not in table]
            kept = [(kind, k, encode(table[k])) for k in table.dirty if k in table]
            if gone:
                cur.execute(
                    sql.SQL(
                        "DELETE FROM {}.replay_state WHERE kind = %s AND key = ANY(%s)"
                    ).format(s),
                    (kind, gone),
                )
            if kept:
                cur.executemany(
                    sql.SQL(
                        "INSERT INTO {}.replay_state (kind, key, value) "
                        "VALUES (%s, %s, %s) ON CONFLICT (kind, key) "
                        "DO UPDATE SET value = EXCLUDED.value"
                    ).format(s),
                    kept,
                )
            table.dirty.clear()


def _state_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _StopFlag:
    """First Ctrl-C or SIGTERM: finish the batch in hand, checkpoint, stop."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[signum] = signal.signal(signum, self._request)
            except ValueError:  # not the main thread: no handlers, no interruption
                pass

    def _request(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("replay interrupted signal=%d: checkpointing", signum)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def tracked_listings(states: MutableMapping[str, Any]) -> int:
    return len(states)
