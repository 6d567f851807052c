"""The ledger's producer: idempotent, acknowledged by all replicas, reports checked.

A court or agency system that publishes one act at a time uses it directly::

    with Publisher() as publisher:
        publisher.publish(event)

Leaving the block flushes and raises `DeliveryError` if any message was not
acknowledged; nothing is dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from contract.event import LedgerEvent
from producers.routing import topic_for
from shixin.settings import Settings, get_settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

# Java-compatible partitioning: a key lands where Kafka's own clients put it.
BASE_CONFIG: dict[str, Any] = {
    "enable.idempotence": True,
    "acks": "all",
    "partitioner": "murmur2_random",
    "linger.ms": 20,
    "batch.size": 1_000_000,
    "queue.buffering.max.messages": 500_000,
    "compression.type": "lz4",
}
FLUSH_TIMEOUT = 60.0

# The event_type header of each event type, encoded once.
_TYPE_HEADERS: dict[str, tuple[str, bytes]] = {}


class DeliveryError(RuntimeError):
    """Some messages were not acknowledged by the broker."""


class MissingKeyError(ValueError):
    """An event without a listing id cannot be keyed."""


@dataclass
class DeliveryStats:
    """What the broker acknowledged so far."""

    produced: int = 0
    delivered: int = 0
    failed: int = 0
    first_error: str | None = None

    @property
    def pending(self) -> int:
        return self.produced - self.delivered - self.failed


def producer_config(
    settings: Settings, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The confluent-kafka configuration every ledger producer starts from."""
    config = dict(BASE_CONFIG)
    config["bootstrap.servers"] = settings.bootstrap_servers
    if overrides:
        config.update(overrides)
    return config


def event_key(event: LedgerEvent) -> bytes:
    """The message key: the listing id in UTF-8; an empty or missing one is an error."""
    if not event.listing_id or not event.listing_id.strip():
        raise MissingKeyError(
            f"event {event.event_id!r} ({event.event_type}): listing_id"
            f" {event.listing_id!r} cannot key a message; expected a listing id"
        )
    return event.listing_id.encode("utf-8")


class Publisher:
    """Produces ledger events to their topics and counts every delivery report.

    With `transactional_id`, messages are produced inside transactions the caller
    opens with `begin()` and closes with `commit()` or `abort()`; a consumer reading
    `read_committed` sees all of a transaction or nothing of it.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        topics: Topics | None = None,
        transactional_id: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.topics = topics or Topics.for_settings(self.settings)
        self.stats = DeliveryStats()
        self.transactional_id = transactional_id

        overrides: dict[str, Any] = dict(config or {})
        overrides["on_delivery"] = self._on_delivery
        if transactional_id:
            overrides["transactional.id"] = transactional_id
            overrides.setdefault("transaction.timeout.ms", 900_000)
        self._producer = Producer(producer_config(self.settings, overrides))
        if transactional_id:
            self._producer.init_transactions(30.0)
            logger.debug(
                "transactions initialised transactional_id=%s", transactional_id
            )

    # -- one act at a time

    def publish(self, event: LedgerEvent) -> str:
        """Encode `event` and produce it to its topic; return the topic."""
        topic = topic_for(event, self.topics)
        self.publish_to(topic, event)
        return topic

    def publish_to(self, topic: str, event: LedgerEvent) -> None:
        """Encode `event` and produce it to `topic`, keyed by its listing id."""
        from contract.codec import encode

        event_type = event.event_type
        type_header = _TYPE_HEADERS.get(event_type)
        if type_header is None:
            type_header = _TYPE_HEADERS[event_type] = (
                "event_type",
                event_type.encode("utf-8"),
            )
        headers: list[tuple[str, str | bytes | None]] = [
            type_header,
            ("event_id", event.event_id.encode("utf-8")),
        ]
        self.produce(topic, event_key(event), encode(event), headers)

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: list[tuple[str, str | bytes | None]] | None = None,
    ) -> None:
        """Produce one encoded message, waiting for queue space if the queue is full."""
        if not key:
            raise MissingKeyError(
                f"message to {topic!r}: empty key; expected a listing id"
            )
        while True:
            try:
                self._producer.produce(topic, value, key, headers=headers)
                break
            except BufferError:
                self._producer.poll(0.1)
        self.stats.produced += 1
        if self.stats.produced % 1000 == 0:
            self._producer.poll(0)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            self.stats.delivered += 1
            return
        self.stats.failed += 1
        if self.stats.first_error is None:
            self.stats.first_error = str(err)
        logger.warning(
            "delivery failed topic=%s key=%r error=%s", msg.topic(), msg.key(), err
        )

    # -- ending

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> DeliveryStats:
        """Wait for every report; raise `DeliveryError` if one is missing or failed."""
        remaining = self._producer.flush(timeout)
        if remaining:
            raise DeliveryError(
                f"{remaining} messages still unacknowledged after {timeout:g}s"
                f" (produced={self.stats.produced} delivered={self.stats.delivered})"
            )
        if self.stats.failed:
            raise DeliveryError(
                f"{self.stats.failed} of {self.stats.produced} messages failed;"
                f" first error: {self.stats.first_error}"
            )
        return self.stats

    def purge(self) -> int:
        """Drop what is still queued (a second Ctrl-C); return how many were dropped."""
        pending = len(self._producer)
        self._producer.purge(in_queue=True, in_flight=False)
        self._producer.poll(0)
        return pending

    # -- transactions

    def begin(self) -> None:
        self._producer.begin_transaction()

    def commit(self, timeout: float = FLUSH_TIMEOUT) -> None:
        """Flush and commit; raise `DeliveryError` if the transaction did not commit."""
        self.flush(timeout)
        try:
            self._producer.commit_transaction(timeout)
        except KafkaException as exc:
            raise DeliveryError(
                f"transaction {self.transactional_id!r} not committed: {exc}"
            ) from exc

    def abort(self, timeout: float = FLUSH_TIMEOUT) -> None:
        try:
            self._producer.abort_transaction(timeout)
        except KafkaException as exc:
            raise DeliveryError(
                f"transaction {self.transactional_id!r} not aborted: {exc}"
            ) from exc
        logger.warning("transaction aborted transactional_id=%s", self.transactional_id)

    # -- context manager

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.transactional_id:
            return  # the caller commits or aborts; an open transaction times out
        if exc is None:
            self.flush()
            return
        # Deliver what was handed over before the error; report a shortfall in the log
        # without masking the error that brought us here.
        remaining = self._producer.flush(FLUSH_TIMEOUT)
        if remaining or self.stats.failed:
            logger.warning(
                "leaving with undelivered messages remaining=%d failed=%d",
                remaining,
                self.stats.failed,
            )
