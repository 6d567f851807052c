"""The processor worker against the real broker: outcomes, crashes, sharing, poison.

Workers run as `shixin process --until-caught-up` subprocesses; every wait polls a
condition with a deadline, never a bare sleep.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from shixin.settings import Settings
from shixin.stack.topics import LedgerTopics

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parent.parent
LIFECYCLES = REPO / "data" / "lifecycles.jsonl"
TICK_AT = "2026-01-01T00:00:00+08:00"
SHIXIN = str(Path(sys.executable).parent / "shixin")
WORKER_TIMEOUT = 120.0


# --- helpers ----------------------------------------------------------------------


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        TOPIC_PREFIX=settings.topic_prefix,
        TOPIC_PARTITIONS=str(settings.topic_partitions),
        LOG_LEVEL="INFO",
    )
    return env


def _shixin(settings: Settings, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SHIXIN, *args],
        env=_env(settings),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )


def _start_worker(settings: Settings, cwd: Path, name: str) -> subprocess.Popen:
    log = open(cwd / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [
            SHIXIN,
            "process",
            "--until-caught-up",
            "--no-timekeeper",
            "--metrics-interval",
            "0.5",
            "--metrics-file",
            str(cwd / f"{name}.json"),
        ],
        env=_env(settings),
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _wait_exit(worker: subprocess.Popen, cwd: Path, name: str) -> None:
    try:
        code = worker.wait(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise AssertionError(
            f"worker {name} not caught up in {WORKER_TIMEOUT}s; log:\n"
            + (cwd / f"{name}.log").read_text()[-4000:]
        ) from None
    log = (cwd / f"{name}.log").read_text()
    assert code == 0, f"worker {name} exited {code}; log:\n{log[-4000:]}"


def _poll(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def _metric(path: Path, name: str) -> int:
    try:
        return int(json.loads(path.read_text())[name])
    except (OSError, ValueError, KeyError):
        return 0


def _read_all(settings: Settings, topic: str) -> list[Any]:
    """Every message of `topic`, from the beginning to the end offsets of now."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"test-reader-{time.monotonic_ns()}",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        ends = {}
        for p in partitions:
            _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p))
            ends[p] = high
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        messages: list[Any] = []
        positions = dict.fromkeys(partitions, 0)
        deadline = time.monotonic() + 60
        while any(positions[p] < ends[p] for p in partitions):
            assert time.monotonic() < deadline, f"cannot read {topic} to its end"
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            positions[msg.partition()] = (msg.offset() or 0) + 1
            messages.append(msg)
        return messages
    finally:
        consumer.close()


def _derived(settings: Settings, topic: str) -> list[Any]:
    from contract.codec import decode

    return [decode(m.value()) for m in _read_all(settings, topic)]


def _publish_and_tick(ledger: LedgerTopics, tmp_path: Path) -> None:
    data = tmp_path / "lifecycles.jsonl"
    shutil.copy(LIFECYCLES, data)
    published = _shixin(ledger.settings, "publish", str(data), cwd=tmp_path)
    assert published.returncode == 0, published.stderr[-3000:]
    ticked = _shixin(ledger.settings, "clock", "tick", "--at", TICK_AT, cwd=tmp_path)
    assert ticked.returncode == 0, ticked.stderr[-3000:]


def _expected() -> tuple[set[tuple[Any, ...]], dict[tuple[str, str], str]]:
    """Violations and final sanction states of the sample file, in-process."""
    from rules.cli import evaluate_record

    at = datetime.fromisoformat(TICK_AT)
    violations: set[tuple[Any, ...]] = set()
    sanctions: dict[tuple[str, str], str] = {}
    for line in LIFECYCLES.read_text().splitlines():
        state, checks = evaluate_record(json.loads(line), at)
        for check in checks:
            if check.verdict in ("VIOLATION", "OUT_OF_TIME"):
                violations.add(
                    (
                        state.listing_id,
                        check.rule_id,
                        check.trigger_event,
                        check.verdict,
                    )
                )
        for measure, row in state.fold["measures"].items():
            sanctions[(state.listing_id, measure)] = row[1]
    return violations, sanctions


