"""The Kafka projector: a thin driver that feeds ledger and derived topics to
`store.apply_batch`, committing its offsets in the same PostgreSQL transaction.

Partitions are assigned manually (no consumer group, nothing committed to Kafka);
the start position of each partition is `projector_offsets.next_offset`, so a
projector killed at any moment resumes exactly after the last committed batch.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import psycopg
from psycopg import sql

from contract.event import LedgerEvent, Position
from projections.migrate import DEFAULT_SCHEMA, analyze, migrate
from projections.store import FoldCache, apply_batch
from shixin.settings import Settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

DEFAULT_PROJECTOR = "query-tables"


@dataclass
class ProjectorStats:
    batches: int = 0
    applied: int = 0
    skipped: int = 0
    rejected: int = 0
    elapsed: float = 0.0
    positions: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    partition: int
    offset: int
    error: str


def projected_topics(topics: Topics) -> tuple[str, ...]:
    """Ledger topics (court, agency, publisher) and the derived topics."""
    return (topics.court, topics.agency, topics.publisher, *topics.derived)


def position_of(message: Any) -> Position:
    """Knowledge coordinate of a message: its own position for ledger events, the
    position of the causing ledger event (headers `cause_*`) for derived ones."""
    headers = dict(message.headers() or [])
    if b"cause_topic" in headers or "cause_topic" in headers:
        h = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in headers.items()}
        return Position(
            topic=h["cause_topic"],
            partition=int(h["cause_partition"]),
            offset=int(h["cause_offset"]),
            broker_time=datetime.fromisoformat(h["cause_time"]).astimezone(UTC),
        )
    _, millis = message.timestamp()
    return Position(
        topic=message.topic(),
        partition=message.partition(),
        offset=message.offset(),
        broker_time=datetime.fromtimestamp(millis / 1000, tz=UTC),
    )


def run(
    settings: Settings,
    schema: str = DEFAULT_SCHEMA,
    projector: str = DEFAULT_PROJECTOR,
    until_caught_up: bool = False,
    batch_size: int = 5000,
    poll_timeout: float = 0.5,
) -> ProjectorStats:
    """Project the topics of `settings` into `schema` until caught up (or forever,
    stopping cleanly on SIGTERM/SIGINT after flushing the batch in hand)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from contract.codec import decode

    topics = projected_topics(Topics.for_settings(settings))
    stats = ProjectorStats()
    stop = _StopFlag()
    started = time.perf_counter()

    with psycopg.connect(settings.postgres_url) as conn:
        conn.autocommit = True
        _refuse_replay_schema(conn, schema)
        migrate(conn, schema)
        conn.autocommit = False
        resume = _load_offsets(conn, schema, projector)
        conn.commit()

        consumer = Consumer(
            {
                "bootstrap.servers": settings.bootstrap_servers,
                "group.id": f"{settings.topic_prefix}.{projector}.{schema}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": False,
            }
        )
        try:
            assignment: list[TopicPartition] = []
            ends: dict[tuple[str, int], int] = {}
            metadata = consumer.list_topics(timeout=30)
            for topic in topics:
                if topic not in metadata.topics:
                    raise RuntimeError(
                        f"topic {topic!r} does not exist; run `shixin stack up` or "
                        "`shixin topics ensure` first"
                    )
                for partition in sorted(metadata.topics[topic].partitions):
                    offset = resume.get((topic, partition), OFFSET_BEGINNING)
                    assignment.append(TopicPartition(topic, partition, offset))
                    if until_caught_up:
                        _, high = consumer.get_watermark_offsets(
                            TopicPartition(topic, partition), timeout=30
                        )
                        ends[(topic, partition)] = high
            consumer.assign(assignment)
            logger.info(
                "projector started projector=%s schema=%s partitions=%d resumed=%d",
                projector,
                schema,
                len(assignment),
                len(resume),
            )
            positions = dict(resume)
            # fold states written in this run; a failed batch ends the run with it
            cache = FoldCache()

            def caught_up() -> bool:
                return all(positions.get(tp, 0) >= end for tp, end in ends.items())

            while not stop.requested:
                if until_caught_up and caught_up():
                    break
                messages = consumer.consume(batch_size, timeout=poll_timeout)
                if not messages:
                    continue
                items: list[tuple[LedgerEvent, Position]] = []
                rejected: list[Rejected] = []
                for message in messages:
                    tp = (str(message.topic()), int(message.partition() or 0))
                    if message.error() is not None:
                        logger.warning(
                            "consume error topic=%s error=%s", tp[0], message.error()
                        )
                        continue
                    offset = int(message.offset() or 0)
                    positions[tp] = offset + 1
                    try:
                        event = decode(message.value() or b"")
                        items.append((event, position_of(message)))
                    except Exception as exc:  # bad input never stops the projector
                        rejected.append(
                            Rejected(
                                tp[0],
                                tp[1],
                                offset,
                                f"{type(exc).__name__}: {exc}",
                            )
                        )
                with conn.transaction():
                    result = apply_batch(conn, schema, items, cache)
                    rejected.extend(
                        Rejected(c.topic, c.partition, c.offset, c.error)
                        for c in result.contradictions
                    )
                    _save_offsets(conn, schema, projector, positions, rejected)
                conn.commit()
                stats.batches += 1
                stats.applied += result.applied
                stats.skipped += result.skipped
                stats.rejected += len(rejected)
                for r in rejected:
                    logger.warning(
                        "message rejected topic=%s partition=%d offset=%d error=%s",
                        r.topic,
                        r.partition,
                        r.offset,
                        r.error,
                    )
            stats.positions = positions
        finally:
            consumer.close()
        if stats.applied:  # leave fresh statistics after a catch-up or a long run
            conn.rollback()
            conn.autocommit = True
            analyze(conn, schema)
    stats.elapsed = time.perf_counter() - started
    logger.info(
        "projector stopped projector=%s schema=%s batches=%d applied=%d skipped=%d",
        projector,
        schema,
        stats.batches,
        stats.applied,
        stats.skipped,
    )
    return stats


