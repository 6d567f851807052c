"""Producers against the real broker: counts, keys, order, rejects, crashes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from confluent_kafka import TIMESTAMP_LOG_APPEND_TIME, Consumer, Message, TopicPartition
from test_producer_units import java_partition

from contract.convert import parse_line
from producers.inputs import LIFECYCLE, read_records
from producers.publish import EXIT_OK, EXIT_REJECTED, publish_files
from producers.routing import topic_for
from shixin.stack.topics import LedgerTopics

pytestmark = pytest.mark.services

REPO = Path(__file__).resolve().parent.parent
SAMPLES = [REPO / "data" / "listings.jsonl", REPO / "data" / "lifecycles.jsonl"]


def _expected(
    paths: list[Path], ledger: LedgerTopics
) -> dict[str, list[tuple[str, str]]]:
    """(listing id, event id) per topic, in file order, as the contract converts."""
    expected: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for path in paths:
        for record in read_records(path):
            if record.reject is not None:
                continue
            kind = "lifecycle" if record.kind == LIFECYCLE else "listing"
            events, errors = parse_line(kind, record.obj, f"line {record.line}")
            for event in events:
                topic = topic_for(event, ledger.topics)
                expected[topic].append((event.listing_id, event.event_id))
    return expected


def _consume(
    ledger: LedgerTopics, isolation: str = "read_uncommitted"
) -> dict[str, list[Message]]:
    """Every message of the three producer topics, up to the end of each partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": ledger.settings.bootstrap_servers,
            "group.id": f"test-{os.getpid()}-{time.monotonic_ns()}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    topics = (ledger.topics.court, ledger.topics.agency, ledger.topics.publisher)
    partitions = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        partitions += [TopicPartition(topic, p, 0) for p in meta.partitions]
    consumer.assign(partitions)
    remaining = {(tp.topic, tp.partition) for tp in partitions}
    found: dict[str, list[Message]] = defaultdict(list)
    deadline = time.monotonic() + 60
    while remaining and time.monotonic() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            remaining.discard((msg.topic(), msg.partition()))
            continue
        found[msg.topic()].append(msg)
    consumer.close()
    assert not remaining, f"partitions not read to the end: {sorted(remaining)}"
    return found


def _copies(tmp_path: Path) -> list[Path]:
    """The samples copied out of the repository, so rejects files land in tmp."""
    copies = []
    for path in SAMPLES:
        copy = tmp_path / path.name
        copy.write_bytes(path.read_bytes())
        copies.append(copy)
    return copies


def test_publishing_the_samples_gives_exactly_the_converted_events(
    tmp_path: Path, ledger_topics: LedgerTopics
) -> None:
    samples = _copies(tmp_path)
    expected = _expected(samples, ledger_topics)

    reports = publish_files(samples, settings=ledger_topics.settings)
    found = _consume(ledger_topics)

    assert all(r.delivery_error is None for r in reports)
    assert sum(r.events for r in reports) == sum(len(v) for v in expected.values())
    partitions = ledger_topics.settings.topic_partitions
    for topic, events in expected.items():
        messages = found[topic]
        assert len(messages) == len(events), topic
        # keyed by listing id, on the partition Java's default partitioner picks
        for msg in messages:
            key = msg.key()
            assert key and msg.partition() == java_partition(key, partitions)
            assert msg.timestamp()[0] == TIMESTAMP_LOG_APPEND_TIME
            headers = dict(msg.headers() or [])
            assert set(headers) >= {"event_type", "event_id"}
        # per listing, in file order
        by_listing: dict[str, list[str]] = defaultdict(list)
        for listing, event_id in events:
            by_listing[listing].append(event_id)
        seen: dict[str, list[str]] = defaultdict(list)
        for msg in sorted(messages, key=lambda m: (m.partition(), m.offset())):
            headers = dict(msg.headers() or [])
            seen[msg.key().decode()].append(headers["event_id"].decode())
        assert seen == by_listing, topic


BROKEN = [
    "{not json at all",
    "[1, 2, 3]",
    '{"foo": "neither kind"}',
    '"a bare string"',
]


def _broken_file(tmp_path: Path) -> tuple[Path, int, int]:
    """A copy of 20 sample listings with a dozen kinds of broken lines among them."""
    import json

    good = (REPO / "data" / "listings.jsonl").read_text("utf-8").splitlines()[:20]
    base = json.loads(good[0])
    mutations = [
        ("case_number", "not a case number"),
        ("case_number", ""),
        ("card_number", "3505821988****732"),
        ("card_number", "91350102MA3UCNP82Z"),
        ("publish_date", "2016-13-45"),
        ("age", "twenty"),
        ("dishonest_conduct", "没有这种情形"),
        ("platform_record_id", None),
    ]
    bad = list(BROKEN)
    for field, value in mutations:
        record = dict(base)
        record[field] = value
        bad.append(json.dumps(record, ensure_ascii=False))
    lines = []
    for i, line in enumerate(good):
        lines.append(line)
        if i < len(bad):
            lines.append(bad[i])
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, len(good), len(bad)


