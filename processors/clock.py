"""Clock ticks: the instants from which the processors detect overdue obligations.

A tick is an ordinary ledger event (`CLOCK_TICK`) written into every partition of the
clock topic, so a replay of the log sees exactly the instants the live workers saw.
Its event id is deterministic (instant + partition): writing the same tick twice can
only produce a duplicate with the same id.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from contract.event import Actor, LedgerEvent
from shixin.settings import Settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

CLOCK_TICK = "CLOCK_TICK"
# uuid5 namespace of tick event ids (fixed forever: ids must not change)
TICK_NAMESPACE = uuid.UUID("6f1b7c1e-3a52-5d0e-9f3c-5e0c1d7a2b11")
TIMEKEEPER = Actor(kind="SYSTEM", code="timekeeper", name="shixin timekeeper")
TICK_JURISDICTION = "CN"


class ClockError(ValueError):
    """A clock instant that cannot be used for a tick."""


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an explicit offset, in UTC; a naive time is an error."""
    try:
        instant = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ClockError(
            f"clock instant {text!r} is not an ISO 8601 date-time; expected e.g. "
            "2024-05-01T00:00:00+08:00"
        ) from exc
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ClockError(
            f"clock instant {text!r} has no time zone; expected an offset or Z, "
            "e.g. 2024-05-01T00:00:00+08:00"
        )
    return instant.astimezone(UTC)


def tick_key(partition: int) -> bytes:
    """The message key of a tick: ticks belong to a partition, not to a listing."""
    return f"clock-{partition}".encode()


def tick_event_id(instant: datetime, partition: int) -> str:
    return str(uuid.uuid5(TICK_NAMESPACE, f"{_utc_iso(instant)}|{partition}"))


def tick_event(instant: datetime, partition: int) -> LedgerEvent:
    """The tick of `instant` for one clock partition (`listing_id` is empty)."""
    if instant.tzinfo is None:
        raise ClockError(f"clock instant {instant!r} has no time zone")
    at = instant.astimezone(UTC)
    return LedgerEvent(
        event_id=tick_event_id(at, partition),
        event_type=CLOCK_TICK,
        listing_id="",
        occurred_at=at,
        actor=TIMEKEEPER,
        jurisdiction=TICK_JURISDICTION,
        payload={
            "instant": at,
            "calendar_version": calendar_version(),
            "partition": partition,
        },
        source_event_id=f"tick-{_utc_iso(at)}-p{partition}",
    )


def calendar_version() -> str:
    """Version of the holiday calendar data the ticks announce."""
    from rules.calendar import default_calendar

    return default_calendar().version


def tick_messages(instant: datetime, partitions: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of the ticks of `instant` for every clock partition."""
    from contract.codec import encode

    return [
        (partition, tick_key(partition), encode(tick_event(instant, partition)))
        for partition in range(partitions)
    ]


def publish_ticks(
    settings: Settings, instant: datetime, timeout: float | None = None
) -> int:
    """Write the ticks of `instant` into every partition of the clock topic.

    Returns the number of partitions ticked; raises ClockError if the clock topic
    does not exist, KafkaUnavailable if the broker does not answer or does not
    acknowledge every tick within `timeout` seconds (RETRY_SECONDS).
    """
    from confluent_kafka import Producer

    from shixin import broker

    wait = broker.RETRY_SECONDS if timeout is None else timeout
    topic = Topics.for_settings(settings).clock
    producer = Producer(broker.client_config(settings, {"enable.idempotence": True}))
    doing = f"cannot tick {_utc_iso(instant)}"
    metadata = broker.topic_metadata(
        settings,
        producer,
        doing,
        [topic],
    )
    found = metadata.topics.get(topic)
    if found is None or found.error is not None or not found.partitions:
        raise ClockError(f"cannot tick: clock topic {topic!r} does not exist")

    failures: list[str] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    messages = tick_messages(instant, len(found.partitions))
    for partition, key, value in messages:
        producer.produce(
            topic, value, key, partition=partition, on_delivery=on_delivery
        )
    left = producer.flush(wait)
    if left or failures:
        raise broker.KafkaUnavailable(
            f"{doing}: {left} of {len(messages)} ticks to {topic!r} not acknowledged "
            f"by Kafka at {settings.bootstrap_servers} after {wait:g}s, errors "
            f"{failures} ({broker.hint(settings)})"
        )
    logger.info(
        "ticked topic=%s instant=%s partitions=%d",
        topic,
        _utc_iso(instant),
        len(messages),
    )
    return len(messages)


def _utc_iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()
