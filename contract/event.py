"""The in-memory form of one ledger event, as every driver hands it to the rules
engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performed the act: a court, an agency, a publisher, the debtor, ..."""

    kind: str  # COURT, AGENCY, PLATFORM, REPUBLISHER, DEBTOR, APPLICANT, SYSTEM, ...
    code: str | None = None  # court code (闽0203) or agency code (RAILWAY)
    name: str | None = None


# Default of `LedgerEvent.payload`: replaced by a new empty dict per event.
_NEW_DICT: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Position:
    """Where the ledger recorded an event: the knowledge coordinate of bitemporal rows.

    `broker_time` is the topic's LogAppendTime, so a producer cannot backdate it.
    """

    topic: str
    partition: int
    offset: int
    broker_time: datetime  # tz-aware UTC


@dataclass(frozen=True, slots=True, init=False)
class LedgerEvent:
    """One legal act (or a clock tick) as the decision core sees it.

    `event_type` uses the input vocabulary (`LISTING_SHIELDED`, `SANCTION_APPLIED`,
    `CLOCK_TICK`, ...); `payload` holds the type's own fields under the names the
    court files use (`measure_code`, `refers_to`, ...). `source_event_id` is the id
    the submitting system gave the act (`LC-001-E10`); `refers_to` values in payloads
    point at source event ids.
    """

    event_id: str
    event_type: str
    listing_id: str
    occurred_at: datetime  # tz-aware, when the legal act took effect
    actor: Actor
    jurisdiction: str  # e.g. "CN-35"
    payload: Mapping[str, Any] = field(default_factory=dict)
    source_event_id: str | None = None
    seq: int | None = None  # order of the act within its source record, if given
    correlation_id: str | None = None
    causation_id: str | None = None
    position: Position | None = None  # set by the driver that read it from the log

    def __init__(
        self,
        event_id: str,
        event_type: str,
        listing_id: str,
        occurred_at: datetime,
        actor: Actor,
        jurisdiction: str,
        payload: Mapping[str, Any] = _NEW_DICT,
        source_event_id: str | None = None,
        seq: int | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        position: Position | None = None,
    ) -> None:
        # The dataclass's own frozen __init__ sets each field by a generic
        # object.__setattr__; the slots' own setters do the same in half the time
        # (an event is made once per act read or derived).
        _set_event_id(self, event_id)
        _set_event_type(self, event_type)
        _set_listing_id(self, listing_id)
        _set_occurred_at(self, occurred_at)
        _set_actor(self, actor)
        _set_jurisdiction(self, jurisdiction)
        _set_payload(self, {} if payload is _NEW_DICT else payload)
        _set_source_event_id(self, source_event_id)
        _set_seq(self, seq)
        _set_correlation_id(self, correlation_id)
        _set_causation_id(self, causation_id)
        _set_position(self, position)


_SLOTS = vars(LedgerEvent)
_set_event_id = _SLOTS["event_id"].__set__
_set_event_type = _SLOTS["event_type"].__set__
_set_listing_id = _SLOTS["listing_id"].__set__
_set_occurred_at = _SLOTS["occurred_at"].__set__
_set_actor = _SLOTS["actor"].__set__
_set_jurisdiction = _SLOTS["jurisdiction"].__set__
_set_payload = _SLOTS["payload"].__set__
_set_source_event_id = _SLOTS["source_event_id"].__set__
_set_seq = _SLOTS["seq"].__set__
_set_correlation_id = _SLOTS["correlation_id"].__set__
_set_causation_id = _SLOTS["causation_id"].__set__
_set_position = _SLOTS["position"].__set__
