"""The Kafka projector on the real broker and PostgreSQL: exactly once across a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract.codec import encode
from contract.event import Position
from projections.projector import DEFAULT_PROJECTOR, run
from projections.synthetic import read_inputs
from shixin.stack.topics import LedgerTopics

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    "events", "listings", "sanctions", "obligations", "violations", "listings_history",
    "sanctions_history", "obligations_history", "violations_history",
)  # fmt: skip


def publish_sample(ledger: LedgerTopics) -> int:
    """Publish the sample ledger events, then the engine's derived events with the
    position of their cause in headers, as the processors do. Returns the count."""
    from confluent_kafka import Producer

    from contract.vocab import FAMILY_OF
    from processors.core import Record, cause_headers
    from rules import engine

    events = read_inputs(
        ROOT / "data" / "listings.jsonl", ROOT / "data" / "lifecycles.jsonl"
    )
    producer = Producer({"bootstrap.servers": ledger.settings.bootstrap_servers})
    delivered: dict[str, Position] = {}

    def remember(event_id: str) -> Any:
        def on_delivery(error: Any, message: Any) -> None:
            assert error is None, error
            _, millis = message.timestamp()
            delivered[event_id] = Position(
                message.topic(),
                message.partition(),
                message.offset(),
                datetime.fromtimestamp(millis / 1000, tz=UTC),
            )

        return on_delivery

    for event in events:
        topic = getattr(ledger.topics, FAMILY_OF[event.event_type])
        producer.produce(
            topic,
            key=event.listing_id.encode(),
            value=encode(event),
            on_delivery=remember(event.event_id),
        )
    assert producer.flush(60) == 0

    count = len(events)
    states: dict[str, Any] = {}
    for event in events:
        state, derived = engine.apply(states.get(event.listing_id), event)
        states[event.listing_id] = state
        cause = delivered[event.event_id]
        record = Record(
            topic=cause.topic,
            partition=cause.partition,
            offset=cause.offset,
            key=event.listing_id.encode(),
            value=None,
            broker_time=cause.broker_time,
        )
        for d in derived:
            topic = (
                ledger.topics.sanction_state
                if d.event_type == "SANCTION_STATE_CHANGED"
                else ledger.topics.deadlines
            )
            producer.produce(
                topic,
                key=d.listing_id.encode(),
                value=encode(d),
                headers=cause_headers(record),  # type: ignore[arg-type]
            )
            count += 1
    assert producer.flush(60) == 0
    return count


def projected(conninfo: str, schema: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            row = conn.execute(
                "SELECT coalesce(sum(next_offset), 0) "
                f'FROM "{schema}".projector_offsets'
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return 0
    return int(row[0]) if row else 0


def digest(conn: psycopg.Connection, schema: str, table: str) -> str:
    row = conn.execute(
        f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f'FROM "{schema}"."{table}" t'
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_projector_killed_between_batches_resumes_without_doubles_or_gaps(
    ledger_topics: LedgerTopics, pg_schema: str, pg_conninfo: str
) -> None:
    total = publish_sample(ledger_topics)
    settings = ledger_topics.settings
    env = {
        **os.environ,
        "TOPIC_PREFIX": settings.topic_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "DATABASE_URL": pg_conninfo,
    }
    command = [
        str(Path(sys.executable).parent / "shixin"), "project", "--schema", pg_schema,
        "--until-caught-up", "--batch-size", "10",
    ]  # fmt: skip

    # 1. start, wait for some committed batches, kill -9 before the end
    victim = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120
    while projected(pg_conninfo, pg_schema) == 0:
        assert victim.poll() is None, "projector ended before it could be killed"
        assert time.monotonic() < deadline, "projector committed nothing in 120 s"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    at_kill = projected(pg_conninfo, pg_schema)
    assert 0 < at_kill < total

    # 2. restart: resumes from the offsets in PostgreSQL
    restarted = subprocess.run(command, env=env, cwd=ROOT, timeout=300, check=False)
    assert restarted.returncode == 0
    assert projected(pg_conninfo, pg_schema) == total

    # 3. the same topics projected in one go into another schema
    reference = f"{pg_schema}_ref"
    try:
        stats = run(settings.model_copy(update={"database_url": pg_conninfo}),
                    schema=reference, until_caught_up=True)  # fmt: skip
        assert stats.applied + stats.skipped == total
        with psycopg.connect(pg_conninfo, autocommit=True) as conn:
            events = conn.execute(
                f'SELECT count(*) FROM "{pg_schema}".events'
            ).fetchone()
            assert events == (stats.applied,)
            for table in TABLES:
                assert digest(conn, pg_schema, table) == digest(
                    conn, reference, table
                ), table
            offsets = conn.execute(
                f'SELECT count(*) FROM "{pg_schema}".projector_offsets '
                "WHERE projector = %s",
                (DEFAULT_PROJECTOR,),
            ).fetchone()
            assert offsets is not None and offsets[0] > 0
    finally:
        with psycopg.connect(pg_conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{reference}" CASCADE')
