"""Writing every schema in use to the compacted schemas topic of the real broker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contract import codec


@pytest.mark.services
def test_every_schema_version_lands_in_the_schemas_topic(
    stack: Any, ledger_topics: Any
) -> None:
    from confluent_kafka import Consumer

    bootstrap = stack.bootstrap_servers
    topic = ledger_topics.topics.schemas
    written = codec.publish_schemas(bootstrap, topic)
    assert written == len(codec.registry().by_fingerprint)

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}.test",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    seen: dict[str, Any] = {}
    try:
        consumer.subscribe([topic])
        empty_polls = 0
        while len(seen) < written and empty_polls < 20:
            message = consumer.poll(1.0)
            if message is None:
                empty_polls += 1
                continue
            assert message.error() is None, message.error()
            seen[message.key().decode()] = json.loads(message.value())
    finally:
        consumer.close()

    for fingerprint, version in codec.registry().by_fingerprint.items():
        assert seen[fingerprint.hex()] == version.schema
