"""The one order in which a replay reads the ledger: by broker time across topics.

Court, agency, publisher and clock topics are co-partitioned, so everything about a
listing lies in one partition number of each. The replay interleaves the four
partitions of one number by the broker's LogAppendTime, then by a fixed topic rank,
then by offset. That order is a property of the log alone, so two replays of the same
log on any machine see the events in the same order.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(order=True, frozen=True, slots=True)
class MergeKey:
    """Sort key of a record in the replay order."""

    broker_time_ms: int
    topic_rank: int
    partition: int
    offset: int


@dataclass
class _Source(Generic[T]):
    rank: int
    buffer: deque[tuple[MergeKey, T]] = field(default_factory=deque)
    exhausted: bool = False


class PartitionMerger(Generic[T]):
    """Merges records of several topic-partitions into the replay order.

    Records are pushed per source as they are fetched; `pop_ready` yields a record
    only once every source that is not exhausted has a record buffered, so a record
    fetched later can never belong before one already yielded.
    """

    def __init__(self, sources: Sequence[str]) -> None:
        self._sources = {name: _Source[T](rank) for rank, name in enumerate(sources)}

    def rank(self, source: str) -> int:
        return self._sources[source].rank

    def push(self, source: str, key: MergeKey, item: T) -> None:
        src = self._sources[source]
        if src.buffer and key < src.buffer[-1][0]:
            raise ValueError(
                f"records of source {source!r} pushed out of order: {key} after "
                f"{src.buffer[-1][0]}"
            )
        src.buffer.append((key, item))

    def exhaust(self, source: str) -> None:
        """No more records will come from this source (end offset reached)."""
        self._sources[source].exhausted = True

    def buffered(self, source: str) -> int:
        return len(self._sources[source].buffer)

    def pop_ready(self) -> Iterator[tuple[MergeKey, T]]:
        """Yield, in order, every record that no later fetch can precede."""
        while True:
            heads: list[tuple[MergeKey, str]] = []
            for name, src in self._sources.items():
                if src.buffer:
                    heads.append((src.buffer[0][0], name))
                elif not src.exhausted:
                    return  # a record may still arrive from this source
            if not heads:
                return
            _, name = min(heads)
            yield self._sources[name].buffer.popleft()

    @property
    def done(self) -> bool:
        return all(s.exhausted and not s.buffer for s in self._sources.values())


def merge_sorted(streams: Sequence[Sequence[tuple[MergeKey, T]]]) -> list[T]:
    """Merge already-sorted streams at once (used by tests and small replays)."""
    return [item for _, item in heapq.merge(*streams, key=lambda pair: pair[0])]
