"""Creating the ledger's topics with their partition counts and retention."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from shixin.broker import client_config, topic_metadata
from shixin.settings import Settings
from shixin.stack.errors import StackError
from shixin.topics import Topics

logger = logging.getLogger(__name__)

# the ledger is kept forever, and stamped by the broker (a producer cannot backdate)
LEDGER_CONFIG: Mapping[str, str] = {
    "retention.ms": "-1",
    "retention.bytes": "-1",
    "message.timestamp.type": "LogAppendTime",
}
SCHEMAS_CONFIG: Mapping[str, str] = {"cleanup.policy": "compact"}
DEAD_LETTER_CONFIG: Mapping[str, str] = {"retention.ms": "-1", "retention.bytes": "-1"}
TIMEOUT = 30.0


class LedgerTopics(NamedTuple):
    """The topic names of one ledger and the settings that name them (tests get one
    per test from the `ledger_topics` fixture)."""

    topics: Topics
    settings: Settings


class TopicMismatchError(StackError):
    """A topic exists with another partition count than the settings ask for."""


def topic_configs(topics: Topics) -> dict[str, Mapping[str, str]]:
    """Every topic of one ledger with its configuration."""
    configs: dict[str, Mapping[str, str]] = {}
    for name in (*topics.ledger, *topics.derived):
        configs[name] = LEDGER_CONFIG
    configs[topics.schemas] = SCHEMAS_CONFIG
    configs[topics.dead_letter] = DEAD_LETTER_CONFIG
    return configs


def _admin(settings: Settings) -> Any:
    from confluent_kafka.admin import AdminClient

    return AdminClient(client_config(settings))


def ensure_topics(settings: Settings, topics: Iterable[str] | None = None) -> list[str]:
    """Create the ledger's topics that are missing; return the names created.

    `topics` limits the work to some names of `Topics.for_settings(settings)`.
    An existing topic with the expected partition count is left as it is (its
    configuration is not altered); one with another count raises TopicMismatchError.
    A broker that does not answer raises `shixin.broker.KafkaUnavailable`.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewTopic

    configs = topic_configs(Topics.for_settings(settings))
    if topics is not None:
        wanted = list(topics)
        unknown = [name for name in wanted if name not in configs]
        if unknown:
            raise StackError(
                f"cannot ensure topics {unknown}: not topics of prefix "
                f"'{settings.topic_prefix}' (known: {sorted(configs)})"
            )
        configs = {name: configs[name] for name in wanted}

    admin = _admin(settings)
    doing = f"cannot ensure the topics of prefix '{settings.topic_prefix}'"
    metadata = topic_metadata(settings, admin, doing, configs)
    expected = settings.topic_partitions
    replication = min(3, len(metadata.brokers)) or 1

    missing: list[str] = []
    for name in configs:
        found = metadata.topics.get(name)
        if found is None or found.error is not None:
            missing.append(name)
            continue
        if len(found.partitions) != expected:
            raise TopicMismatchError(
                f"topic '{name}' has {len(found.partitions)} partitions, expected "
                f"{expected} (TOPIC_PARTITIONS); the ledger's co-partitioning needs "
                "one count: use a new TOPIC_PREFIX or recreate the topic"
            )
    if not missing:
        return []

    new = [
        NewTopic(
            name,
            num_partitions=expected,
            replication_factor=replication,
            config=dict(configs[name]),
        )
        for name in missing
    ]
    created: list[str] = []
    for name, future in admin.create_topics(new, request_timeout=TIMEOUT).items():
        try:
            future.result()
        except KafkaException as exc:
            error = exc.args[0]
            if error.name() == "TOPIC_ALREADY_EXISTS":
                # a concurrent creator won; check its count like any existing topic
                ensure_topics(settings, [name])
                continue
            raise StackError(f"cannot create topic '{name}': {error.str()}") from exc
        created.append(name)
        logger.info(
            "created topic=%s partitions=%d replication=%d",
            name,
            expected,
            replication,
        )
    _wait_visible(settings, admin, created, expected)
    return created


def _wait_visible(
    settings: Settings, admin: Any, names: list[str], partitions: int
) -> None:
    """Wait until the broker's metadata shows every topic with a leader per partition,
    so a producer or a config request right after `ensure_topics` finds them."""
    deadline = time.monotonic() + TIMEOUT
    pending = set(names)
    while pending:
        metadata = topic_metadata(
            settings, admin, f"cannot see the new topics {sorted(pending)}"
        )
        for name in list(pending):
            found = metadata.topics.get(name)
            if (
                found is not None
                and found.error is None
                and len(found.partitions) == partitions
                and all(p.leader >= 0 for p in found.partitions.values())
            ):
                pending.discard(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise StackError(
                f"topics {sorted(pending)} were created but have no leader after "
                f"{TIMEOUT:.0f}s"
            )
        time.sleep(0.05)


def delete_topics(settings: Settings, names: Iterable[str]) -> None:
    """Delete topics (tests clean up their own prefixes with this)."""
    from confluent_kafka import KafkaException

    names = list(names)
    if not names:
        return
    admin = _admin(settings)
    for name, future in admin.delete_topics(names, request_timeout=TIMEOUT).items():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].name() != "UNKNOWN_TOPIC_OR_PART":
                raise StackError(f"cannot delete topic '{name}': {exc}") from exc


def prefixed_topics(settings: Settings, prefix: str) -> list[str]:
    """Every existing topic whose name starts with `prefix`."""
    metadata = topic_metadata(
        settings, _admin(settings), f"cannot list the topics of prefix {prefix!r}"
    )
    return sorted(name for name in metadata.topics if name.startswith(prefix))
