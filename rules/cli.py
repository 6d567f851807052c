"""`shixin rules evaluate`: run the rules engine over a lifecycles file."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from contract.event import Actor, LedgerEvent
from rules.calendar import CALENDAR_DAYS
from rules.engine import CLOCK_TICK, Check, advance, apply, checks
from rules.state import ListingState

logger = logging.getLogger(__name__)

app = typer.Typer(help="The rules engine (pure decision core).", no_args_is_help=True)


def lifecycle_events(record: dict[str, Any]) -> list[LedgerEvent]:
    """Ledger events of one lifecycle record (format of data/lifecycles.jsonl).

    Uses the shared converter `contract.convert` when it is present; otherwise a
    minimal private adapter (listing_id = lifecycle_id, a DEBTOR_IDENTIFIED event
    first, then one event per act).
    """
    try:
        from contract.convert import parse_line
    except ImportError:  # the converter has not landed in this checkout
        return adapter_events(record)
    events, errors = parse_line("lifecycle", record, "lifecycles")
    if errors:
        raise ValueError("; ".join(str(e) for e in errors))
    return events


def adapter_events(record: dict[str, Any]) -> list[LedgerEvent]:
    """The private adapter: LedgerEvents straight from a lifecycle record."""
    lifecycle_id = record["lifecycle_id"]
    jurisdiction = str(record.get("jurisdiction") or "CN").split(" ", 1)[0]
    raw_events = record["events"]
    if not raw_events:
        raise ValueError(
            f"lifecycle {lifecycle_id!r}: field 'events' is empty; expected acts"
        )
    first_at = _parse_instant(raw_events[0]["at"], lifecycle_id, "events[0].at")
    events = [
        LedgerEvent(
            event_id=f"{lifecycle_id}-DEBTOR",
            event_type="DEBTOR_IDENTIFIED",
            listing_id=lifecycle_id,
            occurred_at=first_at,
            actor=Actor(kind="COURT"),
            jurisdiction=jurisdiction,
            payload={"debtor": record.get("debtor") or {}},
            source_event_id=f"{lifecycle_id}-DEBTOR",
            seq=0,
            correlation_id=lifecycle_id,
        )
    ]
    for index, raw in enumerate(raw_events):
        actor = raw.get("actor") or {}
        events.append(
            LedgerEvent(
                event_id=raw["event_id"],
                event_type=raw["type"],
                listing_id=lifecycle_id,
                occurred_at=_parse_instant(
                    raw["at"], lifecycle_id, f"events[{index}].at"
                ),
                actor=Actor(
                    kind=actor.get("kind", "UNKNOWN"),
                    code=actor.get("code"),
                    name=actor.get("name"),
                ),
                jurisdiction=jurisdiction,
                payload=raw.get("payload") or {},
                source_event_id=raw["event_id"],
                seq=raw.get("seq"),
                correlation_id=lifecycle_id,
            )
        )
    return events


def _parse_instant(text: str, record: str, field_name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"lifecycle {record!r}: field {field_name!r} is {text!r}; expected ISO-8601"
        ) from exc
    if value.tzinfo is None:
        raise ValueError(
            f"lifecycle {record!r}: field {field_name!r} is {text!r}; "
            "expected a time zone"
        )
    return value


def tick(listing_id: str, jurisdiction: str, at: datetime) -> LedgerEvent:
    """A clock tick for one listing (what the timekeeper writes to the clock topic)."""
    return LedgerEvent(
        event_id=f"tick-{at.isoformat()}",
        event_type=CLOCK_TICK,
        listing_id=listing_id,
        occurred_at=at,
        actor=Actor(kind="SYSTEM", code="timekeeper"),
        jurisdiction=jurisdiction,
    )


def evaluate_record(
    record: dict[str, Any], at: datetime | None = None, *, use_converter: bool = True
) -> tuple[ListingState, list[Check]]:
    """Fold one lifecycle through the engine, then a clock tick at `at` (every act
    is folded, whatever its date: as the live worker does with a tick published
    after the acts); return its state and check rows."""
    events = lifecycle_events(record) if use_converter else adapter_events(record)
    return _fold(events, at)


def evaluate_as_of(
    record: dict[str, Any], at: datetime
) -> tuple[ListingState | None, list[Check], int]:
    """The lifecycle as it stood at `at`: only the acts that took effect by then,
    and the clock at `at`. Returns the state (None if no act had taken effect), the
    check rows (obligations still open or overdue then included) and how many acts
    were left out for taking effect later."""
    events = lifecycle_events(record)
    known = [e for e in events if e.occurred_at <= at]
    if not known:
        return None, [], len(events)
    state, rows = _fold(known, at)
    return state, rows, len(events) - len(known)


def _fold(
    events: list[LedgerEvent], at: datetime | None
) -> tuple[ListingState, list[Check]]:
    state: ListingState | None = None
    for event in events:
        state, _ = apply(state, event)
    assert state is not None
    if at is not None:
        state, _ = advance(
            state, at, cause=tick(state.listing_id, state.jurisdiction, at)
        )
    return state, checks(state, include_open=at is not None)


def check_json(lifecycle_id: str, check: Check) -> dict[str, Any]:
    deadline: dict[str, str] | None = None
    if check.deadline is not None:
        unit = (
            "CALENDAR_DAYS_CPL_ART85"
            if check.limit_unit == CALENDAR_DAYS
            else str(check.limit_unit)
        )
        deadline = {unit: check.deadline.isoformat()}
    row: dict[str, Any] = {
        "lifecycle_id": lifecycle_id,
        "rule_id": check.rule_id,
        "trigger_event": check.trigger_event,
        "response_event": check.response_event,
        "verdict": check.verdict,
        "deadline": deadline,
        "why": check.why,
    }
    if check.provisional:
        row["provisional"] = True
    return row


def read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, lifecycle record) of every record of `path`, or (line, why it cannot
    be evaluated) for one that is not a lifecycle: read by the publisher's own
    reader (`producers.inputs`: JSON lines or CSV, UTF-8, duplicate keys refused),
    so a bad line is reported and the rest of the file still evaluated."""
    from producers.inputs import LIFECYCLE, UnreadableFileError
    from producers.inputs import read_records as read_input

    try:
        for record in read_input(path):
            if record.reject is not None:
                reject = record.reject
                field = "" if reject.field in ("", "(line)") else f"{reject.field}: "
                yield record.line, f"{field}{reject.reason}"
            elif record.kind != LIFECYCLE or record.obj is None:
                yield record.line, "not a lifecycle (lifecycle_id and events)"
            else:
                yield record.line, record.obj
    except UnreadableFileError as exc:
        yield exc.reject.line, exc.reject.reason


FileArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="lifecycles JSONL")
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Evaluate as of this instant (ISO-8601 with time zone): acts that "
        "took effect later are left out, and obligations still open or overdue "
        "then are reported too.",
    ),
]


@app.command("evaluate")
def evaluate(
    file: FileArg,
    at: AtOption = None,
) -> None:
    """Print one JSON line per check of every lifecycle in FILE."""
    instant: datetime | None = None
    if at is not None:
        try:
            instant = datetime.fromisoformat(at)
        except ValueError:
            raise typer.BadParameter(f"--at {at!r} is not ISO-8601") from None
        if instant.tzinfo is None:
            raise typer.BadParameter(
                f"--at {at!r} has no time zone; expected e.g. +08:00"
            )
        from contract.inputs import LEDGER_YEARS, in_ledger_years

        if not in_ledger_years(instant):
            raise typer.BadParameter(f"--at {at!r}: expected an instant {LEDGER_YEARS}")
    failed = later = 0
    for number, record in read_records(file):
        if isinstance(record, str):
            typer.echo(f"{file}:{number}: {record}", err=True)
            failed += 1
            continue
        lifecycle_id = str(record.get("lifecycle_id", f"line {number}"))
        try:
            if instant is None:
                _, rows = evaluate_record(record)
            else:
                _, rows, left_out = evaluate_as_of(record, instant)
                later += left_out
        except (KeyError, ValueError, OverflowError) as exc:
            typer.echo(f"{file}:{number} {lifecycle_id}: {exc}", err=True)
            failed += 1
            continue
        for row in rows:
            sys.stdout.write(
                json.dumps(
                    check_json(lifecycle_id, row),
                    ensure_ascii=False,
                    default=_json_default,
                )
                + "\n"
            )
    if later:
        typer.echo(
            f"{later} act(s) of {file} took effect after --at {at} and were left out",
            err=True,
        )
    if failed:
        typer.echo(f"{failed} record(s) of {file} not evaluated", err=True)
        raise typer.Exit(1)


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")
