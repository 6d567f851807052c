"""The in-memory form of one ledger event, as every driver hands it to the rules
engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performed the act: a court, an agency, a publisher, the debtor, ..."""

    kind: str  # COURT, AGENCY, PLATFORM, REPUBLISHER, DEBTOR, APPLICANT, SYSTEM, ...
    code: str | None = None  # court code (闽0203) or agency code (RAILWAY)
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where the ledger recorded an event: the knowledge coordinate of bitemporal rows.

    `broker_time` is the topic's LogAppendTime, so a producer cannot backdate it.
    """

    topic: str
    partition: int
    offset: int
    broker_time: datetime  # tz-aware UTC


@dataclass(frozen=True, slots=True)
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
