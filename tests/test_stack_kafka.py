"""The real broker: idempotent round trip, consumer groups, faust table recovery."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from shixin.stack.topics import LedgerTopics

pytestmark = pytest.mark.services

MESSAGES = 10_000
KEYS = 100


def test_idempotent_producer_round_trip_loses_nothing_and_keeps_key_order(
    ledger_topics: LedgerTopics,
) -> None:
    from confluent_kafka import Consumer, Producer

    settings, topic = ledger_topics.settings, ledger_topics.topics.court
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
        }
    )
    failures: list[str] = []

    def delivered(err: object, msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    for i in range(MESSAGES):
        key = f"listing-{i % KEYS}"
        producer.produce(topic, key=key, value=str(i).encode(), on_delivery=delivered)
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    assert failures == []

    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"{settings.topic_prefix}-roundtrip",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    seen: dict[str, list[int]] = defaultdict(list)
    received = 0
    try:
        idle = 0
        while received < MESSAGES and idle < 20:
            batch = consumer.consume(num_messages=1000, timeout=1.0)
            idle = 0 if batch else idle + 1
            for msg in batch:
                assert msg.error() is None, msg.error()
                seen[(msg.key() or b"").decode()].append(int(msg.value() or b"-1"))
                received += 1
    finally:
        consumer.close()

    assert received == MESSAGES
    assert len(seen) == KEYS
    for key, values in seen.items():
        expected = list(range(int(key.split("-")[1]), MESSAGES, KEYS))
        assert values == expected, key


def test_aiokafka_consumer_group_commits_its_offsets(
    ledger_topics: LedgerTopics,
) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    settings, topic = ledger_topics.settings, ledger_topics.topics.agency
    group = f"{settings.topic_prefix}-group"

    async def scenario() -> tuple[int, int | None]:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, acks="all"
        )
        await producer.start()
        try:
            for i in range(5):
                await producer.send_and_wait(topic, b"v%d" % i, key=b"k", partition=0)
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.bootstrap_servers,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            got = 0
            while got < 5:
                batches = await consumer.getmany(timeout_ms=2000)
                assert batches, "no messages within 2s"
                got += sum(len(records) for records in batches.values())
            await consumer.commit()
            committed = await consumer.committed(TopicPartition(topic, 0))
        finally:
            await consumer.stop()
        return got, committed

    got, committed = asyncio.run(scenario())

    assert got == 5
    assert committed == 5


FAUST_WORKER = textwrap.dedent(
    """
    import json, os, sys
    import faust

    bootstrap, app_id, topic, expected, out = sys.argv[1:6]
    expected = int(expected)
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store="memory://",
        datadir=os.path.dirname(out),
        topic_partitions=1,
        topic_replication_factor=1,
        web_enabled=False,
        producer_acks=-1,
    )
    source = app.topic(topic, key_type=str, value_type=int)
    latest = app.Table("latest", default=int, partitions=1)

    def dump():
        with open(out, "w") as f:
            json.dump(dict(latest.items()), f, sort_keys=True)

    @app.agent(source)
    async def count(stream):
        # max() makes a redelivered message harmless (at-least-once processing)
        async for key, seq in stream.items():
            latest[key] = max(latest[key], seq)

    @app.timer(0.2)
    async def check():
        if max(latest.values(), default=0) >= expected:
            await app.stop()  # commits offsets, flushes the changelog
            dump()
            os._exit(0)  # the worker itself does not end when the app stops

    worker = faust.Worker(app, loglevel="WARNING", quiet=True)
    worker.execute_from_commandline()
    """
)


def _run_faust(
    script: Path, bootstrap: str, app_id: str, topic: str, expected: int, out: Path
) -> None:
    """Run the worker until its table counts `expected` messages; it writes the
    table to `out` and exits."""
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            bootstrap,
            app_id,
            topic,
            str(expected),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=out.parent,
        check=False,
    )
    assert out.exists(), (
        f"faust worker wrote no result (exit {result.returncode}):\n"
        f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )


def test_faust_table_is_recovered_from_its_changelog_after_a_restart(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    settings = ledger_topics.settings
    prefix = settings.topic_prefix
    first_topic, second_topic = f"{prefix}.faust-in-1", f"{prefix}.faust-in-2"
    app_id = f"{prefix}.faust-{uuid.uuid4().hex[:6]}"
    script = tmp_path / "worker.py"
    script.write_text(FAUST_WORKER)
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    for future in admin.create_topics(
        [NewTopic(first_topic, 1, 1), NewTopic(second_topic, 1, 1)]
    ).values():
        future.result()
    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "acks": "all"}
    )

    def send(topic: str, records: list[tuple[str, int]]) -> None:
        for key, seq in records:
            producer.produce(topic, key=key.encode(), value=str(seq).encode())
        assert producer.flush(10) == 0

    send(first_topic, [("a", 1), ("a", 2), ("b", 3)])
    first = tmp_path / "first.json"
    _run_faust(script, settings.bootstrap_servers, app_id, first_topic, 3, first)
    assert first.read_text() == '{"a": 2, "b": 3}'

    # the restarted worker reads another topic and starts with an empty in-memory
    # store: "a" can only come back through the table's changelog
    send(second_topic, [("b", 4), ("c", 5)])
    second = tmp_path / "second.json"
    _run_faust(script, settings.bootstrap_servers, app_id, second_topic, 5, second)
    assert second.read_text() == '{"a": 2, "b": 4, "c": 5}'