def _outcome(settings: Settings) -> tuple[set[tuple[str, ...]], dict, list[Any]]:
    """Violations, final sanction states and every deadline event the topics hold."""
    from shixin.topics import Topics

    names = Topics.for_settings(settings)
    deadlines = _derived(settings, names.deadlines)
    # the final verdict of an obligation is its last VIOLATED/MET event (one
    # listing's events share a partition, read in offset order): an act checked
    # before a co-partitioned event of another topic arrived may be re-judged
    final: dict[tuple[str, str], tuple[str, ...]] = {}
    for e in deadlines:
        if e.event_type not in ("DEADLINE_VIOLATED", "DEADLINE_MET"):
            continue
        obligation = e.payload["obligation"]
        final[(e.listing_id, obligation["obligation_id"])] = (
            e.listing_id,
            obligation["rule_id"],
            obligation["trigger_event"],
            e.payload["verdict"],
        )
    violations = {
        outcome
        for outcome in final.values()
        if outcome[3] in ("VIOLATION", "OUT_OF_TIME")
    }
    latest: dict[tuple[str, str], tuple[Any, str]] = {}
    for e in _derived(settings, names.sanction_state):
        key = (e.listing_id, e.payload["measure_code"])
        since = e.payload["since"]
        if key not in latest or since >= latest[key][0]:
            latest[key] = (since, e.payload["state"])
    sanctions = {key: value[1] for key, value in latest.items()}
    return violations, sanctions, deadlines


def _assert_no_conflicting_duplicates(events: list[Any]) -> None:
    """A duplicate is allowed only as the same event: same id, same content."""
    seen: dict[str, Any] = {}
    for e in events:
        if e.event_id in seen:
            assert seen[e.event_id].payload == e.payload, e.event_id
        seen[e.event_id] = e
    outcomes: dict[tuple[str, str], str] = {}
    for e in events:
        if e.event_type != "DEADLINE_VIOLATED":
            continue
        key = (e.listing_id, e.payload["obligation"]["obligation_id"])
        assert outcomes.setdefault(key, e.event_id) == e.event_id, (
            f"obligation {key} violated twice with different event ids"
        )


def _assert_engine_outcome(settings: Settings) -> list[Any]:
    """The derived topics agree with the in-process engine: every violation it finds
    is there, sanction states are the same; extras may only be act checks (STATE)
    judged before a co-partitioned event of another topic arrived and re-judged
    later (the final verdict per obligation is compared). Returns the deadline
    events."""
    violations, sanctions, deadlines = _outcome(settings)
    expected_violations, expected_sanctions = _expected()
    assert expected_violations, "the sample file must prove some violations"
    assert expected_violations - violations == set(), "violations missing"
    state_checks = {
        (
            e.listing_id,
            e.payload["obligation"]["rule_id"],
            e.payload["obligation"]["trigger_event"],
            e.payload["verdict"],
        )
        for e in deadlines
        if e.event_type == "DEADLINE_VIOLATED" and e.payload["detected_by"] == "STATE"
    }
    assert violations - expected_violations <= state_checks
    assert sanctions == expected_sanctions
    _assert_no_conflicting_duplicates(deadlines)
    return deadlines


# --- tests ------------------------------------------------------------------------


