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
# The largest message the ledger produces: librdkafka's default `message.max.bytes`,
# set explicitly. The producer refuses a larger one (MSG_SIZE_TOO_LARGE), and it is
# below the broker's default limit on a record batch (message.max.bytes 1048588, the
# topics' max.message.bytes). An event is checked against it before it is produced.
MESSAGE_MAX_BYTES = 1_000_000
BASE_CONFIG["message.max.bytes"] = MESSAGE_MAX_BYTES
# What librdkafka adds to key, value and headers when it sizes a message: a record's
# framing (RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD, 36 bytes, rounded up) and two length
# varints per header.
RECORD_OVERHEAD_BYTES = 64
HEADER_OVERHEAD_BYTES = 10
FLUSH_TIMEOUT = 60.0
INIT_TIMEOUT = 30.0  # transactions' start: the broker must answer within it

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
    from shixin.broker import CLIENT_LOG

    config = dict(BASE_CONFIG)
    config["bootstrap.servers"] = settings.bootstrap_servers
    # librdkafka's lines through Python logging, a refused connection at debug
    config["logger"] = CLIENT_LOG
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


class MessageTooLargeError(ValueError):
    """An encoded event is larger than a ledger message may be."""


Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    """One event as the message it is produced as, and the message's size as the
    producer counts it against `message.max.bytes` (at most; see `message_size`)."""

    key: bytes
    value: bytes
    headers: Headers
    size: int


def message_size(key: bytes, value: bytes, headers: Headers | None = None) -> int:
    """Key, value and headers with their framing, as librdkafka sizes a message (an
    upper bound)."""
    size = RECORD_OVERHEAD_BYTES + len(key) + len(value)
    for name, header in headers or ():
        size += HEADER_OVERHEAD_BYTES + len(name.encode("utf-8"))
        if header is not None:
            size += len(header.encode("utf-8") if isinstance(header, str) else header)
    return size


def too_large(size: int, limit: int = MESSAGE_MAX_BYTES) -> str | None:
    """Why a message of `size` bytes cannot be produced, or None if it can."""
    if size <= limit:
        return None
    return (
        f"the encoded event is {size:,} bytes (Avro value, key and headers); expected"
        f" at most {limit:,} bytes, the producer's message.max.bytes (Kafka's default"
        " limit is about 1 MiB)"
    )


def encode_event(event: LedgerEvent) -> EncodedEvent:
    """Key, Avro value and headers of the message of `event`.

    Raises `MissingKeyError` or `contract.errors.EncodeError`.
    """
    from contract.codec import encode

    event_type = event.event_type
    type_header = _TYPE_HEADERS.get(event_type)
    if type_header is None:
        type_header = _TYPE_HEADERS[event_type] = (
            "event_type",
            event_type.encode("utf-8"),
        )
    event_id = event.event_id.encode("utf-8")
    headers: Headers = [type_header, ("event_id", event_id)]
    key = event_key(event)
    value = encode(event)
    size = _FIXED_SIZE + len(key) + len(value) + len(type_header[1]) + len(event_id)
    return EncodedEvent(key, value, headers, size)


# message_size() of a message without key, value and header values.
_FIXED_SIZE = message_size(b"", b"", [("event_type", None), ("event_id", None)])


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
        full_config = producer_config(self.settings, overrides)
        self.max_message_bytes = int(full_config["message.max.bytes"])
        self._producer = Producer(full_config)
        if transactional_id:
            try:
                self._producer.init_transactions(INIT_TIMEOUT)
            except KafkaException as exc:
                from shixin.broker import hint

                raise DeliveryError(
                    f"transactions of {transactional_id!r} cannot start: Kafka at"
                    f" {self.settings.bootstrap_servers}: {exc.args[0].str()}"
                    f" ({hint(self.settings)})"
                ) from exc
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
        """Encode `event` and produce it to `topic`, keyed by its listing id.

        Raises `MessageTooLargeError` (nothing produced) if the encoded event is
        larger than `max_message_bytes`.
        """
        message = encode_event(event)
        problem = too_large(message.size, self.max_message_bytes)
        if problem is not None:
            raise MessageTooLargeError(
                f"event {event.event_id!r} ({event.event_type}): {problem}"
            )
        self.produce(topic, message.key, message.value, message.headers)

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes,
        headers: Headers | None = None,
    ) -> None:
        """Produce one encoded message, waiting for queue space if the queue is full.

        Raises `KafkaException` if the producer refuses the message (its size, an
        unknown topic): nothing of it is queued.
        """
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

    def flush(self, timeout: float | None = None) -> DeliveryStats:
        """Wait for every report, `timeout` seconds at most (FLUSH_TIMEOUT); raise
        `DeliveryError` if one is missing or failed."""
        from shixin.broker import hint

        wait = FLUSH_TIMEOUT if timeout is None else timeout
        remaining = self._producer.flush(wait)
        if remaining:
            raise DeliveryError(
                f"{remaining} messages still unacknowledged after {wait:g}s by Kafka"
                f" at {self.settings.bootstrap_servers}"
                f" (produced={self.stats.produced} delivered={self.stats.delivered};"
                f" {hint(self.settings)})"
            )
        if self.stats.failed:
            raise DeliveryError(
                f"{self.stats.failed} of {self.stats.produced} messages failed;"
                f" first error: {self.stats.first_error}"
                f" (Kafka at {self.settings.bootstrap_servers})"
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

    def commit(self, timeout: float | None = None) -> None:
        """Flush and commit; raise `DeliveryError` if the transaction did not commit."""
        wait = FLUSH_TIMEOUT if timeout is None else timeout
        self.flush(wait)
        try:
            self._producer.commit_transaction(wait)
        except KafkaException as exc:
            raise DeliveryError(
                f"transaction {self.transactional_id!r} not committed: {exc}"
            ) from exc

    def abort(self, timeout: float | None = None) -> None:
        try:
            self._producer.abort_transaction(
                FLUSH_TIMEOUT if timeout is None else timeout
            )
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