def test_broken_lines_are_rejected_with_reasons_and_the_rest_published(
    tmp_path: Path, ledger_topics: LedgerTopics
) -> None:
    import csv

    path, good, bad = _broken_file(tmp_path)

    (report,) = publish_files([path], settings=ledger_topics.settings)
    found = _consume(ledger_topics)

    assert report.rejected == bad and report.exit_code == EXIT_REJECTED
    with (tmp_path / "broken.jsonl.rejects.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {int(r["line"]) for r in rows} == {2 * i + 2 for i in range(bad)}
    assert all(r["reason"] for r in rows)
    assert sum(len(v) for v in found.values()) == report.events > 0
    assert report.records - report.rejected == good


def test_an_event_too_large_for_kafka_is_rejected_and_the_rest_published(
    tmp_path: Path, ledger_topics: LedgerTopics
) -> None:
    import csv
    import json

    lines = (REPO / "data" / "listings.jsonl").read_text("utf-8").splitlines()[:10]
    big = json.loads(lines[4])
    big["obligations"] = "债" * 2_000_000  # 6 MB: far over the broker's 1 MiB
    lines[4] = json.dumps(big, ensure_ascii=False)
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    (report,) = publish_files([path], settings=ledger_topics.settings)
    found = _consume(ledger_topics)

    assert report.delivery_error is None and report.exit_code == EXIT_REJECTED
    assert (report.records, report.rejected, report.events) == (10, 1, 9)
    assert sum(len(v) for v in found.values()) == 9
    with (tmp_path / "big.jsonl.rejects.csv").open(encoding="utf-8") as f:
        (row,) = csv.DictReader(f)
    assert row["line"] == "5" and row["field"] == "obligations"
    assert "bytes" in row["reason"] and "1,000,000" in row["reason"]


def test_all_or_nothing_with_one_bad_record_publishes_nothing_committed(
    tmp_path: Path, ledger_topics: LedgerTopics
) -> None:
    lines = (REPO / "data" / "listings.jsonl").read_text("utf-8").splitlines()[:30]
    lines.insert(25, "{broken")
    path = tmp_path / "one-bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    (report,) = publish_files(
        [path], settings=ledger_topics.settings, all_or_nothing=True
    )
    committed = _consume(ledger_topics, isolation="read_committed")

    assert report.rejected == 1 and not report.committed
    assert sum(len(v) for v in committed.values()) == 0


def test_all_or_nothing_with_a_clean_file_commits_everything(
    tmp_path: Path, ledger_topics: LedgerTopics
) -> None:
    (report,) = publish_files(
        [_copies(tmp_path)[1]], settings=ledger_topics.settings, all_or_nothing=True
    )
    assert report.exit_code == EXIT_OK and report.committed
    # the commit markers land shortly after commit_transaction returns: until then
    # a read_committed reader stops at the last stable offset, before them
    deadline = time.monotonic() + 30
    while True:
        committed = _consume(ledger_topics, isolation="read_committed")
        seen = sum(len(v) for v in committed.values())
        if seen == report.events or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert seen == report.events > 0


def _run_publish(path: Path, ledger: LedgerTopics) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["TOPIC_PREFIX"] = ledger.settings.topic_prefix
    env["KAFKA_BOOTSTRAP_SERVERS"] = ledger.settings.bootstrap_servers
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from shixin.cli import app; app()",
            "publish",
            str(path),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_killed_publisher_rerun_leaves_every_event_exactly_once_after_dedup(
    tmp_path: Path, ledger_topics: LedgerTopics
) -> None:
    from producers.generate import generate_files

    generate_files(tmp_path, listings=1500, seed=99)
    path = tmp_path / "lifecycles.jsonl"
    expected = _expected([path], ledger_topics)
    wanted = {e for events in expected.values() for _, e in events}

    first = _run_publish(path, ledger_topics)
    time.sleep(0.5)
    while first.poll() is None and not _some_published(ledger_topics):
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    partial = _consume(ledger_topics)
    published_before = sum(len(v) for v in partial.values())

    second = _run_publish(path, ledger_topics)
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err.decode()[-2000:]
    found = _consume(ledger_topics)

    ids = Counter(
        dict(m.headers() or [])["event_id"].decode() for v in found.values() for m in v
    )
    assert 0 < published_before < len(wanted)  # killed half-way
    assert set(ids) == wanted  # after de-duplication by id: each event once


def _some_published(ledger: LedgerTopics) -> bool:
    consumer = Consumer(
        {"bootstrap.servers": ledger.settings.bootstrap_servers, "group.id": "probe"}
    )
    try:
        meta = consumer.list_topics(ledger.topics.court, timeout=5).topics
        for p in meta[ledger.topics.court].partitions:
            _, high = consumer.get_watermark_offsets(
                TopicPartition(ledger.topics.court, p), timeout=5
            )
            if high > 0:
                return True
        return False
    finally:
        consumer.close()
