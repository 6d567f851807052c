"""The ledger's topics: partition counts, retention, idempotent creation."""

from __future__ import annotations

import pytest

from shixin.settings import Settings
from shixin.stack.topics import (
    LedgerTopics,
    TopicMismatchError,
    ensure_topics,
    topic_configs,
)
from shixin.topics import Topics

pytestmark = pytest.mark.services


def _describe(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    from confluent_kafka.admin import AdminClient, ConfigResource

    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    described = {}
    for resource, future in admin.describe_configs(resources).items():
        entries = future.result()
        described[resource.name] = {key: entry.value for key, entry in entries.items()}
    return described


def test_every_topic_is_created_with_the_configured_partitions(
    ledger_topics: LedgerTopics,
) -> None:
    from confluent_kafka.admin import AdminClient

    settings = ledger_topics.settings
    names = sorted(topic_configs(ledger_topics.topics))
    admin = AdminClient({"bootstrap.servers": settings.bootstrap_servers})
    metadata = admin.list_topics(timeout=10)

    assert len(names) == 8
    for name in names:
        assert name.startswith(f"{settings.topic_prefix}.")
        assert len(metadata.topics[name].partitions) == settings.topic_partitions


def test_ledger_topics_keep_everything_and_use_broker_time(
    ledger_topics: LedgerTopics,
) -> None:
    topics = ledger_topics.topics
    names = [*topics.ledger, *topics.derived, topics.schemas, topics.dead_letter]
    configs = _describe(ledger_topics.settings, names)

    for name in (*topics.ledger, *topics.derived):
        assert configs[name]["retention.ms"] == "-1", name
        assert configs[name]["retention.bytes"] == "-1", name
        assert configs[name]["message.timestamp.type"] == "LogAppendTime", name
    assert configs[topics.schemas]["cleanup.policy"] == "compact"
    assert configs[topics.dead_letter]["retention.ms"] == "-1"
    assert configs[topics.dead_letter]["message.timestamp.type"] == "CreateTime"


def test_ensure_topics_twice_creates_nothing_the_second_time(
    stack: Settings, topic_prefix: str, ledger_topics: LedgerTopics
) -> None:
    assert ensure_topics(ledger_topics.settings) == []


def test_ensure_topics_creates_only_the_named_topics(
    stack: Settings, topic_prefix: str
) -> None:
    from shixin.stack.topics import delete_topics

    settings = stack.model_copy(update={"topic_prefix": topic_prefix})
    topics = Topics.for_settings(settings)
    try:
        assert ensure_topics(settings, [topics.court]) == [topics.court]
        assert ensure_topics(settings, [topics.court, topics.clock]) == [topics.clock]
    finally:
        delete_topics(settings, [topics.court, topics.clock])


def test_a_different_partition_count_is_an_error_naming_the_topic(
    ledger_topics: LedgerTopics,
) -> None:
    other = ledger_topics.settings.model_copy(
        update={"topic_partitions": ledger_topics.settings.topic_partitions + 1}
    )

    with pytest.raises(TopicMismatchError) as caught:
        ensure_topics(other)

    message = str(caught.value)
    assert "partitions" in message
    assert f"expected {other.topic_partitions}" in message
    assert ledger_topics.settings.topic_prefix in message
