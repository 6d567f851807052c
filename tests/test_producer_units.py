"""Producers without services: routing, keys, murmur2 partitioning, input files."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contract.event import Actor, LedgerEvent
from producers.inputs import LIFECYCLE, LISTING, read_records
from producers.publisher import MissingKeyError, event_key
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


def test_lifecycle_csv_rows_group_into_one_lifecycle(tmp_path: Path) -> None:
    source = json.loads(
        (REPO / "data" / "lifecycles.jsonl").read_text("utf-8").split("\n")[0]
    )
    path = tmp_path / "lifecycles.csv"
    columns = [
        "lifecycle_id", "case_number", "jurisdiction", "debtor_name",
        "debtor_entity_type", "debtor_id_number", "debtor_published_card_number",
        "seq", "event_id", "type", "at", "actor_kind", "actor_code", "actor_name",
        "payload",
    ]  # fmt: skip
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        for e in source["events"]:
            writer.writerow(
                {
                    "lifecycle_id": source["lifecycle_id"],
                    "case_number": source["case_number"],
                    "jurisdiction": source["jurisdiction"],
                    "debtor_name": source["debtor"]["name"],
                    "debtor_entity_type": source["debtor"]["entity_type"],
                    "debtor_id_number": source["debtor"]["id_number"],
                    "debtor_published_card_number": source["debtor"][
                        "published_card_number"
                    ],
                    "seq": e["seq"],
                    "event_id": e["event_id"],
                    "type": e["type"],
                    "at": e["at"],
                    "actor_kind": e["actor"]["kind"],
                    "actor_code": e["actor"].get("code", ""),
                    "actor_name": e["actor"].get("name", ""),
                    "payload": json.dumps(e["payload"], ensure_ascii=False),
                }
            )

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