class ProjectorError(RuntimeError):
    """The projector cannot start."""


def _refuse_replay_schema(conn: psycopg.Connection, schema: str) -> None:
    """A replay's scratch schema has one writer, the replay (it keeps the fold
    states it wrote, and its checkpoint says what it holds): never project into it."""
    found = conn.execute(
        "SELECT 1 FROM information_schema.tables "
        "WHERE table_schema = %s AND table_name = 'replay_checkpoint'",
        (schema,),
    ).fetchone()
    if found is not None:
        raise ProjectorError(
            f"refusing to project into schema {schema!r}: a replay built it (it has "
            "a replay_checkpoint), and a replay is its only writer; project into "
            "another LEDGER_SCHEMA / --schema"
        )


def _load_offsets(
    conn: psycopg.Connection, schema: str, projector: str
) -> dict[tuple[str, int], int]:
    query = sql.SQL(
        'SELECT topic, "partition", next_offset FROM {}.projector_offsets '
        "WHERE projector = %s"
    ).format(sql.Identifier(schema))
    return {(t, p): o for t, p, o in conn.execute(query, (projector,))}


def _save_offsets(
    conn: psycopg.Connection,
    schema: str,
    projector: str,
    positions: dict[tuple[str, int], int],
    rejected: Sequence[Rejected],
) -> None:
    s = sql.Identifier(schema)
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                'INSERT INTO {}.projector_offsets (projector, topic, "partition", '
                "next_offset) VALUES (%s, %s, %s, %s) ON CONFLICT (projector, topic, "
                '"partition") DO UPDATE SET next_offset = excluded.next_offset'
            ).format(s),
            [(projector, t, p, o) for (t, p), o in sorted(positions.items())],
        )
    save_rejects(conn, schema, projector, rejected)


def save_rejects(
    conn: psycopg.Connection[Any],
    schema: str,
    projector: str,
    rejected: Sequence[Rejected],
) -> None:
    """Name the records a driver (a projector, or a replay) could not use in the
    schema's `projector_rejects`; one already named stays as first written."""
    if not rejected:
        return
    with conn.cursor() as cur:
        cur.executemany(
            sql.SQL(
                'INSERT INTO {}.projector_rejects (projector, topic, "partition", '
                '"offset", error) VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING'
            ).format(sql.Identifier(schema)),
            [(projector, r.topic, r.partition, r.offset, r.error) for r in rejected],
        )


class _StopFlag:
    """Set by SIGTERM/SIGINT: the loop finishes the batch in hand, then stops."""

    def __init__(self) -> None:
        self.requested = False
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._request)

    def _request(self, signum: int, frame: FrameType | None) -> None:
        logger.info("stop requested signal=%d", signum)
        self.requested = True
