"""An in-process ledger for tests, demos and benchmarks: input records become ledger
events at synthetic log positions, and the rules engine's derived events ride along
with the position of their cause, exactly as `apply_batch` receives them from Kafka.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contract.convert import parse_or_raise
from contract.event import LedgerEvent, Position
from contract.vocab import FAMILY_OF
from shixin.settings import Settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

# Broker times of the synthetic log start here, one millisecond apart.
LOG_START = datetime(2026, 1, 1, tzinfo=UTC)


def read_inputs(listings: Path, lifecycles: Path) -> list[LedgerEvent]:
    """Ledger events of the input files, listings first, in file order."""
    events: list[LedgerEvent] = []
    for kind, path in (("listing", listings), ("lifecycle", lifecycles)):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    where = f"{path.name}:{number}"
                    events.extend(parse_or_raise(kind, json.loads(line), where))  # type: ignore[arg-type]
    return events


class SyntheticLog:
    """Assigns log positions the way the broker would: a topic per family, a
    partition per listing, consecutive offsets, increasing broker times."""

    def __init__(
        self, topics: Topics, partitions: int = 6, start: datetime = LOG_START
    ):
        self.topics = topics
        self.partitions = partitions
        self.clock = start
        self.offsets: dict[tuple[str, int], int] = {}

    def topic_of(self, event: LedgerEvent) -> str:
        family = FAMILY_OF.get(event.event_type, "court")
        return getattr(self.topics, family)

    def place(self, event: LedgerEvent) -> Position:
        topic = self.topic_of(event)
        partition = zlib.crc32(event.listing_id.encode("utf-8")) % self.partitions
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        self.clock += timedelta(milliseconds=1)
        return Position(topic, partition, offset, self.clock)


def with_derived(
    events: Iterable[LedgerEvent], log: SyntheticLog
) -> Iterator[tuple[LedgerEvent, Position]]:
    """Each ledger event at its position, followed by the derived events the rules
    engine gives for it (positioned at their cause)."""
    from rules import engine

    states: dict[str, Any] = {}
    for event in events:
        position = log.place(event)
        yield event, position
        state, derived = engine.apply(states.get(event.listing_id), event)
        states[event.listing_id] = state
        for d in derived:
            yield d, position


def sample_items(
    root: Path, settings: Settings | None = None
) -> list[tuple[LedgerEvent, Position]]:
    """The sample data of `root/data` as a positioned stream, engine output included."""
    topics = Topics.for_settings(settings or Settings())
    events = read_inputs(
        root / "data" / "listings.jsonl", root / "data" / "lifecycles.jsonl"
    )
    return list(with_derived(events, SyntheticLog(topics)))
