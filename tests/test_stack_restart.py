"""Down and up again: nothing written before is lost; `up` reuses what runs.

These tests start a private broker and PostgreSQL on free ports in a temporary
data folder, so the shared stack of the session is never stopped.
"""

from __future__ import annotations

import shutil
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from shixin.settings import Settings
from shixin.stack import down, kafka, postgres, status, up
from shixin.stack.topics import ensure_topics
from shixin.topics import Topics

pytestmark = pytest.mark.services


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def private_stack(stack: Settings) -> Iterator[Settings]:
    # not under pytest's tmp folder: it is mode 0700 (re-applied by every pytest
    # session), which the unprivileged PostgreSQL user of a root run cannot enter
    data_dir = stack.data_dir / f"test-private-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        data_dir=data_dir,
        kafka_bootstrap_servers=None,
        database_url=None,
        kafka_port=_free_port(),
        kafka_controller_port=_free_port(),
        postgres_port=_free_port(),
        kafka_heap="256m",
        topic_prefix="restart",
        topic_partitions=2,
    )
    try:
        up(settings)
        yield settings
    finally:
        down(settings)
        shutil.rmtree(data_dir, ignore_errors=True)


def _produce(settings: Settings, topic: str, count: int) -> None:
    from confluent_kafka import Producer

    producer = Producer(
        {"bootstrap.servers": settings.bootstrap_servers, "enable.idempotence": True}
    )
    for i in range(count):
        producer.produce(topic, key=f"k{i % 7}".encode(), value=str(i).encode())
    assert producer.flush(30) == 0


def _consume_all(
    settings: Settings, topic: str, group: str, expected: int
) -> list[int]:
    """Consume until `expected` messages arrived or 60 s passed (a restarted broker
    may still be loading its group coordinator)."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": group,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    values: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while len(values) < expected and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=500, timeout=1.0)
            values.extend(
                int(msg.value() or b"-1") for msg in batch if msg.error() is None
            )
    finally:
        consumer.close()
    return sorted(values)


def test_up_twice_reuses_the_running_services(private_stack: Settings) -> None:
    kafka_pid = kafka.started_pid(private_stack)
    postgres_pid = postgres.started_pid(private_stack)

    up(private_stack)

    assert kafka_pid is not None and postgres_pid is not None
    assert kafka.started_pid(private_stack) == kafka_pid
    assert postgres.started_pid(private_stack) == postgres_pid
    rows = {row.name: row for row in status(private_stack)}
    assert rows["kafka"].running and rows["kafka"].started_by_us
    assert rows["postgres"].running and rows["postgres"].pid == postgres_pid
    assert rows["postgres"].version is not None
    assert rows["postgres"].version.startswith("PostgreSQL")


def test_messages_and_rows_survive_down_and_up(private_stack: Settings) -> None:
    import psycopg

    topic = Topics.for_settings(private_stack).court
    _produce(private_stack, topic, 300)
    with psycopg.connect(private_stack.postgres_url, autocommit=True) as conn:
        conn.execute("create table kept (n int)")
        conn.execute("insert into kept values (1), (2), (3)")

    stopped = down(private_stack)
    assert stopped == ["kafka", "postgres"]
    rows = {row.name: row for row in status(private_stack)}
    assert not rows["kafka"].running and not rows["postgres"].running

    up(private_stack)

    assert ensure_topics(private_stack) == []
    assert _consume_all(private_stack, topic, "after-restart", 300) == list(range(300))
    with psycopg.connect(private_stack.postgres_url) as conn:
        row = conn.execute("select sum(n) from kept").fetchone()
    assert row == (6,)


def test_down_leaves_alone_what_it_did_not_start(private_stack: Settings) -> None:
    stranger = private_stack.model_copy(
        update={"data_dir": private_stack.data_dir / "elsewhere"}
    )

    assert down(stranger) == []
    assert kafka.broker_answers(private_stack.bootstrap_servers)
