"""The driver between consumed messages and the rules engine, free of faust.

`Processor.handle` takes one consumed message and returns the messages to produce:
derived events (keyed by listing, in the same partition number as their cause) or
one dead-letter message. State lives in three mappings the caller provides: faust
tables in the worker, plain dicts in unit tests.

- `listings`: listing id -> `ListingState.to_dict()` as JSON bytes (immutable: the
  engine updates a loaded state in place, which must not touch the stored value)
- `open_index`: listing id -> {"p": partition, "due": epoch seconds or None} for the
  listings with open obligations only (the compact index a tick walks)
- `clock`: str(partition) -> latest tick instant of that clock partition (ISO, UTC)

The states of the listings met last are also kept as objects (`StateCache`, bounded,
cleared on every rebalance), so an event of a listing seen recently is not parsed back
from JSON: the cached object is the one whose JSON the table holds, and a failed
event drops it (the engine updates states in place), so the next event of that
listing loads the stored value again.

No rule logic lives here: what an event means is `rules.engine`'s business.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from contract.derived import DEADLINE_VIOLATED, SANCTION_STATE_CHANGED
from contract.event import LedgerEvent, Position
from processors.metrics import Metrics
from shixin.topics import Topics

logger = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]

STATE_CACHE_SIZE = 20_000  # listing states kept as objects (most recently met)


class StateCache:
    """The listing states met last, as objects: at most `size`, oldest out first."""

    def __init__(self, size: int = STATE_CACHE_SIZE) -> None:
        self.size = size
        self._states: OrderedDict[str, Any] = OrderedDict()

    def get(self, listing_id: str) -> Any:
        state = self._states.get(listing_id)
        if state is not None:
            self._states.move_to_end(listing_id)
        return state

    def put(self, listing_id: str, state: Any) -> None:
        self._states[listing_id] = state
        self._states.move_to_end(listing_id)
        if len(self._states) > self.size:
            self._states.popitem(last=False)

    def drop(self, listing_id: str) -> None:
        self._states.pop(listing_id, None)

    def clear(self) -> None:
        self._states.clear()

    def __len__(self) -> int:
        return len(self._states)


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed message with its position in the log."""

    topic: str
    partition: int
    offset: int
    broker_time: datetime  # LogAppendTime, tz-aware UTC
    key: bytes | None
    value: bytes | None

    @property
    def position(self) -> Position:
        return Position(self.topic, self.partition, self.offset, self.broker_time)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to produce."""

    topic: str
    key: bytes | None
    value: bytes
    partition: int | None
    headers: Headers
    event: LedgerEvent | None = None  # the derived event `value` encodes, if any


class StateLike(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class Engine(Protocol):
    """What the driver needs from the decision core (`rules.engine`)."""

    def apply(
        self, state: Any, event: LedgerEvent, *, now: datetime | None = None
    ) -> tuple[Any, list[LedgerEvent]]: ...

    def advance(
        self, state: Any, now: datetime, *, cause: LedgerEvent
    ) -> tuple[Any, list[LedgerEvent]]: ...

    def load(self, data: dict[str, Any]) -> Any: ...

    def open_due(self, state: Any) -> tuple[bool, datetime | None]: ...


class Processor:
    """Turns consumed ledger messages into derived messages, keeping state."""

    def __init__(
        self,
        topics: Topics,
        listings: MutableMapping[str, Any],
        open_index: MutableMapping[str, Any],
        clock: MutableMapping[str, Any],
        *,
        engine: Engine | None = None,
        metrics: Metrics | None = None,
        decode: Callable[[bytes], LedgerEvent] | None = None,
        encode: Callable[[LedgerEvent], bytes] | None = None,
        cache_size: int = STATE_CACHE_SIZE,
    ) -> None:
        if engine is None:
            from processors.engine import RulesEngine

            engine = RulesEngine()
        if decode is None or encode is None:
            from contract import codec

            decode = decode or codec.decode
            encode = encode or codec.encode
        self.topics = topics
        self.listings = listings
        self.open_index = open_index
        self.clock = clock
        self.engine = engine
        self.metrics = metrics or Metrics()
        self._decode = decode
        self._encode = encode
        # partition -> {listing id: due epoch or None}: a view of open_index built at
        # the first tick after an assignment, so a tick reads only its partition
        self._due: dict[int, dict[str, float | None]] = {}
        self._states = StateCache(cache_size)

    def forget_partitions(self) -> None:
        """Drop the per-partition views and cached states (call on every
        rebalance: the tables are the truth for partitions that come back)."""
        self._due.clear()
        self._states.clear()

    def _load(self, listing_id: str) -> Any:
        """The listing's state (cached object, else the stored value), or None."""
        state = self._states.get(listing_id)
        if state is not None:
            return state
        stored = self.listings.get(listing_id)
        return None if stored is None else self.engine.load(_stored_state(stored))

    def handle(self, record: Record) -> list[Outgoing]:
        """The messages that consuming `record` produces; never raises for bad input."""
        self.metrics.events[record.topic] += 1
        self.metrics.positions[f"{record.topic}/{record.partition}"] = record.offset + 1

        if not record.value:
            return [self._dead_letter(record, "decode", "empty message value")]
        try:
            event = self._decode(record.value)
        except Exception as exc:  # any undecodable input is parked, never fatal
            return [self._dead_letter(record, "decode", _reason(exc))]
        event = replace(event, position=record.position)

        if record.topic == self.topics.clock:
            return self._on_tick(record, event)
        try:
            return self._on_event(record, event)
        except Exception as exc:  # the engine refused this event: park it, go on
            return [self._dead_letter(record, "engine", _reason(exc), event)]

    def _on_event(self, record: Record, event: LedgerEvent) -> list[Outgoing]:
        listing_id = event.listing_id
        state = self._load(listing_id)

        now = self._now(record.partition)
        try:
            new_state, derived = self.engine.apply(state, event, now=now)
            out = self._derived(record, derived)  # encodes: may raise, before storing
        except Exception:
            self._states.drop(listing_id)  # may be half-updated: reload next time
            raise

        self._store(record.partition, listing_id, new_state)
        self._count(derived)
        return out

    def _on_tick(self, record: Record, tick: LedgerEvent) -> list[Outgoing]:
        partition = record.partition
        instant = tick.occurred_at.astimezone(UTC)
        self.metrics.ticks += 1

        latest = self._now(partition)
        if latest is not None and instant < latest:
            logger.debug(
                "ignored stale tick partition=%d instant=%s latest=%s",
                partition,
                instant.isoformat(),
                latest.isoformat(),
            )
            return []
        if latest != instant:
            self.clock[str(partition)] = instant.isoformat()

        # walk only this partition's listings with an obligation due by the instant
        cutoff = instant.timestamp()
        due_view = self._due_view(partition)
        due = sorted(
            listing_id
            for listing_id, due_at in due_view.items()
            if due_at is None or due_at <= cutoff
        )
        out: list[Outgoing] = []
        for listing_id in due:
            try:
                state = self._load(listing_id)
                if state is None:
                    self._unindex(partition, listing_id)
                    continue
                new_state, derived = self.engine.advance(state, instant, cause=tick)
                messages = self._derived(record, derived)
            except Exception as exc:  # one listing's failure must not stop the tick
                self._states.drop(listing_id)
                reason = f"listing_id={listing_id!r}: {_reason(exc)}"
                out.append(self._dead_letter(record, "engine", reason, tick))
                continue
            self._store(partition, listing_id, new_state)
            self._count(derived)
            self.metrics.listings_advanced += 1
            out.extend(messages)
        return out

    def _now(self, partition: int) -> datetime | None:
        latest = self.clock.get(str(partition))
        return None if latest is None else datetime.fromisoformat(latest)

    def _store(self, partition: int, listing_id: str, state: StateLike) -> None:
        # compact UTF-8 JSON, as json.dumps(ensure_ascii=False, separators=(",",
        # ":")) writes it, at a fraction of the cost; the native state writes the
        # same bytes itself (ListingState.to_json) without building to_dict()
        to_json = getattr(state, "to_json", None)
        self.listings[listing_id] = (
            to_json()
            if to_json is not None
            else orjson.dumps(state.to_dict(), option=orjson.OPT_NON_STR_KEYS)
        )
        self._states.put(listing_id, state)

        is_open, due_at = self.engine.open_due(state)
        if not is_open:
            self._unindex(partition, listing_id)
            return
        entry = {"p": partition, "due": None if due_at is None else due_at.timestamp()}
        if self.open_index.get(listing_id) != entry:
            self.open_index[listing_id] = entry
        view = self._due.get(partition)
        if view is not None:
            view[listing_id] = entry["due"]

    def _unindex(self, partition: int, listing_id: str) -> None:
        if listing_id in self.open_index:
            del self.open_index[listing_id]
        view = self._due.get(partition)
        if view is not None:
            view.pop(listing_id, None)

    def _due_view(self, partition: int) -> dict[str, float | None]:
        view = self._due.get(partition)
        if view is None:
            view = {
                listing_id: entry["due"]
                for listing_id, entry in self.open_index.items()
                if entry["p"] == partition
            }
            self._due[partition] = view
            logger.debug("indexed partition=%d open_listings=%d", partition, len(view))
        return view

    def _derived(self, record: Record, derived: list[LedgerEvent]) -> list[Outgoing]:
        headers = cause_headers(record)
        out = []
        for event in derived:
            topic = (
                self.topics.sanction_state
                if event.event_type == SANCTION_STATE_CHANGED
                else self.topics.deadlines
            )
            out.append(
                Outgoing(
                    topic=topic,
                    key=event.listing_id.encode(),
                    value=self._encode(event),
                    partition=record.partition,
                    headers=headers,
                    event=event,
                )
            )
        return out

    def _count(self, derived: list[LedgerEvent]) -> None:
        for event in derived:
            self.metrics.derived[event.event_type] += 1
            if event.event_type == DEADLINE_VIOLATED:
                self.metrics.violations += 1

    def _dead_letter(
        self,
        record: Record,
        stage: str,
        reason: str,
        event: LedgerEvent | None = None,
    ) -> Outgoing:
        self.metrics.dead_letters += 1
        logger.warning(
            "dead-lettered topic=%s partition=%d offset=%d stage=%s event_id=%s "
            "reason=%s",
            record.topic,
            record.partition,
            record.offset,
            stage,
            None if event is None else event.event_id,
            reason,
        )
        headers = [
            ("dead_letter_stage", stage.encode()),
            ("dead_letter_reason", reason.encode()),
            *cause_headers(record),
        ]
        return Outgoing(
            topic=self.topics.dead_letter,
            key=record.key,
            value=record.value or b"",
            partition=None,
            headers=headers,
        )


def _stored_state(stored: Any) -> dict[str, Any]:
    """A listing state as the table holds it: JSON bytes as written, or the dict a
    table recovered from its changelog hands back (faust decodes changelog values
    with its JSON codec, whatever the table's serializer)."""
    if isinstance(stored, dict):
        return stored
    return dict(orjson.loads(stored))


def cause_headers(record: Record) -> Headers:
    """Position of the ledger message that caused a derived or dead-letter message."""
    return [
        ("cause_topic", record.topic.encode()),
        ("cause_partition", str(record.partition).encode()),
        ("cause_offset", str(record.offset).encode()),
        ("cause_time", record.broker_time.astimezone(UTC).isoformat().encode()),
    ]


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
