"""Converters from validated input records to ledger events.

`parse_line(kind, obj, where)` is what a producer calls per input line: it returns the
events of the record, or no events and every problem found. Nothing of a rejected
record is converted.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from contract import identifiers
from contract.consistency import lifecycle_problems, listing_problems
from contract.errors import InputError, InputRejected
from contract.event import Actor, LedgerEvent
from contract.ids import event_id, listing_id
from contract.inputs import (
    LifecycleIn,
    ListingIn,
    clean,
    conduct_codes,
    input_errors,
    payload_validator,
)
from contract.vocab import DEBTOR_IDENTIFIED, LISTING_RECORD_PUBLISHED, PROVINCE_OF_NAME

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
PLATFORM = Actor(kind="PLATFORM", name="中国执行信息公开网")

Kind = Literal["listing", "lifecycle"]


def _drop_nulls(value: Any) -> Any:
    if type(value) is dict:
        for item in value.values():
            if item is None or type(item) in _CONTAINERS:
                break
        else:
            return value  # nothing to drop; the validators made a new dict
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


_CONTAINERS = frozenset({dict, list})


def jurisdiction_of(case_number: str, province: str | None) -> str | None:
    """CN-xx from the court code of the case number, else from the province name."""
    code = identifiers.province_of_case_number(case_number)
    if code is None and province is not None:
        code = PROVINCE_OF_NAME.get(province)
    return f"CN-{code}" if code else None


# Listings


def listing_events(record: ListingIn, where: str = "listing") -> list[LedgerEvent]:
    """The snapshot event of one published entry."""
    jurisdiction = jurisdiction_of(record.case_number, record.province)
    if jurisdiction is None:
        raise InputRejected(
            [
                InputError(
                    record=where,
                    field="case_number",
                    value=record.case_number,
                    expected="a court code or province that names the jurisdiction",
                )
            ]
        )
    codes, version = conduct_codes(record.dishonest_conduct, record.publish_date)
    key = listing_id(record.case_number, record.card_number)
    source = f"PLATFORM-{record.platform_record_id}"
    payload = record.model_dump(exclude={"synthetic"}, exclude_none=True)
    payload["conduct_codes"] = codes
    payload["conduct_label_version"] = version
    payload["entity_type"] = (
        "NATURAL_PERSON" if "*" in record.card_number else "LEGAL_PERSON"
    )
    # The one field of `_synthetic` that is a fact of the entry, not ground truth:
    # `published: false` marks an entry decided but not publishable (LC-038).
    published = (record.synthetic or {}).get("published")
    if isinstance(published, bool):
        payload["published"] = published
    return [
        LedgerEvent(
            event_id=event_id(key, LISTING_RECORD_PUBLISHED, source),
            event_type=LISTING_RECORD_PUBLISHED,
            listing_id=key,
            occurred_at=datetime.combine(record.publish_date, time(0), SHANGHAI),
            actor=PLATFORM,
            jurisdiction=jurisdiction,
            payload=payload,
            source_event_id=source,
        )
    ]


# Lifecycles


@lru_cache(maxsize=4096)
def _actor(kind: str, code: str | None, name: str | None) -> Actor:
    # Actors are immutable and repeat from event to event: made once each.
    return Actor(kind=kind, code=code, name=name)


def _event_record(where: str, event: dict[str, Any]) -> str:
    return f"{where} event {event['event_id']}"


def _validate_payloads(
    raw: dict[str, Any], where: str
) -> tuple[list[dict[str, Any]], list[InputError]]:
    payloads: list[dict[str, Any]] = []
    errors: list[InputError] = []
    seen: set[str] = set()
    last_seq = -1
    debtor_type = raw["debtor"]["entity_type"]
    for index, event in enumerate(raw["events"]):
        if event["event_id"] in seen:
            errors.append(
                InputError(
                    _event_record(where, event),
                    f"events.{index}.event_id",
                    event["event_id"],
                    "a unique event id",
                )
            )
        seen.add(event["event_id"])
        if event["seq"] <= last_seq:
            errors.append(
                InputError(
                    _event_record(where, event),
                    f"events.{index}.seq",
                    event["seq"],
                    f"a seq above {last_seq}",
                )
            )
        last_seq = event["seq"]
        said = event["actor"].get("entity_type")
        if said is not None and said != debtor_type:
            errors.append(
                InputError(
                    _event_record(where, event),
                    f"events.{index}.actor.entity_type",
                    said,
                    f"the debtor's entity type {debtor_type}",
                )
            )
        try:
            payload = payload_validator(event["type"])(event["payload"])
        except ValidationError as exc:
            location = ("events", index, "payload")
            errors.extend(input_errors(exc, _event_record(where, event), location))
            continue
        payloads.append(_drop_nulls(payload))
    return payloads, errors


def lifecycle_events(
    record: LifecycleIn, payloads: list[dict[str, Any]]
) -> list[LedgerEvent]:
    """A `DEBTOR_IDENTIFIED` event, then one event per act of the lifecycle."""
    debtor = record.debtor
    key = listing_id(record.case_number, debtor.published_card_number)
    correlation = record.lifecycle_id
    first = record.events[0]
    identified_source = f"{record.lifecycle_id}-DEBTOR"
    identity = LedgerEvent(
        event_id=event_id(key, DEBTOR_IDENTIFIED, identified_source),
        event_type=DEBTOR_IDENTIFIED,
        listing_id=key,
        occurred_at=first.at,
        actor=_actor(first.actor.kind, first.actor.code, first.actor.name),
        jurisdiction=record.jurisdiction,
        payload=_drop_nulls(
            {
                "lifecycle_id": record.lifecycle_id,
                "platform_record_id": record.platform_record_id,
                "case_number": record.case_number,
                "debtor": debtor.model_dump(exclude_none=True),
                "timezone": record.timezone,
                "scenario": record.scenario,
                "summary": record.summary,
            }
        ),
        source_event_id=identified_source,
        seq=0,
        correlation_id=correlation,
    )

    type_of = {e.event_id: e.type for e in record.events}
    jurisdiction = record.jurisdiction
    events = [identity]
    for event, payload in zip(record.events, payloads, strict=True):
        refers_to = payload.get("refers_to")
        cause = (
            event_id(key, type_of[refers_to], refers_to)
            if refers_to in type_of
            else None
        )
        actor = event.actor
        source = event.event_id
        # Positional, in LedgerEvent's field order (this runs once per event).
        events.append(
            LedgerEvent(
                event_id(key, event.type, source),  # event_id
                event.type,  # event_type
                key,  # listing_id
                event.at,  # occurred_at
                _actor(actor.kind, actor.code, actor.name),
                jurisdiction,
                payload,
                source,  # source_event_id
                event.seq,
                correlation,  # correlation_id
                cause,  # causation_id
            )
        )
    return events


def _add_publish_dates(payloads: list[dict[str, Any]], record: LifecycleIn) -> None:
    # LISTING_PUBLISHED shows its date as text; add the parsed date next to it.
    for event, payload in zip(record.events, payloads, strict=True):
        shown = payload.get("publish_date_shown")
        if (
            event.type == "LISTING_PUBLISHED"
            and shown
            and "publish_date" not in payload
        ):
            parsed = identifiers.parse_published_date(shown)
            if parsed is not None:
                payload["publish_date"] = parsed


def parse_line(
    kind: Kind, obj: Any, where: str
) -> tuple[list[LedgerEvent], list[InputError]]:
    """Events of one input record, or ([], problems) when it is rejected."""
    if not isinstance(obj, dict):
        return [], [InputError(where, "(record)", obj, "a JSON object")]
    # The sample files' expected verdicts (`checks`) are test oracles, never
    # encoded: passed through as they are, not cleaned string by string.
    oracles = obj.get("checks") if kind == "lifecycle" else None
    if oracles is None:
        obj = clean(obj)
    else:
        obj = clean({k: v for k, v in obj.items() if k != "checks"})
        obj["checks"] = oracles
    try:
        if kind == "listing":
            listing = ListingIn.model_validate(obj)
            errors = listing_problems(
                where,
                listing.case_number,
                listing.province,
                listing.executing_court,
                listing.filing_date,
                listing.publish_date,
                obj.get("publish_date"),
            )
            if errors:
                return [], errors
            return listing_events(listing, where), []
        if kind != "lifecycle":
            raise ValueError(
                f"unknown input kind {kind!r}, expected listing or lifecycle"
            )
        name = f"{where} {obj.get('lifecycle_id', '?')}"
        lifecycle = LifecycleIn.model_validate(obj)
    except ValidationError as exc:
        if kind == "lifecycle":
            return [], input_errors(exc, f"{where} {obj.get('lifecycle_id', '?')}")
        return [], input_errors(exc, where)
    except InputRejected as exc:
        return [], exc.errors

    payloads, errors = _validate_payloads(obj, name)
    if errors:
        return [], errors
    errors = lifecycle_problems(name, lifecycle, obj, payloads)
    if errors:
        return [], errors
    _add_publish_dates(payloads, lifecycle)
    return lifecycle_events(lifecycle, payloads), []


def parse_or_raise(kind: Kind, obj: Any, where: str) -> list[LedgerEvent]:
    events, errors = parse_line(kind, obj, where)
    if errors:
        raise InputRejected(errors)
    return events
