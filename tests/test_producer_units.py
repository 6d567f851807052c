"""Producers without services: routing, keys, murmur2 partitioning, input files."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from contract.event import Actor, LedgerEvent
from producers.inputs import (
    CSV_CELL_LIMIT,
    LIFECYCLE,
    LISTING,
    UnreadableFileError,
    read_records,
)
from producers.publish import publish_file
from producers.publisher import (
    MESSAGE_MAX_BYTES,
    DeliveryStats,
    MissingKeyError,
    Publisher,
    encode_event,
    event_key,
    message_size,
    too_large,
)
from producers.rejects import rejects_path
from producers.routing import RoutingError, topic_for
from shixin.settings import Settings
from shixin.topics import Topics

REPO = Path(__file__).resolve().parent.parent
TOPICS = Topics.for_settings(Settings(topic_prefix="unit"))


def murmur2(data: bytes) -> int:
    """Kafka's Java `Utils.murmur2`, as a signed 32-bit int (seed 0x9747b28c)."""
    m, r, mask = 0x5BD1E995, 24, 0xFFFFFFFF
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = data[length - length % 4 :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


# Kafka's own vectors (org.apache.kafka.common.utils.UtilsTest.testMurmur2).
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_murmur2_matches_kafka_java_vectors(data: bytes, expected: int) -> None:
    assert murmur2(data) == expected


def _event(kind: str, listing_id: str = "L-1") -> LedgerEvent:
    return LedgerEvent(
        event_id="e-1",
        event_type="SANCTION_APPLIED",
        listing_id=listing_id,
        occurred_at=datetime(2020, 1, 2, tzinfo=UTC),
        actor=Actor(kind=kind),
        jurisdiction="CN-35",
    )


@pytest.mark.parametrize(
    ("kind", "topic"),
    [
        ("COURT", TOPICS.court),
        ("PLATFORM", TOPICS.court),
        ("DEBTOR", TOPICS.court),
        ("APPLICANT", TOPICS.court),
        ("SYSTEM", TOPICS.court),
        ("COURT_SUPERVISION", TOPICS.court),
        ("AGENCY", TOPICS.agency),
        ("COMPLAINANT", TOPICS.agency),
        ("REPUBLISHER", TOPICS.publisher),
    ],
)
def test_actor_kind_routes_to_topic(kind: str, topic: str) -> None:
    assert topic_for(_event(kind), TOPICS) == topic


def test_unknown_actor_kind_is_refused() -> None:
    with pytest.raises(RoutingError, match="'ALIEN'"):
        topic_for(_event("ALIEN"), TOPICS)


@pytest.mark.parametrize("listing_id", ["", "   "])
def test_empty_listing_id_cannot_key_a_message(listing_id: str) -> None:
    with pytest.raises(MissingKeyError, match="e-1"):
        event_key(_event("COURT", listing_id))


def test_key_is_listing_id_in_utf8() -> None:
    assert (
        event_key(_event("COURT", "（2019）闽0203执7784号"))
        == "（2019）闽0203执7784号".encode()
    )


def test_sample_files_are_recognised_by_keys() -> None:
    listings = list(read_records(REPO / "data" / "listings.jsonl"))
    lifecycles = list(read_records(REPO / "data" / "lifecycles.jsonl"))
    assert {r.kind for r in listings} == {LISTING} and len(listings) == 300
    assert {r.kind for r in lifecycles} == {LIFECYCLE} and len(lifecycles) == 46
    assert lifecycles[0].record_id == "LC-001"


def test_listing_csv_with_chinese_labels_reads_like_json(tmp_path: Path) -> None:
    first = json.loads(
        (REPO / "data" / "listings.jsonl").read_text("utf-8").split("\n")[0]
    )
    labels = {
        "platform_record_id": "记录编号",
        "debtor_name": "被执行人姓名/名称",
        "case_number": "案号",
        "age": "年龄",
        "card_number": "身份证号码/组织机构代码",
        "executing_court": "执行法院",
        "publish_date": "发布时间",
    }
    path = tmp_path / "listings.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(labels.values())
        writer.writerow(str(first[key]) for key in labels)

    (record,) = read_records(path)

    assert record.reject is None and record.kind == LISTING
    assert record.obj is not None
    for key in labels:
        assert record.obj[key] == first[key]


def test_a_csv_row_with_more_cells_than_the_header_is_rejected(
    tmp_path: Path,
) -> None:
    path = tmp_path / "listings.csv"
    path.write_text(
        "案号,被执行人姓名/名称\n（2019）闽0203执1号,张三\n（2019）闽0203执2号,李四,多余\n",
        encoding="utf-8",
    )

    first, second = read_records(path)

    assert first.reject is None
    assert second.reject is not None
    assert second.reject.value == "多余"
    assert "more than the header" in second.reject.reason


LIFECYCLE_COLUMNS = [
    "lifecycle_id", "case_number", "jurisdiction", "debtor_name",
    "debtor_entity_type", "debtor_id_number", "debtor_published_card_number",
    "seq", "event_id", "type", "at", "actor_kind", "actor_code", "actor_name",
    "payload",
]  # fmt: skip


def _lifecycle_rows(source: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per act of a lifecycle of the sample file."""
    return [
        {
            "lifecycle_id": source["lifecycle_id"],
            "case_number": source["case_number"],
            "jurisdiction": source["jurisdiction"],
            "debtor_name": source["debtor"]["name"],
            "debtor_entity_type": source["debtor"]["entity_type"],
            "debtor_id_number": source["debtor"]["id_number"],
            "debtor_published_card_number": source["debtor"]["published_card_number"],
            "seq": e["seq"],
            "event_id": e["event_id"],
            "type": e["type"],
            "at": e["at"],
            "actor_kind": e["actor"]["kind"],
            "actor_code": e["actor"].get("code", ""),
            "actor_name": e["actor"].get("name", ""),
            "payload": json.dumps(e["payload"], ensure_ascii=False),
        }
        for e in source["events"]
    ]


def test_lifecycle_csv_rows_group_into_one_lifecycle(tmp_path: Path) -> None:
    source = json.loads(
        (REPO / "data" / "lifecycles.jsonl").read_text("utf-8").split("\n")[0]
    )
    path = tmp_path / "lifecycles.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, LIFECYCLE_COLUMNS)
        writer.writeheader()
        writer.writerows(_lifecycle_rows(source))

    (record,) = read_records(path)

    assert record.kind == LIFECYCLE and record.obj is not None
    assert [e["event_id"] for e in record.obj["events"]] == [
        e["event_id"] for e in source["events"]
    ]
    assert record.obj["events"][2]["payload"] == source["events"][2]["payload"]
    assert record.obj["debtor"]["id_number"] == source["debtor"]["id_number"]


def test_unreadable_lines_carry_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text('{"case_number": \n[1, 2]\n{"foo": 1}\n', encoding="utf-8")

    records = list(read_records(path))

    assert [r.line for r in records] == [1, 2, 3]
    reasons = [r.reject.reason if r.reject else "" for r in records]
    assert reasons[0].startswith("not JSON")
    assert "expected a JSON object" in reasons[1]
    assert "neither a listing" in reasons[2]


# Input that must be rejected, never crash the run nor lose the rest of the file

SETTINGS = Settings(topic_prefix="unit")


def _listing_lines(count: int, start: int = 0) -> list[str]:
    lines = (REPO / "data" / "listings.jsonl").read_text("utf-8").splitlines()
    return lines[start : start + count]


def _rejects(path: Path) -> list[dict[str, str]]:
    with rejects_path(path).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_message_size_bounds_what_the_producer_accepts() -> None:
    from confluent_kafka import KafkaException, Producer

    from contract.convert import parse_line

    (event,) = parse_line("listing", json.loads(_listing_lines(1)[0]), "line 1")[0]
    message = encode_event(event)
    assert message.size == message_size(message.key, message.value, message.headers)

    producer = Producer(
        {"bootstrap.servers": "127.0.0.1:1", "message.max.bytes": MESSAGE_MAX_BYTES}
    )
    try:
        key, headers = (
            b"L-1",
            [("event_type", b"SANCTION_APPLIED"), ("event_id", b"e-1")],
        )
        fits = b"x" * (MESSAGE_MAX_BYTES - message_size(key, b"", headers))
        assert too_large(message_size(key, fits, headers)) is None
        producer.produce("t", fits, key, headers=headers)  # the producer takes it
        over = fits + b"x" * 1000
        assert too_large(message_size(key, over, headers)) is not None
        with pytest.raises(KafkaException):
            producer.produce("t", over, key, headers=headers)
    finally:
        producer.purge()


def test_an_event_too_large_for_a_message_is_rejected_in_a_dry_run(
    tmp_path: Path,
) -> None:
    first, middle, last = _listing_lines(3)
    big = json.loads(middle)
    big["obligations"] = "债" * 400_000  # 1.2 MB of UTF-8
    path = tmp_path / "big.jsonl"
    path.write_text(
        "\n".join([first, json.dumps(big, ensure_ascii=False), last]) + "\n", "utf-8"
    )

    report = publish_file(path, settings=SETTINGS, publisher=None)

    assert (report.records, report.rejected, report.events) == (3, 1, 2)
    (row,) = _rejects(path)
    assert row["line"] == "2" and row["field"] == "obligations"
    assert row["record_id"] == str(big["platform_record_id"])
    assert "1,000,000 bytes" in row["reason"] and "message.max.bytes" in row["reason"]
    assert "the encoded event is 1,2" in row["reason"]


class _RefusingProducer:
    """A confluent-kafka producer stand-in that refuses messages with some keys."""

    def __init__(self, refused: set[bytes]) -> None:
        self.refused = refused
        self.produced: list[bytes] = []

    def produce(
        self, topic: str, value: bytes, key: bytes, headers: Any = None
    ) -> None:
        from confluent_kafka import KafkaError, KafkaException

        if key in self.refused:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.produced.append(key)

    def poll(self, timeout: float = 0) -> int:
        return 0

    def flush(self, timeout: float = 0) -> int:
        return 0


def _publisher(producer: _RefusingProducer) -> Publisher:
    publisher = Publisher.__new__(Publisher)
    publisher.settings = SETTINGS
    publisher.topics = TOPICS
    publisher.stats = DeliveryStats()
    publisher.transactional_id = None
    publisher.max_message_bytes = MESSAGE_MAX_BYTES
    publisher._producer = producer  # type: ignore[assignment]
    return publisher


def test_a_message_the_producer_refuses_rejects_its_record_not_the_file(
    tmp_path: Path,
) -> None:
    from contract.convert import parse_line

    lines = _listing_lines(3)
    path = tmp_path / "three.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    (refused,) = parse_line("listing", json.loads(lines[1]), "line 2")[0]
    producer = _RefusingProducer({refused.listing_id.encode("utf-8")})

    report = publish_file(path, settings=SETTINGS, publisher=_publisher(producer))

    assert len(producer.produced) == 2 and report.events == 2
    assert report.rejected == 1 and report.delivery_error is None
    (row,) = _rejects(path)
    assert row["line"] == "2" and "Kafka refused the message" in row["reason"]


def _csv_text(rows: list[dict[str, Any]], columns: list[str]) -> str:
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


LISTING_COLUMNS = [
    "platform_record_id", "debtor_name", "case_number", "card_number",
    "executing_court", "province", "publish_date", "dishonest_conduct",
    "obligations",
]  # fmt: skip


def test_a_csv_line_not_in_utf8_is_rejected_and_the_others_read(
    tmp_path: Path,
) -> None:
    rows = [json.loads(line) for line in _listing_lines(3)]
    header, *lines = _csv_text(rows, LISTING_COLUMNS).splitlines(keepends=True)
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        header.encode() + lines[0].encode() + lines[1].encode("gbk") + lines[2].encode()
    )

    records = list(read_records(path))

    assert [r.kind for r in records] == [LISTING, None, LISTING]
    reject = records[1].reject
    assert reject is not None and reject.line == 3 and reject.field == "(line)"
    assert reject.record_id == str(rows[1]["platform_record_id"])
    assert "not UTF-8" in reject.reason and "line 3" in reject.reason
    assert "GBK" in reject.reason

    report = publish_file(path, settings=SETTINGS, publisher=None)
    assert (report.records, report.rejected, report.events) == (3, 1, 2)
    assert [row["line"] for row in _rejects(path)] == ["3"]


def test_a_csv_file_not_in_utf8_at_all_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("案号,被执行人姓名/名称\n（2019）闽0203执1号,张三\n".encode("gbk"))

    with pytest.raises(UnreadableFileError, match="gbk.csv cannot be read"):
        list(read_records(path))
    report = publish_file(path, settings=SETTINGS, publisher=None)

    assert report.rejected == 1 and report.file_error is not None
    assert "gbk.csv" in report.file_error and "expected UTF-8" in report.file_error
    (row,) = _rejects(path)
    assert row["field"] == "(header)" and "not UTF-8" in row["reason"]


def test_a_csv_cell_over_the_field_limit_rejects_its_record_only(
    tmp_path: Path,
) -> None:
    rows = [json.loads(line) for line in _listing_lines(3)]
    rows[1]["obligations"] = "长" * (CSV_CELL_LIMIT + 1)
    path = tmp_path / "long.csv"
    path.write_text(_csv_text(rows, LISTING_COLUMNS), encoding="utf-8")

    records = list(read_records(path))

    assert [r.kind for r in records] == [LISTING, None, LISTING]
    reject = records[1].reject
    assert reject is not None and reject.field == "obligations"
    assert f"{CSV_CELL_LIMIT + 1:,} characters" in reject.reason
    assert records[2].obj is not None
    assert records[2].obj["platform_record_id"] == rows[2]["platform_record_id"]


def test_a_lifecycle_csv_cell_over_the_field_limit_rejects_that_lifecycle_only(
    tmp_path: Path,
) -> None:
    lines = (REPO / "data" / "lifecycles.jsonl").read_text("utf-8").splitlines()
    first, second = (json.loads(line) for line in lines[:2])
    rows = _lifecycle_rows(first)
    # JSON whitespace: a cell over the limit, spanning many lines of the file
    rows[2]["payload"] = "{" + "\n" * (CSV_CELL_LIMIT + 1) + '"document": "x"}'
    path = tmp_path / "lifecycles.csv"
    path.write_text(
        _csv_text(rows + _lifecycle_rows(second), LIFECYCLE_COLUMNS), "utf-8"
    )

    bad, good = read_records(path)

    assert bad.record_id == first["lifecycle_id"] and bad.kind is None
    assert bad.reject is not None and bad.reject.field == "payload"
    assert "characters; expected at most" in bad.reject.reason
    assert good.kind == LIFECYCLE and good.obj is not None
    assert [e["event_id"] for e in good.obj["events"]] == [
        e["event_id"] for e in second["events"]
    ]


def test_the_rejects_file_shows_no_value_for_a_missing_field(tmp_path: Path) -> None:
    record = json.loads(_listing_lines(1)[0])
    del record["executing_court"]
    path = tmp_path / "missing.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", "utf-8")

    publish_file(path, settings=SETTINGS, publisher=None)

    (row,) = _rejects(path)
    assert row["field"] == "executing_court" and row["value"] == ""


def test_publishing_one_act_too_large_for_a_message_raises_before_producing() -> None:
    from contract.convert import parse_line
    from producers.publisher import MessageTooLargeError

    record = json.loads(_listing_lines(1)[0])
    record["obligations"] = "x" * MESSAGE_MAX_BYTES
    (event,) = parse_line("listing", record, "line 1")[0]
    producer = _RefusingProducer(set())

    with pytest.raises(MessageTooLargeError, match="1,000,000 bytes"):
        _publisher(producer).publish(event)
    assert producer.produced == []


# A key said twice, rows of one lifecycle apart: never one value silently kept


def _lifecycle_lines(count: int) -> list[str]:
    lines = (REPO / "data" / "lifecycles.jsonl").read_text("utf-8").splitlines()
    return lines[:count]


def test_a_jsonl_line_with_a_duplicate_key_is_rejected_naming_the_key(
    tmp_path: Path,
) -> None:
    first, second, third = _lifecycle_lines(3)
    # the lifecycle's own key said twice, the second value would silently win
    doubled = second.replace(
        '"scenario": ', '"case_number": "（2019）闽0203执1号", "scenario": ', 1
    )
    assert doubled.count('"case_number": ') >= 2
    path = tmp_path / "dup.jsonl"
    path.write_text("\n".join([first, doubled, third]) + "\n", "utf-8")

    records = list(read_records(path))

    assert [r.kind for r in records] == [LIFECYCLE, None, LIFECYCLE]
    reject = records[1].reject
    assert reject is not None and reject.line == 2
    assert reject.field == "case_number"
    assert reject.record_id == json.loads(second)["lifecycle_id"]
    assert "twice" in reject.reason and "case_number" in reject.reason
    report = publish_file(path, settings=SETTINGS, publisher=None)
    assert (report.records, report.rejected) == (3, 1)
    (row,) = _rejects(path)
    assert row["line"] == "2" and row["field"] == "case_number"


def test_a_duplicate_key_inside_a_payload_is_named_by_its_path(tmp_path: Path) -> None:
    (line,) = _lifecycle_lines(1)
    record = json.loads(line)
    index = next(
        i for i, e in enumerate(record["events"]) if "measure_code" in e["payload"]
    )
    code = record["events"][index]["payload"]["measure_code"]
    text = json.dumps(record, ensure_ascii=False)
    single = f'"measure_code": "{code}"'
    assert single in text
    text = text.replace(single, f'"measure_code": "OTHER.MARKET_USE", {single}', 1)
    path = tmp_path / "dup.jsonl"
    path.write_text(text + "\n", "utf-8")

    (record_read,) = read_records(path)

    reject = record_read.reject
    assert reject is not None
    assert reject.field == f"events.{index}.payload.measure_code"
    assert "OTHER.MARKET_USE" in reject.value and code in reject.value


def test_a_lifecycle_csv_payload_with_a_duplicate_key_is_rejected(
    tmp_path: Path,
) -> None:
    source = json.loads(_lifecycle_lines(1)[0])
    rows = _lifecycle_rows(source)
    rows[0]["payload"] = '{"applicant": "甲", "applicant": "乙"}'
    path = tmp_path / "lifecycles.csv"
    path.write_text(_csv_text(rows, LIFECYCLE_COLUMNS), "utf-8")

    (record,) = read_records(path)

    assert record.kind is None and record.reject is not None
    assert record.reject.field == "payload.applicant" and record.reject.line == 2
    assert "twice" in record.reject.reason


def test_interleaved_rows_of_one_lifecycle_reject_it_whole(tmp_path: Path) -> None:
    first, second = (json.loads(line) for line in _lifecycle_lines(2))
    a, b = _lifecycle_rows(first), _lifecycle_rows(second)
    # a's rows, then b's, then the rest of a's: header is line 1
    rows = a[:3] + b + a[3:]
    for row in rows:
        row["timezone"] = "Asia/Shanghai"
    path = tmp_path / "lifecycles.csv"
    path.write_text(_csv_text(rows, [*LIFECYCLE_COLUMNS, "timezone"]), "utf-8")

    records = list(read_records(path))

    by_id: dict[str, list[Any]] = {}
    for record in records:
        by_id.setdefault(record.record_id, []).append(record)
    assert [r.kind for r in by_id[second["lifecycle_id"]]] == [LIFECYCLE]
    parts = by_id[first["lifecycle_id"]]
    assert parts and all(r.kind is None and r.reject is not None for r in parts)
    later = 2 + 3 + len(b)
    for part in parts:
        assert part.reject is not None
        assert part.reject.field == "lifecycle_id"
        assert "lines 2-4" in part.reject.reason
        assert f"{later}-{later + len(a) - 4}" in part.reject.reason
    report = publish_file(path, settings=SETTINGS, publisher=None)
    assert report.events == len(b) + 1  # only the other lifecycle
    assert report.rejected == len(parts)


def test_a_lifecycle_csv_row_contradicting_its_first_row_is_rejected(
    tmp_path: Path,
) -> None:
    source = json.loads(_lifecycle_lines(1)[0])
    rows = _lifecycle_rows(source)
    rows[4]["debtor_id_number"] = "11010519491231002X"
    for row in rows[5:]:
        row["debtor_id_number"] = ""  # a blank cell repeats nothing: fine
    path = tmp_path / "lifecycles.csv"
    path.write_text(_csv_text(rows, LIFECYCLE_COLUMNS), "utf-8")

    (record,) = read_records(path)

    assert record.kind is None and record.reject is not None
    assert record.reject.line == 6 and record.reject.field == "debtor_id_number"
    assert record.reject.value == "11010519491231002X"
    assert source["debtor"]["id_number"] in record.reject.reason
    assert "line 2" in record.reject.reason


def test_a_csv_header_naming_one_field_twice_is_one_clear_error(
    tmp_path: Path,
) -> None:
    path = tmp_path / "listings.csv"
    path.write_text(
        "案号,被执行人姓名/名称,caseCode\n（2019）闽0203执1号,张三,（2019）闽0203执2号\n",
        encoding="utf-8",
    )

    with pytest.raises(UnreadableFileError, match="case_number"):
        list(read_records(path))
    report = publish_file(path, settings=SETTINGS, publisher=None)
    assert report.rejected == 1 and report.file_error is not None
    assert "案号" in report.file_error and "caseCode" in report.file_error


# The same act twice in one file: a retry is counted, a contradiction rejected


def test_a_repeated_lifecycle_is_counted_and_a_contradicting_one_rejected(
    tmp_path: Path,
) -> None:
    first, second = _lifecycle_lines(2)
    changed = json.loads(first)
    # the same act (same lifecycle, same source event id) said on another day
    changed["events"][1]["at"] = changed["events"][1]["at"].replace("-20T", "-21T")
    path = tmp_path / "again.jsonl"
    path.write_text(
        "\n".join([first, second, first, json.dumps(changed, ensure_ascii=False)])
        + "\n",
        "utf-8",
    )
    per_record = len(json.loads(first)["events"]) + 1  # DEBTOR_IDENTIFIED too

    report = publish_file(path, settings=SETTINGS, publisher=None)

    assert (report.records, report.rejected) == (4, 1)
    assert report.duplicates == per_record  # line 3 is line 1 again: a retry
    (row,) = _rejects(path)
    assert row["line"] == "4" and row["record_id"] == changed["lifecycle_id"]
    assert row["value"] == changed["events"][1]["event_id"]
    assert f"published from {path}:1 with other content" in row["reason"]


def test_an_act_said_otherwise_in_another_file_of_the_run_is_rejected(
    tmp_path: Path,
) -> None:
    from producers.publish import publish_files

    (first,) = _lifecycle_lines(1)
    changed = json.loads(first)
    changed["events"][1]["at"] = changed["events"][1]["at"].replace("-20T", "-21T")
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(first + "\n", "utf-8")
    two.write_text(json.dumps(changed, ensure_ascii=False) + "\n", "utf-8")

    reports = publish_files([one, two], settings=SETTINGS, dry_run=True)

    assert [(r.records, r.rejected) for r in reports] == [(1, 0), (1, 1)]
    (row,) = _rejects(two)
    assert f"published from {one}:1 with other content" in row["reason"]


def test_an_empty_file_is_said_to_be_empty(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from shixin.cli import app

    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", "utf-8")
    result = CliRunner().invoke(
        app, ["publish", "--dry-run", str(path)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "empty file" in result.stdout and " ok " not in result.stdout


def test_a_platform_record_id_of_another_listing_is_rejected(tmp_path: Path) -> None:
    """One published record is one listing: a second listing giving a platform
    record id the run read for another is rejected naming both; the listing's own
    lifecycle (the same listing) and a repeat of the same record are not."""
    first, second = (json.loads(line) for line in _listing_lines(2))
    second["platform_record_id"] = first["platform_record_id"]
    lifecycle = next(
        json.loads(line)
        for line in _lifecycle_lines(46)
        if json.loads(line).get("platform_record_id") is not None
    )
    path = tmp_path / "listings.jsonl"
    path.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False) for r in (first, second, first, lifecycle)
        )
        + "\n",  # fmt: skip
        "utf-8",
    )
    report = publish_file(path, settings=SETTINGS, publisher=None)
    (reject,) = _rejects(path)
    assert report.rejected == 1
    assert (reject["line"], reject["field"]) == ("2", "platform_record_id")
    assert reject["value"] == str(first["platform_record_id"])
    assert f"{path}:1 for listing" in reject["reason"]


def test_the_samples_give_each_platform_record_id_to_one_listing(
    tmp_path: Path,
) -> None:
    """The bundled listings and lifecycles, read in one run, share platform record
    ids only between a listing and its own lifecycle: nothing is refused."""
    from producers.publish import publish_files

    copies = []
    for name in ("listings.jsonl", "lifecycles.jsonl"):
        copy = tmp_path / name
        copy.write_bytes((REPO / "data" / name).read_bytes())
        copies.append(copy)
    reports = publish_files(copies, settings=SETTINGS, dry_run=True)
    assert [r.rejected for r in reports] == [0, 0]
    assert sum(r.records for r in reports) == 346
