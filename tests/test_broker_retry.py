"""Start-up requests to Kafka retry the errors a just-started broker gives, for a
bounded time, and then name the request and the broker.

No broker here: fakes raise the KafkaError a real broker gives (as the admin API
reports it: `retriable()` False), and a fake clock stands in for the waits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from processors import checks
from shixin import broker
from shixin.broker import KafkaUnavailable, retrying
from shixin.settings import Settings

SETTINGS = Settings(kafka_bootstrap_servers="broker-1:9092")
GROUP = "shixin.processors"
PARTITIONS = [("shixin.court-events", 0), ("shixin.court-events", 1)]


def kafka_error(code: int) -> KafkaException:
    return KafkaException(KafkaError(code))


class Clock:
    """`time.monotonic` and `time.sleep` of shixin.broker: sleeping advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(broker.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(broker.time, "sleep", fake.sleep)
    return fake


def failing(
    errors: list[KafkaException], result: Any = "answer"
) -> tuple[Callable[[float], Any], list[float]]:
    """A request that raises `errors` one after the other, then returns `result`;
    and the timeouts it was called with."""
    timeouts: list[float] = []
    pending = iter(errors)

    def request(timeout: float) -> Any:
        timeouts.append(timeout)
        error = next(pending, None)
        if error is not None:
            raise error
        return result

    return request, timeouts


def test_the_admin_api_does_not_mark_a_loading_coordinator_retriable() -> None:
    # why the codes are listed by name: retriable() cannot be relied on
    error = KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    assert not error.retriable()
    assert broker.is_transient(error)


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
        KafkaError.NOT_COORDINATOR,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError.LEADER_NOT_AVAILABLE,
    ],
)
def test_a_transient_error_is_retried_until_the_request_succeeds(
    clock: Clock, code: int
) -> None:
    request, timeouts = failing([kafka_error(code), kafka_error(code)])
    assert retrying(SETTINGS, "reading", request) == "answer"
    assert len(timeouts) == 3
    assert clock.slept == [0.1, 0.2]  # backoff doubles
    assert timeouts[0] == broker.RETRY_SECONDS  # the budget, as the first timeout


def test_a_transient_error_that_does_not_clear_fails_after_the_budget(
    clock: Clock,
) -> None:
    errors = [kafka_error(KafkaError.COORDINATOR_LOAD_IN_PROGRESS)] * 1000
    request, timeouts = failing(errors)
    with pytest.raises(KafkaUnavailable) as raised:
        retrying(SETTINGS, "reading the offsets of group 'g'", request)
    assert clock.now - 1000.0 == pytest.approx(broker.RETRY_SECONDS)
    assert max(clock.slept) == broker.BACKOFF_MAX
    message = str(raised.value)
    assert message.startswith(
        "reading the offsets of group 'g': Kafka at broker-1:9092"
    )
    assert "COORDINATOR_LOAD_IN_PROGRESS" in message
    assert f"after {broker.RETRY_SECONDS:g}s and {len(timeouts)} attempts" in message


def test_an_unreachable_broker_is_named_without_retrying(clock: Clock) -> None:
    request, timeouts = failing([kafka_error(KafkaError._TRANSPORT)])
    with pytest.raises(KafkaUnavailable) as raised:
        retrying(SETTINGS, "cannot ensure the topics", request)
    assert len(timeouts) == 1 and clock.slept == []
    assert str(raised.value) == (
        "cannot ensure the topics: Kafka unreachable at broker-1:9092: "
        "Local: Broker transport failure (is the broker running? check "
        "KAFKA_BOOTSTRAP_SERVERS)"
    )


def test_the_embedded_broker_hint_says_how_to_start_it() -> None:
    embedded = Settings(kafka_bootstrap_servers=None, kafka_port=49111)
    message = str(broker.unavailable(embedded, "doing", "down"))
    assert "Kafka unreachable at 127.0.0.1:49111" in message
    assert "`shixin stack up`" in message and "KAFKA_BOOTSTRAP_SERVERS" in message


def test_any_other_error_propagates_at_once(clock: Clock) -> None:
    request, timeouts = failing([kafka_error(KafkaError.GROUP_AUTHORIZATION_FAILED)])
    with pytest.raises(KafkaException):
        retrying(SETTINGS, "reading", request)
    assert len(timeouts) == 1 and clock.slept == []


# committed_offsets, with a fake consumer


