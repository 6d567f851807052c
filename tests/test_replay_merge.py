"""The replay's merge order is a property of the log alone."""

from __future__ import annotations

import random

import pytest

from replay.merge import MergeKey, PartitionMerger, merge_sorted

SOURCES = ["court", "agency", "publisher", "clock"]


def _stream(source: str, rank: int, times: list[int]) -> list[tuple[MergeKey, str]]:
    return [
        (MergeKey(t, rank, 0, offset), f"{source}@{offset}")
        for offset, t in enumerate(times)
    ]


def _streams(seed: int) -> list[list[tuple[MergeKey, str]]]:
    rng = random.Random(seed)
    out = []
    for rank, source in enumerate(SOURCES):
        times = sorted(rng.randrange(0, 50) for _ in range(rng.randrange(0, 30)))
        out.append(_stream(source, rank, times))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_incremental_merge_equals_full_sort_whatever_the_fetch_order(seed: int) -> None:
    streams = _streams(seed)
    expected = [item for _, item in sorted(kv for s in streams for kv in s)]

    rng = random.Random(seed + 1000)
    merger: PartitionMerger[str] = PartitionMerger(SOURCES)
    cursors = [0] * len(SOURCES)
    got: list[str] = []
    while not merger.done:
        live = [i for i in range(len(SOURCES)) if cursors[i] <= len(streams[i])]
        i = rng.choice(live)
        if cursors[i] == len(streams[i]):
            merger.exhaust(SOURCES[i])
            cursors[i] += 1
        else:
            key, item = streams[i][cursors[i]]
            merger.push(SOURCES[i], key, item)
            cursors[i] += 1
        got.extend(item for _, item in merger.pop_ready())

    assert got == expected
    assert merge_sorted(streams) == expected


def test_nothing_is_released_while_a_source_may_still_deliver_earlier_records() -> None:
    merger: PartitionMerger[str] = PartitionMerger(["court", "agency"])
    merger.push("court", MergeKey(10, 0, 0, 0), "late court record")
    assert list(merger.pop_ready()) == []

    merger.push("agency", MergeKey(5, 1, 0, 0), "earlier agency record")
    assert [item for _, item in merger.pop_ready()] == ["earlier agency record"]


def test_equal_broker_times_are_ordered_by_topic_rank_then_offset() -> None:
    streams = [
        [(MergeKey(7, 1, 0, 3), "agency@3")],
        [(MergeKey(7, 0, 0, 9), "court@9")],
    ]
    assert merge_sorted(streams) == ["court@9", "agency@3"]


def test_a_source_pushed_out_of_order_is_refused() -> None:
    merger: PartitionMerger[str] = PartitionMerger(["court"])
    merger.push("court", MergeKey(5, 0, 0, 1), "b")
    with pytest.raises(ValueError, match="out of order"):
        merger.push("court", MergeKey(4, 0, 0, 0), "a")