def test_derived_topics_hold_what_the_engine_gives_in_process(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    _publish_and_tick(ledger_topics, tmp_path)

    worker = _start_worker(ledger_topics.settings, tmp_path, "one")
    _wait_exit(worker, tmp_path, "one")

    violations, sanctions, deadlines = _outcome(ledger_topics.settings)
    assert (violations, sanctions) == _expected()


def test_one_worker_finds_every_violation_and_final_sanction_state(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    _publish_and_tick(ledger_topics, tmp_path)

    worker = _start_worker(ledger_topics.settings, tmp_path, "one")
    _wait_exit(worker, tmp_path, "one")

    _assert_engine_outcome(ledger_topics.settings)
    expected_violations, _ = _expected()
    metrics = json.loads((tmp_path / "one.json").read_text())
    assert metrics["violations_emitted"] >= len(expected_violations)
    assert metrics["lag"] and not any(metrics["lag"].values())


def test_worker_killed_mid_stream_recovers_the_same_outcome(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    _publish_and_tick(ledger_topics, tmp_path)

    worker = _start_worker(ledger_topics.settings, tmp_path, "killed")
    _poll(
        lambda: (
            _metric(tmp_path / "killed.json", "events_processed") > 0
            or worker.poll() is not None
        ),
        WORKER_TIMEOUT,
        "the first worker to process events",
    )
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    restarted = _start_worker(ledger_topics.settings, tmp_path, "restarted")
    _wait_exit(restarted, tmp_path, "restarted")

    _assert_engine_outcome(ledger_topics.settings)


def test_two_workers_sharing_partitions_give_the_result_of_one(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    _publish_and_tick(ledger_topics, tmp_path)

    first = _start_worker(ledger_topics.settings, tmp_path, "first")
    # the second joins once the first is under way: a rebalance half-way
    _poll(
        lambda: (tmp_path / "first.json").exists() or first.poll() is not None,
        WORKER_TIMEOUT,
        "the first worker to report",
    )
    second = _start_worker(ledger_topics.settings, tmp_path, "second")
    _wait_exit(first, tmp_path, "first")
    _wait_exit(second, tmp_path, "second")

    _assert_engine_outcome(ledger_topics.settings)


def test_poison_message_goes_to_dead_letter_and_the_rest_is_processed(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    from confluent_kafka import Producer

    settings = ledger_topics.settings
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    producer.produce(ledger_topics.topics.court, b"\xc3\x01not avro", b"POISON-1")
    assert producer.flush(30) == 0
    _publish_and_tick(ledger_topics, tmp_path)

    worker = _start_worker(settings, tmp_path, "poisoned")
    _wait_exit(worker, tmp_path, "poisoned")

    dead = [
        m
        for m in _read_all(settings, ledger_topics.topics.dead_letter)
        if dict(m.headers())["dead_letter_stage"] == b"decode"
    ]
    assert [m.key() for m in dead] == [b"POISON-1"]
    assert dead[0].value() == b"\xc3\x01not avro"
    headers = dict(dead[0].headers())
    assert headers["cause_topic"] == ledger_topics.topics.court.encode()
    assert headers["dead_letter_stage"] == b"decode"
    assert b"DecodeError" in headers["dead_letter_reason"]
    _assert_engine_outcome(settings)


def test_second_run_with_only_a_backlog_of_ticks_catches_up(
    ledger_topics: LedgerTopics, tmp_path: Path
) -> None:
    """The demo's order: everything processed and committed, then many ticks, then
    a second worker whose court/agency/publisher partitions receive nothing."""
    from datetime import timedelta

    from processors.clock import tick_messages

    settings = ledger_topics.settings
    data = tmp_path / "lifecycles.jsonl"
    shutil.copy(LIFECYCLES, data)
    assert _shixin(settings, "publish", str(data), cwd=tmp_path).returncode == 0
    _wait_exit(_start_worker(settings, tmp_path, "first"), tmp_path, "first")

    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    start = datetime.fromisoformat("2020-01-01T00:00:00+08:00")
    instants = [start + timedelta(days=30 * i) for i in range(80)]
    for instant in instants:
        for partition, key, value in tick_messages(instant, settings.topic_partitions):
            producer.produce(
                ledger_topics.topics.clock, value, key, partition=partition
            )
    assert producer.flush(30) == 0

    _wait_exit(_start_worker(settings, tmp_path, "second"), tmp_path, "second")

    metrics = json.loads((tmp_path / "second.json").read_text())
    assert metrics["ticks"] == len(instants) * settings.topic_partitions
    assert metrics["lag"] and not any(metrics["lag"].values())


TICK_AFTER_A_RUN_ROUNDS = 3  # fresh ledgers: whether faust drops the tick is timing


def test_tick_published_after_a_run_is_processed_once_and_committed(
    stack: Settings, tmp_path: Path
) -> None:
    """A tester's order: publish, process, one tick, process again.

    The first run commits the still empty clock partitions at offset 0; the tick
    is then the only record of each clock partition, so a tick faust drops during
    the second run's table recovery comes again only if the worker seeks it back.
    Each round is a fresh ledger; a worker that stalls stops with its reason
    (or is killed after WORKER_TIMEOUT) and fails the test."""
    import uuid

    from processors.checks import committed_offsets
    from processors.worker import WorkerOptions, app_id
    from shixin.stack.topics import delete_topics, ensure_topics, prefixed_topics
    from shixin.topics import Topics

    listings = tmp_path / "listings.jsonl"
    shutil.copy(REPO / "data" / "listings.jsonl", listings)
    for round_ in range(TICK_AFTER_A_RUN_ROUNDS):
        prefix = f"t-{uuid.uuid4().hex[:8]}"
        settings = stack.model_copy(update={"topic_prefix": prefix})
        ensure_topics(settings)
        try:
            published = _shixin(settings, "publish", str(listings), cwd=tmp_path)
            assert published.returncode == 0, published.stderr[-3000:]
            first = f"first-{round_}"
            _wait_exit(_start_worker(settings, tmp_path, first), tmp_path, first)
            ticked = _shixin(settings, "clock", "tick", "--at", TICK_AT, cwd=tmp_path)
            assert ticked.returncode == 0, ticked.stderr[-3000:]

            second = f"second-{round_}"
            _wait_exit(_start_worker(settings, tmp_path, second), tmp_path, second)

            metrics = json.loads((tmp_path / f"{second}.json").read_text())
            assert metrics["ticks"] == settings.topic_partitions
            assert metrics["lag"] and not any(metrics["lag"].values())
            clock = Topics.for_settings(settings).clock
            group = app_id(settings, WorkerOptions())
            partitions = [(clock, p) for p in range(settings.topic_partitions)]
            committed = committed_offsets(settings, group, partitions)
            assert committed == dict.fromkeys(partitions, 1)
        finally:
            delete_topics(settings, prefixed_topics(settings, f"{prefix}."))
