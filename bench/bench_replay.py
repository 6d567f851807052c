"""Benchmark: `shixin replay` against consuming and decoding the same topics.

Generates a workload (default 20,000 listings, about 290,000 events; `--listings
70000` gives over 1,000,000), publishes it to a fresh ledger with a few clock ticks,
then in the same run:

1. baseline: a plain consumer reads every ledger topic from the beginning and
   decodes every message (`contract.codec.decode`), nothing else; beside it the
   floors of that baseline: the same consumer reading without decoding, and
   reading with fastavro's own `schemaless_reader` (the writer schema named by each
   message's fingerprint, parsed once) instead of our decoder;
2. replay: `replay.replayer.replay` into a scratch schema: the same reading, merged
   in broker-time order, the rules engine, and the projection into PostgreSQL.

Prints both rates (events/s), their ratio and the peak RSS; then the floor of
writing the rows the replay wrote (3. raw COPY of exactly those rows into a fresh
schema of the same tables and indexes, no engine, no planning), as records/s.

Run: `.venv/bin/python bench/bench_replay.py [--listings N]` (the stack must be up).
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from fastavro import schemaless_reader

from contract.codec import HEADER_SIZE, decode, registry
from processors.clock import publish_ticks
from producers.generate import generate_files
from producers.publish import publish_files
from replay.replayer import replay
from shixin.settings import Settings
from shixin.stack.topics import delete_topics, ensure_topics, prefixed_topics
from shixin.topics import Topics

TICKS = [
    datetime(year, 1, 1, tzinfo=ZoneInfo("Asia/Shanghai")) for year in (2020, 2027)
]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fastavro_read(value: bytes) -> object:
    """fastavro's own reader on one message: the writer schema its fingerprint
    names (parsed once), no resolution, no event built."""
    writer = registry().by_fingerprint[value[2:HEADER_SIZE]]
    buf = io.BytesIO(value)
    buf.seek(HEADER_SIZE)
    return schemaless_reader(buf, writer.parsed, None)


def consume_and_decode(
    settings: Settings, decode: Callable[[bytes], object] | None = decode
) -> tuple[int, float]:
    """Read every ledger message once and decode it with `decode` (None: read
    only); (messages, seconds)."""
    from confluent_kafka import Consumer, TopicPartition

    topics = Topics.for_settings(settings)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"{settings.topic_prefix}.bench-baseline-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    assignment, total = [], 0
    for topic in topics.ledger:
        for partition in range(settings.topic_partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30
            )
            total += high - low
            assignment.append(TopicPartition(topic, partition, low))
    started = time.perf_counter()
    consumer.assign(assignment)
    seen = 0
    while seen < total:
        for message in consumer.consume(1000, timeout=1.0):
            if message.error() is None:
                if decode is not None:
                    decode(message.value() or b"")
                seen += 1
    seconds = time.perf_counter() - started
    consumer.close()
    return seen, seconds


def raw_copy(settings: Settings, schema: str) -> tuple[int, float, float]:
    """The floor of writing what the replay wrote: every row of its query tables
    (current and history, the events table, their indexes), read back in COPY's
    binary form, then written with COPY alone into a fresh schema of the same
    tables; no planning, no engine. Then the same into unlogged tables with the
    indexes built after the load. (rows, seconds of the writes, seconds of the
    unlogged load and index builds)."""
    from projections.migrate import migrate

    target = f"{schema}_raw"
    tables = (
        "events", "listings", "sanctions", "obligations", "violations",
        "listings_history", "sanctions_history", "obligations_history",
        "violations_history",
    )  # fmt: skip
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        data: dict[str, list[bytes]] = {}
        for table in tables:
            with conn.cursor().copy(
                f'COPY "{schema}".{table} TO STDOUT (FORMAT BINARY)'
            ) as copy:
                data[table] = [bytes(chunk) for chunk in copy]
        rows = sum(
            conn.execute(f'SELECT count(*) FROM "{schema}".{t}').fetchone()[0]  # type: ignore[index]
            for t in tables
        )

        def load() -> None:
            for table in tables:
                with conn.cursor().copy(
                    f'COPY "{target}".{table} FROM STDIN (FORMAT BINARY)'
                ) as copy:
                    for chunk in data[table]:
                        copy.write(chunk)

        conn.execute(f'DROP SCHEMA IF EXISTS "{target}" CASCADE')
        migrate(conn, target)
        started = time.perf_counter()
        with conn.transaction():
            load()
        seconds = time.perf_counter() - started

        # the cheapest load PostgreSQL offers: unlogged tables (no WAL), indexes
        # built after the rows are in
        conn.execute(f'DROP SCHEMA IF EXISTS "{target}" CASCADE')
        migrate(conn, target)
        indexes = [
            (name, ddl)
            for name, ddl in conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s",
                (target,),
            )
        ]
        constraints = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint c "
            "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = %s "
            "AND contype IN ('p', 'u')",
            (target,),
        ).fetchall()
        for relation, name in constraints:
            conn.execute(f'ALTER TABLE {relation} DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX IF EXISTS "{target}"."{name}"')
        for table in tables:
            conn.execute(f'ALTER TABLE "{target}".{table} SET UNLOGGED')
        started = time.perf_counter()
        with conn.transaction():
            load()
            for _, ddl in indexes:
                conn.execute(ddl)
        unlogged = time.perf_counter() - started
        conn.execute(f'DROP SCHEMA IF EXISTS "{target}" CASCADE')
    return rows, seconds, unlogged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    settings = Settings(topic_prefix=f"bench-replay-{uuid.uuid4().hex[:8]}")
    schema = settings.topic_prefix.replace("-", "_")
    ensure_topics(settings)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp)
            started = time.perf_counter()
            generate_files(out, listings=args.listings, seed=args.seed)
            print(f"generated in {time.perf_counter() - started:.1f}s")
            started = time.perf_counter()
            reports = publish_files(
                [out / "listings.jsonl", out / "lifecycles.jsonl"], settings=settings
            )
            events = sum(r.events for r in reports)
            print(
                f"published {events:,} events in {time.perf_counter() - started:.1f}s"
            )
        for tick in TICKS:
            publish_ticks(settings, tick)

        messages, read_s = consume_and_decode(settings, None)
        print(f"floor, consume only (no decoding): {messages:,} messages in "
              f"{read_s:.1f}s = {messages / read_s:,.0f} events/s")  # fmt: skip
        messages, raw_seconds = consume_and_decode(settings, fastavro_read)
        print(f"floor, consume + fastavro schemaless_reader: {messages:,} messages "
              f"in {raw_seconds:.1f}s = {messages / raw_seconds:,.0f}/s")  # fmt: skip
        messages, base_seconds = consume_and_decode(settings)
        base_rate = messages / base_seconds
        print(f"baseline consume+decode: {messages:,} messages in {base_seconds:.1f}s "
              f"= {base_rate:,.0f} events/s (target 100,000: "
              f"{'met' if base_rate >= 100_000 else 'not met'}); ratio to "
              f"consume + fastavro {raw_seconds / base_seconds:.2f}")  # fmt: skip

        stats = replay(settings, schema, fresh=True)
        rate = stats.records / stats.seconds
        print(f"replay into PostgreSQL: {stats.records:,} records in "
              f"{stats.seconds:.1f}s = {rate:,.0f} events/s ({stats.applied:,} "
              f"events applied incl. {stats.derived:,} derived)")  # fmt: skip
        print(f"ratio replay/baseline: {rate / base_rate:.3f}")
        rows, copy_seconds, unlogged = raw_copy(settings, schema)
        floor = stats.records / copy_seconds
        print(f"raw COPY of the rows the replay wrote: {rows:,} rows in "
              f"{copy_seconds:.1f}s = {floor:,.0f} records/s at most into logged, "
              "indexed tables as the replay writes them (target 30,000: "
              f"{'above' if floor >= 30_000 else 'below'}); ratio replay/raw COPY "
              f"{rate / floor:.3f}")  # fmt: skip
        cheapest = stats.records / unlogged
        print(f"same rows into unlogged tables, indexes built after: "
              f"{unlogged:.1f}s = {cheapest:,.0f} records/s")  # fmt: skip
        print(f"peak RSS: {peak_rss_mib():,.0f} MiB")
    finally:
        delete_topics(settings, prefixed_topics(settings, f"{settings.topic_prefix}."))
        with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