class FakeConsumer:
    """A Consumer whose committed-offsets requests give `outcomes` in turn."""

    outcomes: Iterator[Any] = iter(())
    calls = 0
    closed = 0

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def committed(self, partitions: list[Any], timeout: float) -> Any:
        FakeConsumer.calls += 1
        assert self.config["group.id"] == GROUP
        outcome = next(FakeConsumer.outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def close(self) -> None:
        FakeConsumer.closed += 1


def offsets(*found: tuple[str, int, int]) -> Any:
    from confluent_kafka import TopicPartition

    return [TopicPartition(t, p, offset) for t, p, offset in found]


@pytest.fixture
def consumer(monkeypatch: pytest.MonkeyPatch) -> type[FakeConsumer]:
    import confluent_kafka

    monkeypatch.setattr(confluent_kafka, "Consumer", FakeConsumer)
    FakeConsumer.calls = FakeConsumer.closed = 0
    return FakeConsumer


def test_committed_offsets_wait_for_a_coordinator_still_loading(
    clock: Clock, consumer: type[FakeConsumer]
) -> None:
    consumer.outcomes = iter(
        [
            kafka_error(KafkaError.COORDINATOR_LOAD_IN_PROGRESS),
            kafka_error(KafkaError.NOT_COORDINATOR),
            offsets(("shixin.court-events", 0, 42), ("shixin.court-events", 1, -1001)),
        ]
    )
    found = checks.committed_offsets(SETTINGS, GROUP, PARTITIONS)
    assert found == {("shixin.court-events", 0): 42, ("shixin.court-events", 1): None}
    assert consumer.calls == 3
    assert consumer.closed == 1


def test_committed_offsets_of_a_coordinator_that_never_loads_name_group_and_broker(
    clock: Clock, consumer: type[FakeConsumer]
) -> None:
    loading = kafka_error(KafkaError.COORDINATOR_LOAD_IN_PROGRESS)
    consumer.outcomes = iter([loading] * 1000)
    with pytest.raises(KafkaUnavailable) as raised:
        checks.committed_offsets(SETTINGS, GROUP, PARTITIONS)
    message = str(raised.value)
    assert "cannot read the committed offsets of group 'shixin.processors'" in message
    assert "Kafka at broker-1:9092" in message
    assert clock.now - 1000.0 == pytest.approx(broker.RETRY_SECONDS)
    assert consumer.closed == 1


def test_committed_offsets_refused_for_good_is_a_startup_error(
    clock: Clock, consumer: type[FakeConsumer]
) -> None:
    consumer.outcomes = iter([kafka_error(KafkaError.GROUP_AUTHORIZATION_FAILED)])
    with pytest.raises(checks.StartupError, match="group 'shixin.processors' from "
                       "Kafka at broker-1:9092"):  # fmt: skip
        checks.committed_offsets(SETTINGS, GROUP, PARTITIONS)
    assert consumer.calls == 1
    assert consumer.closed == 1


# commit_log_starts, with a fake admin client


class FakeAdmin:
    """An AdminClient whose offset changes answer `answers` in turn: a list of
    (partition, error code or None) per call."""

    answers: Iterator[list[tuple[int, int | None]]] = iter(())
    calls = 0

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def alter_consumer_group_offsets(self, requests: list[Any], **_: Any) -> Any:
        from concurrent.futures import Future
        from types import SimpleNamespace

        FakeAdmin.calls += 1
        (request,) = requests
        # TopicPartition's error is read-only: stand-ins with the same attributes
        parts = [
            SimpleNamespace(
                topic="shixin.court-events",
                partition=partition,
                offset=0,
                error=None if code is None else KafkaError(code),
            )
            for partition, code in next(FakeAdmin.answers)
        ]
        future: Future[Any] = Future()
        future.set_result(SimpleNamespace(topic_partitions=parts))
        return {request.group_id: future}


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> type[FakeAdmin]:
    import confluent_kafka.admin

    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", FakeAdmin)
    monkeypatch.setattr(
        checks, "end_offsets", lambda s, t: dict.fromkeys(PARTITIONS, 9)
    )
    monkeypatch.setattr(checks, "committed_offsets", lambda s, g, p: dict.fromkeys(p))
    monkeypatch.setattr(checks, "log_starts", lambda s, p: dict.fromkeys(p, 0))
    FakeAdmin.calls = 0
    return FakeAdmin


def test_log_starts_a_partition_refused_are_not_counted_as_committed(
    clock: Clock, admin: type[FakeAdmin], caplog: pytest.LogCaptureFixture
) -> None:
    """An error of one partition comes back inside the admin API's result, not
    raised: a transient one is retried, one for good is named, and neither is
    counted as committed."""
    loading = KafkaError.COORDINATOR_LOAD_IN_PROGRESS
    refused = KafkaError.GROUP_AUTHORIZATION_FAILED
    admin.answers = iter([[(0, loading), (1, None)], [(0, refused), (1, None)]])
    with caplog.at_level("WARNING", logger="processors.checks"):
        done = checks.commit_log_starts(SETTINGS, GROUP, ["shixin.court-events"])
    assert done == 1
    assert admin.calls == 2
    assert "topic=shixin.court-events partition=0" in caplog.text


def test_log_starts_all_committed_are_counted(
    clock: Clock, admin: type[FakeAdmin]
) -> None:
    admin.answers = iter([[(0, None), (1, None)]])
    assert checks.commit_log_starts(SETTINGS, GROUP, ["shixin.court-events"]) == 2
