"""Sample events, one per event type: for tests, golden files and benchmarks.

Input-derived types come from the sample files in `data/` (first occurrence of each
type); clock and derived events are built here.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from contract import derived
from contract.convert import parse_or_raise
from contract.event import Actor, LedgerEvent
from contract.ids import event_id
from contract.vocab import CLOCK_TICK

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
LEDGER = Actor(kind="LEDGER", code="rules-engine")


def data_events(data_dir: Path = DATA_DIR) -> list[LedgerEvent]:
    """Every event of the sample listings and lifecycles."""
    events: list[LedgerEvent] = []
    for kind, name in (
        ("listing", "listings.jsonl"),
        ("lifecycle", "lifecycles.jsonl"),
    ):
        with (data_dir / name).open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                events += parse_or_raise(kind, json.loads(line), f"{name}:{number}")  # type: ignore[arg-type]
    return events


def _derived(event_type: str, payload: object, listing: str, cause: str) -> LedgerEvent:
    return LedgerEvent(
        event_id=event_id(listing, event_type, cause),
        event_type=event_type,
        listing_id=listing,
        occurred_at=datetime(2024, 4, 15, 2, 0, 0, 123000, tzinfo=UTC),
        actor=LEDGER,
        jurisdiction="CN-35",
        payload=asdict(payload),  # type: ignore[call-overload]
        causation_id=cause,
    )


def built_events() -> list[LedgerEvent]:
    """A clock tick and one event of each derived type."""
    listing = "（2024）闽0203执100号|3502111983****2073"
    cause = "5a0e8f2e-0000-5000-8000-000000000001"
    obligation = derived.Obligation(
        obligation_id=f"{listing}|SPC2017.ART10.DELETE_3WD|LC-024-E10",
        rule_id="SPC2017.ART10.DELETE_3WD",
        rule_source="法释〔2017〕7号 第十条",
        policy_version="spc-2017.1",
        obligor="AUTHORITY",
        responsible_kind="COURT",
        responsible_code="闽0203",
        trigger_event="LC-024-E10",
        triggered_at=datetime(2024, 4, 9, 1, 30, tzinfo=UTC),
        limit_value=3,
        limit_unit="WORKING_DAYS",
        due_date=date(2024, 4, 12),
        due_at=datetime(2024, 4, 12, 16, 0, tzinfo=UTC),
        provisional=False,
        calendar_version="chinese-calendar-1.11.0",
        why="delete (shield) within 3 working days",
    )
    tick = LedgerEvent(
        event_id=event_id("clock:3", CLOCK_TICK, "2024-04-15T02:00:00Z"),
        event_type=CLOCK_TICK,
        listing_id="clock:3",
        occurred_at=datetime(2024, 4, 15, 2, 0, tzinfo=UTC),
        actor=Actor(kind="SYSTEM", code="timekeeper"),
        jurisdiction="CN-35",
        payload={
            "instant": datetime(2024, 4, 15, 2, 0, tzinfo=UTC),
            "calendar_version": "chinese-calendar-1.11.0",
            "partition": 3,
        },
    )
    return [
        tick,
        _derived(
            derived.SANCTION_STATE_CHANGED,
            derived.SanctionStateChanged(
                agency="RAILWAY",
                measure_code="RAILWAY.TRAIN_RESTRICTION",
                state="RETAINED",
                previous_state="APPLIED",
                since=datetime(2024, 4, 16, 1, 0, tzinfo=UTC),
                reason="retained after shielding",
                legal_basis="部门规章（示例）",
                retained_until=date(2024, 10, 16),
                trigger_event="LC-024-E12",
            ),
            listing,
            cause,
        ),
        _derived(
            derived.DEADLINE_OPENED, derived.DeadlineOpened(obligation), listing, cause
        ),
        _derived(
            derived.DEADLINE_MET,
            derived.DeadlineMet(
                obligation=obligation,
                response_event="LC-024-E11",
                answered_at=datetime(2024, 4, 15, 1, 0, tzinfo=UTC),
                verdict="VIOLATION",
                late=True,
                elapsed_calendar_days=6,
                elapsed_working_days=4,
            ),
            listing,
            cause,
        ),
        _derived(
            derived.DEADLINE_VIOLATED,
            derived.DeadlineViolated(
                obligation=obligation,
                verdict="VIOLATION",
                detected_by="TICK",
                response_event=None,
                actual_date=None,
                reason="not shielded by 2024-04-12",
            ),
            listing,
            cause,
        ),
    ]


def sample_events(data_dir: Path = DATA_DIR) -> dict[str, LedgerEvent]:
    """One event per event type (the first one seen in the data)."""
    samples: dict[str, LedgerEvent] = {}
    for event in data_events(data_dir) + built_events():
        samples.setdefault(event.event_type, event)
    return samples


def as_jsonable(value: object) -> object:
    """A JSON-ready form of an event or value: instants in UTC ISO, dates ISO, amounts
    as strings; used by the golden files."""
    from dataclasses import fields, is_dataclass
    from decimal import Decimal

    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): as_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_jsonable(v) for v in value]
    return value
