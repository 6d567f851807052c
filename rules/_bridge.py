"""What the native core (`rules._native`) takes from Python: the policy and the
calendar as plain data (loaded and validated here, handed over once), and the
reference engine's own helpers for the rare inputs it leaves to Python (instants
before 1992 or past 9999, non-ISO date strings, Unicode digits in an id number, a
listing term whose years are not a plain int or end outside the years 1-9999), so
those give exactly what the Python engine gives, errors included."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, timezone
from typing import Any

import orjson

from contract.event import Actor, LedgerEvent
from rules import _native
from rules import calendar as _calendar
from rules._reference import (
    LEDGER_ACTOR,
    Check,
    RulesError,
    term_last_day,
)
from rules._reference import _birth_date as birth_date
from rules._reference import _end_of_day as end_of_day
from rules._reference import _epoch as epoch
from rules._reference import _instant as instant
from rules._reference import _local_date as local_date
from rules.calendar import LegalCalendar, default_calendar
from rules.courts import court_code
from rules.policy import Policy, default_policy
from rules.state import from_dict_parts

__all__ = [
    "ACTOR_SLOTS",
    "Actor",
    "LEDGER_ACTOR",
    "LEDGER_EVENT_SLOTS",
    "UTC",
    "Check",
    "LedgerEvent",
    "RulesError",
    "birth_date",
    "court_code",
    "date",
    "default_natives",
    "dump_state",
    "end_of_day",
    "epoch",
    "from_dict_parts",
    "fromisoformat",
    "instant",
    "local_date",
    "native_calendar",
    "native_policy",
    "term_last_day",
    "timezone",
    "warn_measure_missing",
]

_engine_logger = logging.getLogger("rules.engine")

# The slot descriptors of LedgerEvent in the order the core sets them (its
# constructor's order): a derived event is allocated and these set, as
# LedgerEvent.__init__ does itself.
_LEDGER_EVENT_FIELDS = (
    "event_id",
    "event_type",
    "listing_id",
    "occurred_at",
    "actor",
    "jurisdiction",
    "payload",
    "source_event_id",
    "seq",
    "correlation_id",
    "causation_id",
    "position",
)
if tuple(f.name for f in dataclasses.fields(LedgerEvent)) != _LEDGER_EVENT_FIELDS:
    raise ImportError(
        "contract.event.LedgerEvent fields changed; rules._native sets "
        f"{_LEDGER_EVENT_FIELDS}"
    )
LEDGER_EVENT_SLOTS = tuple(vars(LedgerEvent)[name] for name in _LEDGER_EVENT_FIELDS)
# what the core reads of an exact Actor, through its slot descriptors
ACTOR_SLOTS = (vars(Actor)["kind"], vars(Actor)["code"])
fromisoformat = date.fromisoformat

# native twins of the Policy / LegalCalendar objects seen, by id (the object is
# kept with its twin, so the id is not reused while cached)
_policies: dict[int, tuple[Policy, _native.Policy]] = {}
_calendars: dict[int, tuple[LegalCalendar, _native.Calendar]] = {}


def dump_state(data: dict[str, Any]) -> bytes:
    """How the processor writes a state (`ListingState.to_json` when the core does
    not write it itself)."""
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


def warn_measure_missing(event_id: str, event_type: str) -> None:
    _engine_logger.warning(
        "rules.measure_missing event_id=%s type=%s", event_id, event_type
    )


def _match(m: Any) -> dict[str, Any]:
    return {
        "event": m.event,
        "where": dict(m.where),
        "present": list(m.present),
        "absent": list(m.absent),
        "guard": m.guard,
        "source": m.source,
        "same_measure": m.same_measure,
        "refers_to_trigger": m.refers_to_trigger,
    }


def native_policy(policy: Policy) -> _native.Policy:
    """The native twin of a validated `Policy` (its rules as plain data)."""
    cached = _policies.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    rules = []
    for bound in policy.rules:
        rule = bound.rule
        rules.append(
            {
                "id": rule.id,
                "source": rule.source,
                "kind": rule.kind,
                "opens": [_match(m) for m in rule.opens],
                "met_by": [_match(m) for m in rule.met_by],
                "acts": [_match(m) for m in rule.acts],
                "limit": None
                if rule.limit is None
                else (rule.limit.value, rule.limit.unit),
                "no_period": rule.no_period,
                "answer_required": rule.answer_required,
                "predicate": rule.predicate,
                "response": rule.response,
                "report": rule.report,
                "per_measure": rule.per_measure,
                "forbidden_acts": list(rule.forbidden_acts),
                "except_jurisdictions": list(rule.except_jurisdictions),
                "obligor": rule.obligor,
                "responsible": rule.responsible,
                "responsible_field": rule.responsible_field,
                "why": rule.why,
                "policy_version": bound.policy_version,
                "jurisdiction": bound.jurisdiction,
                "effective_from": bound.effective_from,
                "effective_to": bound.effective_to,
            }
        )
    native = _native.Policy(rules)
    _policies[id(policy)] = (policy, native)
    return native


def native_calendar(cal: LegalCalendar) -> _native.Calendar:
    """The native twin of a `LegalCalendar`: its layers, the package's tables and
    the years they cover, and its version string."""
    cached = _calendars.get(id(cal))
    if cached is not None and cached[0] is cal:
        return cached[1]
    national = {
        year: (sorted(hol), sorted(work)) for year, (hol, work) in cal._national.items()
    }
    regions = {
        code: (sorted(hol), sorted(work)) for code, (hol, work) in cal._regions.items()
    }
    native = _native.Calendar(
        cal.version,
        national,
        regions,
        _calendar._PACKAGE_FIRST_YEAR,
        _calendar._PACKAGE_LAST_YEAR,
        sorted(_calendar._PACKAGE_HOLIDAYS),
        sorted(_calendar._PACKAGE_WORKDAYS),
    )
    _calendars[id(cal)] = (cal, native)
    return native


def default_natives() -> tuple[_native.Policy, _native.Calendar]:
    """The twins of the packaged policy and calendar (`default_policy()`,
    `default_calendar()`)."""
    return native_policy(default_policy()), native_calendar(default_calendar())
