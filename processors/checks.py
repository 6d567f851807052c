"""Start-up checks of the processors, made with an admin client before faust runs."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from shixin.broker import (
    KafkaUnavailable,
    client_config,
    error_text,
    is_transient,
    retrying,
    topic_metadata,
)
from shixin.settings import Settings

logger = logging.getLogger(__name__)
TIMEOUT = 30.0


class StartupError(RuntimeError):
    """The processors cannot start on these topics."""


class CopartitioningError(StartupError):
    """Input topics whose partition counts differ: one listing would not meet itself."""


def partition_counts(
    settings: Settings, topics: Sequence[str]
) -> dict[str, int | None]:
    """Partition count of each topic; None for a topic that does not exist."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(client_config(settings))
    doing = f"cannot read the metadata of topics {', '.join(topics)}"
    metadata = topic_metadata(settings, admin, doing, topics)
    counts: dict[str, int | None] = {}
    for name in topics:
        found = metadata.topics.get(name)
        ok = found is not None and found.error is None
        counts[name] = len(found.partitions) if ok and found is not None else None
    return counts


def check_copartitioned(settings: Settings, topics: Sequence[str]) -> int:
    """The common partition count of `topics`; raises if one is missing or differs.

    The faust tables are created with `settings.topic_partitions` partitions, so the
    inputs must have exactly that many too.
    """
    counts = partition_counts(settings, topics)
    listed = ", ".join(f"{name}={count}" for name, count in counts.items())

    missing = [name for name, count in counts.items() if count is None]
    if missing:
        raise StartupError(
            f"cannot start the processors: input topics {missing} do not exist "
            f"(partition counts: {listed}); run `shixin stack up` or "
            "`shixin stack topics` first"
        )
    distinct = set(counts.values())
    if len(distinct) > 1:
        raise CopartitioningError(
            f"input topics are not co-partitioned: {listed}; every ledger topic "
            "needs the same partition count so one listing's events meet in one "
            "partition number"
        )
    (count,) = distinct
    assert count is not None
    if count != settings.topic_partitions:
        raise CopartitioningError(
            f"input topics have {count} partitions ({listed}) but TOPIC_PARTITIONS "
            f"is {settings.topic_partitions}; the tables must have as many "
            "partitions as the input"
        )
    logger.debug("co-partitioned topics=%s partitions=%d", list(counts), count)
    return count


@contextmanager
def _offsets_consumer(
    settings: Settings, group: str = "shixin-processors-end-offsets"
) -> Iterator[Any]:
    """A consumer of `group` that only reads offsets (it never subscribes, so it
    never joins the group), closed on exit: a client left open until the
    interpreter exits can crash librdkafka's threads."""
    from confluent_kafka import Consumer

    consumer = Consumer(
        client_config(settings, {"group.id": group, "enable.auto.commit": False})
    )
    try:
        yield consumer
    finally:
        consumer.close()


def _watermarks(
    settings: Settings, consumer: Any, partitions: Sequence[tuple[str, int]]
) -> list[tuple[int, int]]:
    """(low, high) watermark of each partition, read one after the other in order;
    a transient error (a leader being elected) is retried."""
    from confluent_kafka import TopicPartition

    def read(topic: str, partition: int) -> tuple[int, int]:
        tp = TopicPartition(topic, partition)
        return tuple(
            retrying(
                settings,
                f"cannot read the offsets of {topic}/{partition}",
                lambda timeout: consumer.get_watermark_offsets(tp, timeout=timeout),
            )
        )

    return [read(topic, p) for topic, p in partitions]


def end_offsets(
    settings: Settings, topics: Sequence[str]
) -> dict[tuple[str, int], int]:
    """The end offset (next offset to be written) of every partition of `topics`."""
    with _offsets_consumer(settings) as consumer:
        doing = f"cannot read the end offsets of {', '.join(topics)}"
        metadata = topic_metadata(settings, consumer, doing, topics)
        partitions = [
            (name, partition)
            for name in topics
            for partition in sorted(metadata.topics[name].partitions)
        ]
        marks = _watermarks(settings, consumer, partitions)
    return {key: high for key, (_low, high) in zip(partitions, marks, strict=True)}


def high_watermarks(
    settings: Settings, partitions: Sequence[tuple[str, int]]
) -> list[int]:
    """The high watermark of each partition, read one after the other in the order
    given."""
    with _offsets_consumer(settings) as consumer:
        return [int(high) for _low, high in _watermarks(settings, consumer, partitions)]


def ensure_changelogs(
    settings: Settings, names: Sequence[str], partitions: int
) -> None:
    """Create the tables' changelog topics before faust starts.

    faust would create them itself, but a consumer whose metadata was read before
    the creation sees them with 0 partitions and fails every table write with
    PartitionsMismatch until its next metadata refresh; created beforehand, they are
    in the first metadata already. An existing changelog must have `partitions`.
    """
    from confluent_kafka.admin import AdminClient, NewTopic

    counts = partition_counts(settings, names)
    wrong = {name: n for name, n in counts.items() if n is not None and n != partitions}
    if wrong:
        raise CopartitioningError(
            f"changelog topics {wrong} do not have {partitions} partitions like the "
            "input topics; delete them (the tables are rebuilt from the ledger) or "
            "use another TOPIC_PREFIX"
        )
    missing = [name for name, n in counts.items() if n is None]
    if not missing:
        return
    admin = AdminClient(client_config(settings))
    brokers = len(
        topic_metadata(settings, admin, f"cannot create changelogs {missing}").brokers
    )
    new = [
        NewTopic(
            name,
            num_partitions=partitions,
            replication_factor=min(3, brokers) or 1,
            config={"cleanup.policy": "compact"},
        )
        for name in missing
    ]
    for name, future in admin.create_topics(new, request_timeout=TIMEOUT).items():
        try:
            future.result()
        except Exception as exc:  # a concurrent worker may have created it first
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise StartupError(f"cannot create changelog {name!r}: {exc}") from exc
        logger.debug("created changelog topic=%s partitions=%d", name, partitions)


