"""The processor core with plain dicts as tables: no broker, the real engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contract.codec import decode, encode
from processors.clock import ClockError, parse_instant, tick_event, tick_event_id
from processors.core import Processor, Record
from rules.cli import lifecycle_events
from shixin.settings import Settings
from shixin.topics import Topics

TOPICS = Topics.for_settings(Settings(topic_prefix="unit"))
LIFECYCLE = json.loads(
    (Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl")
    .read_text()
    .splitlines()[0]
)
AT = datetime(2024, 1, 1, tzinfo=UTC)


def _processor() -> Processor:
    return Processor(TOPICS, {}, {}, {})


def _record(topic: str, offset: int, value: bytes | None, key: bytes = b"k") -> Record:
    return Record(topic, 2, offset, AT, key, value)


def test_naive_clock_instant_is_refused() -> None:
    with pytest.raises(ClockError, match="no time zone"):
        parse_instant("2024-05-01T00:00:00")
    assert parse_instant("2024-05-01T08:00:00+08:00") == datetime(
        2024, 5, 1, tzinfo=UTC
    )


def test_tick_ids_depend_on_instant_and_partition_only() -> None:
    assert tick_event(AT, 3).event_id == tick_event_id(AT, 3)
    assert tick_event(AT, 3).event_id != tick_event(AT, 4).event_id
    assert decode(encode(tick_event(AT, 3))).payload["partition"] == 3


def test_undecodable_message_goes_to_dead_letter_with_its_position() -> None:
    processor = _processor()

    (out,) = processor.handle(_record(TOPICS.court, 7, b"\xc3\x01junk"))

    assert out.topic == TOPICS.dead_letter
    assert out.value == b"\xc3\x01junk"
    headers = dict(out.headers)
    assert headers["cause_offset"] == b"7"
    assert headers["dead_letter_stage"] == b"decode"
    assert processor.metrics.dead_letters == 1


def test_lifecycle_then_tick_emits_derived_events_in_the_cause_partition() -> None:
    processor = _processor()
    events = lifecycle_events(LIFECYCLE)

    out = []
    for offset, event in enumerate(events):
        out += processor.handle(_record(TOPICS.court, offset, encode(event)))
    tick = encode(tick_event(datetime(2030, 1, 1, tzinfo=UTC), 2))
    out += processor.handle(_record(TOPICS.clock, 0, tick))

    assert out, "a lifecycle must derive something"
    assert {o.partition for o in out} == {2}
    assert {o.topic for o in out} <= {TOPICS.sanction_state, TOPICS.deadlines}
    derived = [decode(o.value) for o in out]
    assert all(e.listing_id == events[0].listing_id for e in derived)
    assert processor.clock == {"2": "2030-01-01T00:00:00+00:00"}
    assert events[0].listing_id not in processor.open_index  # nothing left to expire


def test_stale_tick_changes_nothing() -> None:
    processor = _processor()
    processor.handle(_record(TOPICS.clock, 0, encode(tick_event(AT, 2))))

    earlier = datetime(2023, 1, 1, tzinfo=UTC)
    out = processor.handle(_record(TOPICS.clock, 1, encode(tick_event(earlier, 2))))

    assert out == []
    assert processor.clock == {"2": AT.isoformat()}


def test_cached_states_give_the_same_output_and_tables_as_stored_ones() -> None:
    """Every lifecycle interleaved (listings alternate), with ticks between, and a
    duplicate and a refused event: a processor that keeps states as objects gives
    the same messages and tables as one that parses every state back."""
    lines = Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl"
    per_listing = [
        lifecycle_events(json.loads(line)) for line in lines.read_text().splitlines()
    ]
    stream: list[tuple[str, bytes]] = []
    longest = max(len(events) for events in per_listing)
    for i in range(longest):
        for events in per_listing:
            if i < len(events):
                stream.append((TOPICS.court, encode(events[i])))
        if i % 3 == 2:
            tick = tick_event(datetime(2016 + i, 1, 1, tzinfo=UTC), 2)
            stream.append((TOPICS.clock, encode(tick)))
    stream.insert(40, stream[10])  # a redelivery
    stream.insert(60, (TOPICS.court, stream[5][1][:-3]))  # truncated: dead letter
    stream.append(
        (TOPICS.clock, encode(tick_event(datetime(2030, 1, 1, tzinfo=UTC), 2)))
    )

    def run(cache_size: int) -> tuple[list[tuple], Processor]:
        processor = Processor(TOPICS, {}, {}, {}, cache_size=cache_size)
        out = []
        for offset, (topic, value) in enumerate(stream):
            for o in processor.handle(_record(topic, offset, value)):
                out.append((o.topic, o.key, o.value, o.partition, o.headers))
        return out, processor

    cached, with_cache = run(cache_size=8)
    stored, without = run(cache_size=0)

    assert len(with_cache._states) == 8 and len(without._states) == 0
    assert cached == stored
    assert any(topic == TOPICS.deadlines for topic, *_ in cached)
    assert with_cache.listings == without.listings
    assert with_cache.open_index == without.open_index
    assert with_cache.metrics.dead_letters == without.metrics.dead_letters == 1
