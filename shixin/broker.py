"""Requests to the Kafka broker: transient errors retried, an unreachable one named.

Start-up requests (topic metadata, group offsets, watermarks) meet errors that clear
by themselves on a broker that has just started: a group coordinator still loading
its offsets, a partition leader being elected. librdkafka does not mark the errors
of admin results retriable (`KafkaError.retriable()` is False for them), so the codes
are listed here by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from shixin.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

# total wait of one request for a transient error to clear (tests shorten it)
RETRY_SECONDS = 30.0
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 2.0
# an attempt always gets this much, even when the budget is nearly spent
MIN_ATTEMPT_SECONDS = 1.0

TRANSIENT = frozenset(
    {
        "COORDINATOR_LOAD_IN_PROGRESS",
        "COORDINATOR_NOT_AVAILABLE",
        "NOT_COORDINATOR",
        "REQUEST_TIMED_OUT",
        "LEADER_NOT_AVAILABLE",
        "NOT_LEADER_FOR_PARTITION",
        "NOT_CONTROLLER",
        "UNSTABLE_OFFSET_COMMIT",
        "_TIMED_OUT",
        "_WAIT_COORD",
    }
)
# no broker answered: the request waited its whole timeout already
UNREACHABLE = frozenset(
    {"_TRANSPORT", "_ALL_BROKERS_DOWN", "_RESOLVE", "_TIMED_OUT", "_MSG_TIMED_OUT"}
)


class _ClientLog:
    """Where librdkafka's log lines go (the `logger` of a client's configuration).

    A broker that refuses connections fails the request, which names it; the line
    librdkafka logs at every reconnect (facility FAIL, some 20 a second) is debug.
    """

    def __init__(self) -> None:
        self._logger = logging.getLogger("librdkafka")

    def log(self, level: int, msg: str, *args: object) -> None:
        if args and args[0] == "FAIL":
            level = logging.DEBUG
        self._logger.log(level, msg, *args)


CLIENT_LOG = _ClientLog()


def client_config(
    settings: Settings, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The configuration of a short-lived client (admin, offsets, ticks) of the
    broker of `settings`, with the librdkafka properties `extra` adds."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "logger": CLIENT_LOG,
    }
    return config | dict(extra or {})


class KafkaUnavailable(RuntimeError):
    """Kafka did not answer, or kept answering with a transient error; the message
    names the broker and what to do."""


def hint(settings: Settings) -> str:
    """What to do about a broker that does not answer."""
    if settings.embedded_kafka:
        return (
            "is the broker running? `shixin stack up`, or set "
            "KAFKA_BOOTSTRAP_SERVERS / KAFKA_PORT"
        )
    return "is the broker running? check KAFKA_BOOTSTRAP_SERVERS"


def unavailable(settings: Settings, doing: str, error: object) -> KafkaUnavailable:
    """The error to raise when `doing` failed because Kafka did not answer."""
    return KafkaUnavailable(
        f"{doing}: Kafka unreachable at {settings.bootstrap_servers}: "
        f"{error_text(error)} ({hint(settings)})"
    )


def error_of(exc: BaseException) -> Any:
    """The `KafkaError` a `KafkaException` carries, or None."""
    from confluent_kafka import KafkaError

    error = exc.args[0] if exc.args else None
    return error if isinstance(error, KafkaError) else None


def error_text(error: object) -> str:
    from confluent_kafka import KafkaError, KafkaException

    if isinstance(error, KafkaException):
        error = error_of(error) or error
    if isinstance(error, KafkaError):
        return str(error.str())
    return str(error)


def is_transient(error: Any) -> bool:
    """A `KafkaError` that a later attempt of the same request may not meet."""
    return bool(error.retriable()) or error.name() in TRANSIENT


def retrying(
    settings: Settings,
    doing: str,
    request: Callable[[float], T],
    total: float | None = None,
) -> T:
    """`request(timeout)`, repeated with backoff while it raises a transient
    `KafkaException`, for `total` seconds (RETRY_SECONDS) in all.

    The timeout given to an attempt is what is left of the budget. A broker that
    does not answer, or an error still transient when the budget is spent, raises
    `KafkaUnavailable` naming `doing` and the broker; any other `KafkaException`
    propagates unchanged.
    """
    from confluent_kafka import KafkaException

    budget = RETRY_SECONDS if total is None else total
    deadline = time.monotonic() + budget
    backoff = BACKOFF_FIRST
    attempt = 0
    while True:
        attempt += 1
        left = deadline - time.monotonic()
        try:
            return request(max(left, MIN_ATTEMPT_SECONDS))
        except KafkaException as exc:
            error = error_of(exc)
            if error is None:
                raise
            left = deadline - time.monotonic()
            if is_transient(error) and left > 0:
                logger.debug(
                    "retrying doing=%r attempt=%d error=%s",
                    doing,
                    attempt,
                    error.name(),
                )
                time.sleep(min(backoff, left))
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            if error.name() in UNREACHABLE:
                raise unavailable(settings, doing, error) from exc
            if is_transient(error):
                raise KafkaUnavailable(
                    f"{doing}: Kafka at {settings.bootstrap_servers} still answers "
                    f"{error.name()} ({error.str()}) after {budget:g}s and "
                    f"{attempt} attempts; is the broker still starting? run again "
                    "in a moment"
                ) from exc
            raise


def topic_metadata(
    settings: Settings, client: Any, doing: str, topics: Iterable[str] = ()
) -> Any:
    """The cluster metadata `client.list_topics` gives, retried while one of
    `topics` is reported with a transient error (a leader being elected)."""
    from confluent_kafka import KafkaException

    names = list(topics)

    def request(timeout: float) -> Any:
        metadata = client.list_topics(timeout=timeout)
        for name in names:
            found = metadata.topics.get(name)
            if (
                found is not None
                and found.error is not None
                and is_transient(found.error)
            ):
                raise KafkaException(found.error)
        return metadata

    return retrying(settings, doing, request)