def committed_offsets(
    settings: Settings, group: str, partitions: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], int | None]:
    """The offsets `group` has committed for `partitions` (None: never committed).

    Read by a consumer of the group that never subscribes (it does not join the
    group), so a worker can learn at assignment where its partitions were left
    without touching faust internals.

    Not with the admin API (`AdminClient.list_consumer_group_offsets`): when the
    broker answers its OffsetFetch with NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE,
    as a broker does while it creates and loads `__consumer_offsets` (the first
    group request on a fresh broker), librdkafka (2.16.0 at least) asks the
    client's consumer group to look for the coordinator again, and an admin
    client has none: a NULL dereference on one of librdkafka's threads kills the
    process with SIGSEGV (librdkafka#5040). A consumer has its group, and reports
    those errors, which are retried here.
    """
    from confluent_kafka import KafkaException, TopicPartition

    if not partitions:
        return {}

    def request(timeout: float) -> Any:
        return _transient_raised(
            consumer.committed(
                [TopicPartition(topic, partition) for topic, partition in partitions],
                timeout=timeout,
            )
        )

    # a coordinator that has just started answers COORDINATOR_LOAD_IN_PROGRESS
    # (or NOT_COORDINATOR) until it has read the group's offsets: retried, not a
    # failure
    doing = f"cannot read the committed offsets of group {group!r}"
    with _offsets_consumer(settings, group) as consumer:
        try:
            result = retrying(settings, doing, request)
        except KafkaException as exc:
            raise StartupError(
                f"{doing} from Kafka at {settings.bootstrap_servers}: {error_text(exc)}"
            ) from exc
    found: dict[tuple[str, int], int | None] = dict.fromkeys(partitions)
    for tp in result:
        if tp.error is not None:
            raise StartupError(
                f"committed offset of group {group!r} for {tp.topic}/{tp.partition}: "
                f"{tp.error}"
            )
        found[(tp.topic, tp.partition)] = tp.offset if tp.offset >= 0 else None
    return found


def _transient_raised(partitions: list[Any]) -> list[Any]:
    """`partitions` as a request answered them; an error of one partition comes
    back in the answer, not raised: a transient one is raised so that `retrying`
    repeats the request."""
    from confluent_kafka import KafkaException

    for tp in partitions:
        if tp.error is not None and is_transient(tp.error):
            raise KafkaException(tp.error)
    return partitions


def commit_log_starts(settings: Settings, group: str, topics: Sequence[str]) -> int:
    """Commit the log start offset for every partition of `topics` that `group`
    never committed; returns how many were committed.

    Same position as `auto.offset.reset=earliest`, but explicit: faust seeks back to
    committed offsets after table recovery, and records it fetched and dropped before
    are lost for a partition without one. Only possible while the group has no
    members; when another worker runs, this is skipped with a warning.
    """
    from confluent_kafka import (
        ConsumerGroupTopicPartitions,
        KafkaException,
        TopicPartition,
    )
    from confluent_kafka.admin import AdminClient

    partitions = sorted(end_offsets(settings, topics))
    committed = committed_offsets(settings, group, partitions)
    never = [key for key, offset in committed.items() if offset is None]
    if not never:
        return 0
    starts = log_starts(settings, never)
    admin = AdminClient(client_config(settings, {"log_level": 4}))
    request = ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, p, starts[(topic, p)]) for topic, p in never]
    )

    def alter(timeout: float) -> Any:
        futures = admin.alter_consumer_group_offsets([request], request_timeout=timeout)
        result = futures[group].result()
        _transient_raised(result.topic_partitions)
        return result

    try:
        result = retrying(
            settings, f"cannot commit log starts of group {group!r}", alter
        )
    except (KafkaException, KafkaUnavailable) as exc:
        # e.g. the group has members: they committed already
        logger.warning(
            "cannot commit log starts group=%s partitions=%d error=%s",
            group,
            len(never),
            exc,
        )
        return 0
    refused = [tp for tp in result.topic_partitions if tp.error is not None]
    for tp in refused:
        logger.warning(
            "cannot commit the log start group=%s topic=%s partition=%d error=%s",
            group,
            tp.topic,
            tp.partition,
            error_text(tp.error),
        )
    done = len(result.topic_partitions) - len(refused)
    logger.info("committed log starts group=%s partitions=%d", group, done)
    return done


def log_starts(
    settings: Settings, partitions: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], int]:
    """The first offset still in the log of each partition."""
    with _offsets_consumer(settings) as consumer:
        marks = _watermarks(settings, consumer, partitions)
    return {key: low for key, (low, _high) in zip(partitions, marks, strict=True)}
