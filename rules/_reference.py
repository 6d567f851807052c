"""The rules engine in pure Python: the reference the native core (rules/native,
`rules._native`) ports function by function, kept for the differential test
(tests/test_rules_native.py) and as the specification. `rules.engine` is the public
API and runs the native core; this module works on `rules.state.PyListingState`.

The rules engine: what a listing's events mean, as pure functions.

    apply(state, event, now=...)      -> (state, derived events)
    advance(state, now, cause=tick)   -> (state, derived events)
    checks(state)                     -> the check rows (one rule against one trigger)

The engine orders a listing's events itself by (occurred_at, seq, event_id), so the
result is a function of the SET of events seen (duplicates by event_id ignored) and
the latest clock instant, whatever the arrival order. An event that arrives in order
is folded incrementally; one that arrives out of order re-folds the sorted list.
Derived events are the diff between the outcomes before and after. No wall clock, no
host time zone: local dates are Asia/Shanghai, overdue is decided by clock ticks only.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from contract.derived import (
    COMPLIANT,
    DEADLINE_MET,
    DEADLINE_OPENED,
    DEADLINE_VIOLATED,
    IN_TIME,
    NO_NUMERIC_DEADLINE,
    OPEN,
    OUT_OF_TIME,
    OVERDUE,
    SANCTION_STATE_CHANGED,
    VIOLATION,
)
from contract.derived import WITHDRAWN as WITHDRAWN_VERDICT
from contract.event import Actor, LedgerEvent
from rules.calendar import SHANGHAI, LegalCalendar, add_months, default_calendar
from rules.courts import court_code
from rules.policy import BoundRule, Match, Policy, default_policy
from rules.state import (
    APPLIED,
    DELETED,
    EXIT_STATUSES,
    KEPT_PAYLOAD_KEYS,
    LISTED,
    RELEASED,
    RETAINED,
    REVOKED,
    SHIELDED,
    SUSPENDED,
    CompactEvent,
    new_fold,
)
from rules.state import PyListingState as ListingState

logger = logging.getLogger(__name__)

CLOCK_TICK = "CLOCK_TICK"
LEDGER_ACTOR = Actor(kind="LEDGER", code="rules-engine")
_NAMESPACE = uuid.UUID(
    "6f1c2a4e-5b7d-4c1e-9a3f-2d8e7b6c5a41"
)  # shixin-ledger derived ids

_EXIT_EVENTS = {
    "LISTING_SHIELDED": SHIELDED,
    "LISTING_REVOKED": REVOKED,
    "LISTING_DELETED": DELETED,
    "EARLY_DELETION_DECIDED": DELETED,
}
_MEASURE_EVENTS = {
    "SANCTION_APPLIED": APPLIED,
    "SANCTION_RESUMED": APPLIED,
    "SANCTION_SUSPENDED": SUSPENDED,
    "SANCTION_RELEASED": RELEASED,
    "SANCTION_RETAINED": RETAINED,
}


class RulesError(ValueError):
    """An event cannot be evaluated (it names what is wrong with it)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One rule checked against one trigger: the row of `shixin rules evaluate`."""

    listing_id: str
    rule_id: str
    source: str
    trigger_event: str | None
    response_event: str | None
    verdict: str
    deadline: date | None
    limit_value: int | None
    limit_unit: str | None
    obligor: str
    responsible_kind: str
    responsible_code: str | None
    why: str
    provisional: bool
    calendar_version: str | None
    elapsed_calendar_days: int | None
    elapsed_working_days: int | None


# --- time ---------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def _epoch(instant: datetime) -> int:
    """Whole epoch seconds of an aware instant (floored)."""
    if instant.tzinfo is None:
        raise RulesError(
            f"instant {instant.isoformat()!r} has no time zone; expected aware"
        )
    return (instant - _EPOCH) // _SECOND


@lru_cache(maxsize=262_144)
def _local_date(ts: int) -> date:
    return datetime.fromtimestamp(ts, SHANGHAI).date()


@lru_cache(maxsize=65_536)
def _end_of_day(d: date) -> int:
    """Epoch seconds of 24:00 Asia/Shanghai on `d`."""
    return int(
        datetime.combine(d + timedelta(days=1), time(0), tzinfo=SHANGHAI).timestamp()
    )


@lru_cache(maxsize=262_144)
def _instant(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@lru_cache(maxsize=65_536)
def _iso_date(text: str) -> date:
    return date.fromisoformat(text)


def _jurisdiction(value: str) -> str:
    return value.split(" ", 1)[0] if value else "CN"


# --- public API -----------------------------------------------------------------


def apply(
    state: ListingState | None,
    event: LedgerEvent,
    *,
    now: datetime | None = None,
    policy: Policy | None = None,
    calendar: LegalCalendar | None = None,
) -> tuple[ListingState, list[LedgerEvent]]:
    """Fold one ledger event into the listing's state; return the derived events."""
    if event.event_type == CLOCK_TICK:
        if state is None:
            state = ListingState(event.listing_id, _jurisdiction(event.jurisdiction))
        return advance(
            state, event.occurred_at, cause=event, policy=policy, calendar=calendar
        )

    policy = policy or default_policy()
    calendar = calendar or default_calendar()
    if state is None:
        state = ListingState(event.listing_id, _jurisdiction(event.jurisdiction))
    elif event.listing_id != state.listing_id:
        raise RulesError(
            f"event {event.event_id!r} has listing_id {event.listing_id!r}; "
            f"expected {state.listing_id!r}"
        )
    now_moved = False
    if now is not None and (state.now is None or _epoch(now) > state.now):
        state.now = _epoch(now)
        now_moved = True
    if state.has_event(event.event_id):
        # a redelivery (e.g. after a crash between storing the state and producing
        # the output): re-emit what this event caused, with the same ids
        out = _redeliver(state, event, policy, calendar)
        logger.debug(
            "rules.duplicate listing_id=%s event_id=%s reemitted=%d",
            state.listing_id,
            event.event_id,
            len(out),
        )
        if now_moved:
            state.touched = None
            out.extend(_diff(state, event, policy, calendar))
        return state, out

    compact = _compact(event)
    state.remember(event.event_id)
    changes_before = len(state.fold["changes"])
    old_fold: dict[str, Any] | None = None
    if not state.events or _key(compact) >= _key(state.events[-1]):
        state.events.append(compact)
        state.touched = []
        _fold_event(state, compact, policy, calendar)
    else:
        bisect.insort(state.events, compact, key=_key)
        logger.debug(
            "rules.refold listing_id=%s event_id=%s events=%d",
            state.listing_id,
            event.event_id,
            len(state.events),
        )
        state.touched = None
        old_fold = state.fold
        _refold(state, policy, calendar)
    if now_moved:
        state.touched = None  # overdue status may have changed anywhere
    if state.touched is None:
        changes_before = 0
    return state, _diff(state, event, policy, calendar, changes_before, old_fold)


def advance(
    state: ListingState,
    now: datetime,
    *,
    cause: LedgerEvent,
    policy: Policy | None = None,
    calendar: LegalCalendar | None = None,
) -> tuple[ListingState, list[LedgerEvent]]:
    """Move the listing's clock to `now` (a clock tick): report what became overdue."""
    policy = policy or default_policy()
    calendar = calendar or default_calendar()
    ts = _epoch(now)
    if state.now is not None and ts <= state.now:
        # an old or redelivered tick: only re-emit what that tick caused
        return state, _redeliver(state, cause, policy, calendar)
    state.now = ts
    state.touched = None
    return state, _diff(state, cause, policy, calendar)


def checks(
    state: ListingState,
    *,
    include_open: bool = False,
    policy: Policy | None = None,
    calendar: LegalCalendar | None = None,
) -> list[Check]:
    """The check rows of a listing, in trigger order.

    Answered obligations give their verdict; obligations overdue at the latest clock
    instant give VIOLATION (AUTHORITY) with no response; with `include_open`, the
    others still running are listed as OPEN.
    """
    policy = policy or default_policy()
    calendar = calendar or default_calendar()
    rows: list[tuple[int, str, Check]] = []
    for ob in state.fold["obligations"].values():
        bound = policy.by_id[ob["rule"]]
        verdict = _obligation_verdict(ob, bound, state.now)
        if verdict is None:
            continue
        if verdict == OPEN and not include_open:
            continue
        if bound.rule.report == "VIOLATIONS" and verdict not in (
            VIOLATION,
            OUT_OF_TIME,
            OVERDUE,
        ):
            if not (include_open and verdict == OPEN):
                continue
        rows.append(
            (ob["ts"], ob["rule"], _check_row(state, ob, bound, verdict, calendar))
        )
    for ac in state.fold["act_checks"].values():
        bound = policy.by_id[ac["rule"]]
        if bound.rule.report == "VIOLATIONS" and ac["verdict"] == COMPLIANT:
            continue
        rows.append((ac["ts"], ac["rule"], _act_row(state, ac, bound)))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def next_due(state: ListingState) -> datetime | None:
    """The earliest instant at which a clock tick can change `state`: 24:00 Asia/
    Shanghai of the earliest due date of an obligation still running at the latest
    tick (unanswered, no forbidden act, not yet overdue); None if there is none."""
    now = state.now
    earliest: int | None = None
    expiry = _term_expiry(state)
    if expiry is not None and (now is None or now < expiry[0]):
        earliest = expiry[0]  # the tick that passes the term end opens an obligation
    for ob in state.fold["obligations"].values():
        if ob["answer"] is not None or ob["due"] is None:
            continue
        if ob["state_violation"] is not None:
            continue
        due_at = _end_of_day(_iso_date(ob["due"]))
        if now is not None and now >= due_at:
            continue  # already overdue at the latest tick: decided already
        if earliest is None or due_at < earliest:
            earliest = due_at
    return None if earliest is None else _instant(earliest)


def has_open(state: ListingState) -> bool:
    """Whether a later clock tick can still change `state`."""
    return next_due(state) is not None


# --- folding ----------------------------------------------------------------------


def _compact(event: LedgerEvent) -> CompactEvent:
    payload = event.payload or {}
    kept = {}
    for k, v in payload.items():
        if k in _KEPT:
            kept[k] = v if v is None or type(v) in _PLAIN else _plain(v)
    term = payload.get("listing_term")
    if isinstance(term, dict):
        kept["term_years"] = term.get("years")
        if term.get("expires") is not None:
            kept["term_expires"] = _plain(term["expires"])
    return [
        _epoch(event.occurred_at),
        event.seq if event.seq is not None else 0,
        event.event_id,
        event.event_type,
        event.source_event_id or event.event_id,
        event.actor.kind,
        event.actor.code,
        kept,
    ]


_KEPT = frozenset(KEPT_PAYLOAD_KEYS)
_PLAIN = (str, int, bool, float)


def _plain(value: Any) -> Any:
    """JSON-plain copy of a payload value (dates as ISO strings)."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _key(e: CompactEvent) -> tuple[int, int, str]:
    return (e[0], e[1], e[2])


def _refold(state: ListingState, policy: Policy, calendar: LegalCalendar) -> None:
    state.fold = new_fold()
    for e in state.events:
        _fold_event(state, e, policy, calendar)


def _touch(state: ListingState, key: str) -> None:
    if state.touched is not None:
        state.touched.append(key)


def _fold_event(
    state: ListingState, e: CompactEvent, policy: Policy, calendar: LegalCalendar
) -> None:
    fold = state.fold
    etype = e[3]
    payload = e[7]

    # 1. acts forbidden while an obligation is open (enforcing a suspended measure)
    forbidden_here = etype in policy.forbidden_acts
    for oid, ob in fold["obligations"].items() if forbidden_here else ():
        if ob["answer"] is None and ob["state_violation"] is None:
            forbidden = policy.by_id[ob["rule"]].rule.forbidden_acts
            if etype in forbidden and payload.get("measure_code") == ob["measure"]:
                ob["state_violation"] = [e[4], e[0], e[2]]
                _touch(state, oid)

    # 2. answers close open obligations
    for bound, match in policy.by_answer.get(etype, ()):
        if not match.accepts(payload):
            continue
        rule_id = bound.rule.id
        for oid, ob in fold["obligations"].items():
            if ob["rule"] != rule_id or ob["answer"] is not None:
                continue
            if match.same_measure and payload.get("measure_code") != ob["measure"]:
                continue
            if match.refers_to_trigger and payload.get("refers_to") != ob["trigger"]:
                continue
            if e[0] < ob["ts"]:
                continue
            ob["answer"], ob["answer_ts"], ob["answer_id"] = e[4], e[0], e[2]
            _touch(state, oid)

    # 3. act checks see the state before the act
    for bound, match in policy.by_act.get(etype, ()):
        if match.accepts(payload) and bound.in_force(
            state.jurisdiction, _local_date(e[0])
        ):
            _act_check(state, bound, e, calendar)

    # 4. the act changes the listing and the sanctions
    _transition(fold, e)

    # 5. triggers open obligations
    for bound, match in policy.by_open.get(etype, ()):
        if not match.accepts(payload):
            continue
        if not bound.in_force(state.jurisdiction, _local_date(e[0])):
            continue
        if match.guard is not None and not _guard(fold, match.guard):
            continue
        _open(state, bound, match, e, calendar)


_APPLICANT_EXITS = frozenset({"LISTING_DELETED", "LISTING_SHIELDED"})


def _transition(fold: dict[str, Any], e: CompactEvent) -> None:
    etype, payload, src = e[3], e[7], e[4]
    if etype == "LISTING_DECISION_MADE":
        if fold["status"] in EXIT_STATUSES:
            fold["relisted"] = True
        fold["status"] = LISTED
        fold["court"] = e[6] or fold["court"]
        fold["last_decision"] = src
        fold["published"] = None
        fold["pending_application"] = False
        fold["applicant_requested"] = False
        fold["expired"] = False
        fold["term_years"] = payload.get("term_years")
        fold["term_expires"] = payload.get("term_expires")
        if payload.get("debtor"):
            fold["debtor"] = payload["debtor"]
        if payload.get("publishable") is False or payload.get("not_for_publication"):
            fold["not_for_publication"] = True
    elif etype in _EXIT_EVENTS:
        if fold["status"] == LISTED:
            fold["status"] = _EXIT_EVENTS[etype]
            fold["last_exit"] = src
            # shielding is deletion with other retention (RULES.md §3.3 (3)): either
            # on the applicant's request starts the 6-month bar (SPC2017 art.10)
            if etype in _APPLICANT_EXITS and fold["applicant_requested"]:
                fold["applicant_deletion"] = [src, _local_date(e[0]).isoformat()]
    elif etype == "DEBTOR_IDENTIFIED":
        if payload.get("debtor"):
            fold["debtor"] = payload["debtor"]
    elif etype == "LISTING_TERM_EXPIRED":
        fold["expired"] = True
    elif etype == "LISTING_DECISION_SERVED":
        fold["served"] = True
    elif etype == "LISTING_PUBLISHED":
        if fold["last_decision"] is not None and fold["published"] is None:
            fold["published"] = src
    elif etype in ("LISTING_WITHDRAWN_FROM_PUBLICATION", "EMPLOYER_NOTIFIED"):
        fold["not_for_publication"] = True
    elif etype == "EXECUTION_NOTICE_SERVED":
        if payload.get("risk_warning_included"):
            fold["risk_notice"] = True
    elif etype == "LISTING_APPLICATION_RECEIVED":
        fold["pending_application"] = True
    elif etype == "LISTING_APPLICATION_REJECTED":
        fold["pending_application"] = False  # refused: nothing left to support
    elif etype == "DELETION_REQUESTED_BY_APPLICANT":
        fold["applicant_requested"] = True
    elif etype == "CURRENT_PROCEDURE_TERMINATED":
        fold["procedure_terminated"] = True
        fold["empty_searches"] = 0
    elif etype == "ASSET_SEARCH_COMPLETED":
        if fold["procedure_terminated"] and payload.get("found") is False:
            fold["empty_searches"] += 1
    elif etype in _MEASURE_EVENTS:
        _measure_change(fold, e, _MEASURE_EVENTS[etype])
    if fold["court"] is None and e[5] == "COURT" and e[6]:
        fold["court"] = e[6]


def _measure_change(fold: dict[str, Any], e: CompactEvent, new_state: str) -> None:
    payload = e[7]
    measure = payload.get("measure_code")
    if not measure:
        logger.warning("rules.measure_missing event_id=%s type=%s", e[2], e[3])
        return
    current = fold["measures"].get(measure)
    previous = current[1] if current else None
    if previous == new_state and new_state != RETAINED:
        return
    agency = e[6] or (current[0] if current else None)
    basis = payload.get("legal_basis") if new_state == RETAINED else None
    until = payload.get("retention_until") if new_state == RETAINED else None
    fold["measures"][measure] = [agency, new_state, e[0], e[4], basis, until]
    fold["changes"].append(
        [
            measure,
            agency,
            new_state,
            previous,
            e[0],
            e[4],
            payload.get("reason"),
            basis,
            until,
        ]
    )


def _guard(fold: dict[str, Any], name: str) -> bool:
    if name == "listing_in_force":
        return bool(fold["status"] == LISTED)
    if name == "second_search_after_current_procedure_terminated":
        return bool(
            fold["status"] == LISTED
            and fold["procedure_terminated"]
            and fold["empty_searches"] == 2
            and fold["term_years"] is None
        )
    raise RulesError(f"guard {name!r} is unknown")


def _open(
    state: ListingState,
    bound: BoundRule,
    match: Match,
    e: CompactEvent,
    calendar: LegalCalendar,
) -> None:
    fold = state.fold
    rule = bound.rule
    if rule.per_measure:
        measure = e[7].get("measure_code")
        if measure:
            current = fold["measures"].get(measure)
            agency = e[7].get("to_agency") or (current[0] if current else None)
            targets = [(measure, agency)]
        else:
            targets = [
                (m, v[0])
                for m, v in sorted(fold["measures"].items())
                if v[1] in (APPLIED, SUSPENDED)
            ]
    else:
        targets = [(None, None)]

    start_day = _local_date(e[0])
    if e[3] == TERM_EXPIRED:
        # The period runs from the term's end (SPC2017 art.10), not from the day
        # the court records the expiry: a late record does not move the deadline.
        term = _current_term(state)
        if term is not None and term[1] < start_day:
            start_day = term[1]
    deadline = _deadline(bound, start_day, state.jurisdiction, calendar)
    for measure, agency in targets:
        oid = f"{state.listing_id}|{rule.id}|{e[4]}" + (
            f"|{measure}" if measure else ""
        )
        if oid in fold["obligations"]:
            continue
        resp_code = _responsible_code(
            fold, rule.responsible, rule.responsible_field, e, agency
        )
        fold["obligations"][oid] = _new_obligation(
            bound, match, e, e[0], measure, resp_code, deadline
        )
        _touch(state, oid)


def _deadline(
    bound: BoundRule, start_day: date, jurisdiction: str, calendar: LegalCalendar
) -> tuple[str | None, bool, str | None]:
    """(due date ISO, provisional, calendar version) of a DEADLINE rule whose clock
    starts on `start_day`; (None, False, None) for a rule with no numeric limit."""
    rule = bound.rule
    if rule.limit is None or rule.kind != "DEADLINE":
        return None, False, None
    deadline = calendar.add(start_day, rule.limit.value, rule.limit.unit, jurisdiction)
    return (
        deadline.due_date.isoformat(),
        bool(deadline.provisional),
        deadline.calendar_version,
    )


def _new_obligation(
    bound: BoundRule,
    match: Match,
    trigger: CompactEvent,
    ts: int,
    measure: str | None,
    resp_code: str | None,
    deadline: tuple[str | None, bool, str | None],
    answer: CompactEvent | None = None,
) -> dict[str, Any]:
    """A new obligation of `bound` caused by the act `trigger`, its clock started at
    `ts` (epoch seconds), answered by `answer` if given."""
    due, prov, cal = deadline
    return {
        "rule": bound.rule.id,
        "trigger": trigger[4],
        "trigger_id": trigger[2],
        "ts": ts,
        "measure": measure,
        "resp_code": resp_code,
        "source": match.source or bound.rule.source,
        "due": due,
        "prov": prov,
        "cal": cal,
        "answer": None if answer is None else answer[4],
        "answer_ts": None if answer is None else answer[0],
        "answer_id": None if answer is None else answer[2],
        "state_violation": None,
    }


def _responsible_code(
    fold: dict[str, Any],
    kind: str,
    field_name: str | None,
    e: CompactEvent,
    agency: str | None,
) -> str | None:
    if field_name and e[7].get(field_name):
        named = str(e[7][field_name])
        # a court named by its full name (to_court) is accounted under its code
        return court_code(named) if kind == "COURT" else named
    if kind == "COURT":
        return fold["court"]
    if kind == "AGENCY":
        return agency
    return None


# --- obligations the clock opens ---------------------------------------------------

TERM_EXPIRED = "LISTING_TERM_EXPIRED"


def term_last_day(decided_on: date, years: Any, expires: Any) -> date | None:
    """The last day of a listing term (失信期限, SPC2017 art.2) that a decision of
    `decided_on` (its Asia/Shanghai date) sets with `listing_term.years` and
    `listing_term.expires` as given; None when it sets no term (neither is given,
    or what is given is neither a date nor a whole number of years).

    The day the decision states (`expires`, an ISO date or a date) wins; else the
    decision date plus the years (`add_months`: a missing day, 29 February, is the
    month's last). The last day is within the term: the term has ended only from
    the next day on, and SPC2017 art.10 counts the deletion period from it. A term
    is not a procedural period of a party, so a last day on a rest day is not moved
    (CPL art.85 does not apply to it). The projections store this day as
    `listings.term_expires`, so `shixin check` reads the engine's own day.
    """
    if not (years or expires):
        return None
    try:
        if expires:
            return _iso_date(str(expires)[:10])
        return add_months(decided_on, 12 * int(years or 0))
    except (TypeError, ValueError):
        return None  # neither a date nor a whole number of years to count from


def _current_term(state: ListingState) -> tuple[CompactEvent, date] | None:
    """(the current decision, the last day of the term it set), if it set one."""
    fold = state.fold
    years = fold.get("term_years")
    stated = fold.get("term_expires")
    decision_src = fold.get("last_decision")
    if not (years or stated) or decision_src is None:
        return None
    for e in state.events:
        if e[4] == decision_src and e[3] == "LISTING_DECISION_MADE":
            last_day = term_last_day(_local_date(e[0]), years, stated)
            return None if last_day is None else (e, last_day)
    return None


def _term_expiry(state: ListingState) -> tuple[int, CompactEvent, date] | None:
    """(24:00 Asia/Shanghai of the term's last day, the decision, that day) of a
    listing whose current decision set a term, unless the court recorded the expiry
    itself or the listing left the list before the term ended. The last day is
    `term_last_day` of the decision.
    """
    fold = state.fold
    if fold.get("expired"):
        return None
    term = _current_term(state)
    if term is None:
        return None
    decision, last_day = term
    exit_event = None
    if fold["last_exit"] is not None:
        for e in state.events:
            if e[4] == fold["last_exit"]:
                exit_event = e
    end = _end_of_day(last_day)
    if fold["status"] != LISTED and (exit_event is None or exit_event[0] < end):
        return None  # shielded, revoked or deleted before the term ended
    return end, decision, last_day


def _derive_clock_obligations(
    state: ListingState, policy: Policy, calendar: LegalCalendar
) -> dict[str, dict[str, Any]]:
    """Open, from the clock, the deletion owed when a listing term ends
    (SPC2017.ART10.EXPIRY_DELETE_3WD: the rules the court's LISTING_TERM_EXPIRED
    opens), so a missed deletion is found even if the court never records the
    expiry. Such an obligation is a function of the events and the latest tick:
    it is derived anew each time (answers found among the events), and returned
    among the vanished ones when it is no longer owed (e.g. the court recorded the
    expiry, or an earlier exit arrived late)."""
    obligations = state.fold["obligations"]
    before = {oid: ob for oid, ob in obligations.items() if ob.get("clock")}
    for oid in before:
        del obligations[oid]
    expiry = _term_expiry(state)
    # Only the clock opens it (not an act dated after the term's end): its events
    # are then caused by a tick whatever order a worker reads the topics in.
    if expiry is not None and state.now is not None and state.now >= expiry[0]:
        end, decision, last_day = expiry
        start = end - 86_400  # the term's last day counts as the clock's start
        for bound, match in policy.by_open.get(TERM_EXPIRED, ()):
            if not bound.in_force(state.jurisdiction, last_day):
                continue
            _open_at(state, bound, match, decision, start, last_day, policy, calendar)
    vanished = {}
    for oid, ob in before.items():
        if oid not in obligations:
            vanished[oid] = ob
        elif obligations[oid] != ob:
            _touch(state, oid)
    for oid in obligations:
        if obligations[oid].get("clock") and oid not in before:
            _touch(state, oid)
    return vanished


def _open_at(
    state: ListingState,
    bound: BoundRule,
    match: Match,
    trigger: CompactEvent,
    start: int,
    start_day: date,
    policy: Policy,
    calendar: LegalCalendar,
) -> None:
    """An obligation of `bound` whose clock starts at `start` (epoch seconds) on
    `start_day`, caused by the act `trigger`, answered by its first answer among
    the events at or after `start`."""
    rule = bound.rule
    fold = state.fold
    oid = f"{state.listing_id}|{rule.id}|{trigger[4]}"
    if oid in fold["obligations"]:
        return
    answer = None
    for e in state.events:
        if e[0] < start:
            continue
        if any(
            b.rule.id == rule.id and m.accepts(e[7])
            for b, m in policy.by_answer.get(e[3], ())
        ):
            answer = e
            break
    resp_code = fold["court"] if rule.responsible == "COURT" else None
    deadline = _deadline(bound, start_day, state.jurisdiction, calendar)
    ob = _new_obligation(
        bound, match, trigger, start, None, resp_code, deadline, answer
    )
    ob["clock"] = True
    fold["obligations"][oid] = ob


# --- act checks -------------------------------------------------------------------


def _act_check(
    state: ListingState, bound: BoundRule, e: CompactEvent, calendar: LegalCalendar
) -> None:
    fold = state.fold
    result = _PREDICATES[bound.rule.predicate or ""](state, bound, e)
    if result is None:
        return
    verdict, trigger, response, reason = result
    if trigger is None:
        # nothing (yet) to check the act against, e.g. an agency act seen before
        # the listing decision: an Obligation needs its trigger event
        logger.debug(
            "rules.act_check_without_trigger listing_id=%s rule=%s event_id=%s",
            state.listing_id,
            bound.id,
            e[2],
        )
        return
    if bound.rule.response == "NONE":
        response = None
    key = f"{bound.id}|{trigger}|{response}"
    fold["act_checks"][key] = {
        "rule": bound.id,
        "trigger": trigger,
        "response": response,
        "verdict": verdict,
        "ts": e[0],
        "act_id": e[2],
        "reason": reason,
    }
    _touch(state, key)


def _verdict(ok: bool) -> str:
    return COMPLIANT if ok else VIOLATION


def _p_debtor_not_minor(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    debtor = e[7].get("debtor") or state.fold["debtor"] or {}
    birth = _birth_date(debtor)
    if birth is None:
        return None
    on = _local_date(e[0])
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    reason = f"debtor aged {age} at the decision date {on.isoformat()}"
    return _verdict(age >= 18), e[4], None, reason


def _birth_date(debtor: dict[str, Any]) -> date | None:
    if debtor.get("entity_type") not in (None, "NATURAL_PERSON"):
        return None
    if debtor.get("birth_date"):
        return date.fromisoformat(str(debtor["birth_date"]))
    number = str(debtor.get("id_number") or "")
    if len(number) != 18 or not number[6:14].isdigit():
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _p_risk_notice(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    ok = state.fold["risk_notice"]
    reason = (
        "a risk notice was served before the decision"
        if ok
        else (
            "no execution notice with a risk warning was served "
            "before the listing decision"
        )
    )
    return _verdict(ok), e[4], None, reason


def _p_applicant_relist_bar(
    state: ListingState, bound: BoundRule, e: CompactEvent
) -> Any:
    fold = state.fold
    deletion = fold["applicant_deletion"]
    if deletion is None or bound.rule.limit is None:
        return None
    bar_end = add_months(date.fromisoformat(deletion[1]), bound.rule.limit.value)
    if _local_date(e[0]) > bar_end:
        return None
    if e[3] == "LISTING_APPLICATION_REJECTED":
        return (
            COMPLIANT,
            deletion[0],
            e[4],
            f"re-application within the bar (ends {bar_end}) refused",
        )
    if e[3] == "LISTING_DECISION_MADE" and fold["pending_application"]:
        return (
            VIOLATION,
            deletion[0],
            e[4],
            (
                f"listed again on the applicant's application "
                f"before the bar ends {bar_end}"
            ),
        )
    return None


def _p_relist_after_exit(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    fold = state.fold
    if fold["status"] not in EXIT_STATUSES or fold["last_exit"] is None:
        return None
    if fold["applicant_deletion"] is not None and fold["pending_application"]:
        return None  # judged by the 6-month bar
    return (
        COMPLIANT,
        fold["last_exit"],
        e[4],
        "listed again after deletion for a new act",
    )


def _p_retention(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    fold = state.fold
    if fold["last_exit"] is None:
        return None
    payload = e[7]
    missing = [k for k in ("legal_basis", "retention_until") if not payload.get(k)]
    reason = (
        "retention names its legal basis and period"
        if not missing
        else f"retention lacks {', '.join(missing)}"
    )
    return _verdict(not missing), fold["last_exit"], e[4], reason


def _p_repair(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    if state.fold["status"] != LISTED:
        return None
    outcome = e[7].get("outcome")
    reason = f"credit repair {str(outcome).lower()} while the entry is still listed"
    return _verdict(outcome == "REJECTED"), e[7].get("refers_to"), e[4], reason


def _p_not_for_publication(
    state: ListingState, bound: BoundRule, e: CompactEvent
) -> Any:
    fold = state.fold
    if fold["last_decision"] is None:
        return None
    if e[3] == "EMPLOYER_NOTIFIED":
        if fold["published"] is not None:
            return (
                VIOLATION,
                fold["last_decision"],
                fold["published"],
                ("information that may not be published was published"),
            )
        return (
            COMPLIANT,
            fold["last_decision"],
            e[4],
            "not published; employer notified",
        )
    if fold["not_for_publication"]:
        return (
            VIOLATION,
            fold["last_decision"],
            e[4],
            ("a not-for-publication listing was published"),
        )
    return None


def _p_measure_in_force(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    current = state.fold["measures"].get(e[7].get("measure_code"))
    if current is None or current[1] not in (RELEASED, SUSPENDED):
        return None
    return VIOLATION, current[3], e[4], f"measure enforced while {current[1].lower()}"


def _p_listing_in_force(state: ListingState, bound: BoundRule, e: CompactEvent) -> Any:
    fold = state.fold
    ok = fold["status"] == LISTED
    return (
        _verdict(ok),
        fold["last_exit"] or fold["last_decision"],
        e[4],
        ("listing in force" if ok else "the listing is no longer in force"),
    )


_PREDICATES: dict[str, Any] = {
    "debtor_not_minor": _p_debtor_not_minor,
    "risk_notice_before": _p_risk_notice,
    "applicant_relist_bar": _p_applicant_relist_bar,
    "relist_after_exit": _p_relist_after_exit,
    "retention_has_basis_and_period": _p_retention,
    "repair_refused_while_listed": _p_repair,
    "not_for_publication_route": _p_not_for_publication,
    "measure_in_force": _p_measure_in_force,
    "listing_in_force": _p_listing_in_force,
}


# --- outcomes and derived events ------------------------------------------------


def _obligation_verdict(
    ob: dict[str, Any], bound: BoundRule, now: int | None
) -> str | None:
    """Final verdict of an obligation; OPEN while running; None if it lapsed."""
    rule = bound.rule
    party = rule.obligor == "PARTY"
    if ob["state_violation"] is not None and not party:
        return VIOLATION
    if ob["answer"] is not None:
        if rule.no_period:
            return NO_NUMERIC_DEADLINE
        if ob["due"] is None:
            return COMPLIANT
        on_time = _local_date(ob["answer_ts"]) <= _iso_date(ob["due"])
        if party:
            return IN_TIME if on_time else OUT_OF_TIME
        return COMPLIANT if on_time else VIOLATION
    if (
        ob["due"] is not None
        and now is not None
        and now >= _end_of_day(_iso_date(ob["due"]))
    ):
        if party or not rule.answer_required:
            return None  # a party's window lapsed: no violation, nothing to answer
        return VIOLATION
    return OPEN


_VIOLATING = (VIOLATION, OUT_OF_TIME)
WITHDRAWN = "WITHDRAWN"  # act-check slot verdict once its violation was withdrawn


# What has been emitted lives in `state.emitted`, one slot per derived event kind and
# outcome, each remembering the id of the event that caused it (so a redelivered
# event can re-emit exactly what it caused):
#   "S|measure|state|source" [cause]                a sanction change
#   "SL|measure"             [change key, cause]    the last change emitted
#   "O|oid" [cause]   "V|oid" [cause, verdict, detected_by, response, act ts, now]
#   "M|oid" [cause, verdict, answer]   "W|oid" [cause, ts, response, obligation]
#   "L|oid" "O" | "V" | "M" | "W"                   kind of the last one emitted
#   "A|act key" [cause, verdict, ts, rule, trigger, response(, withdrawn ts, by)]


def _diff(
    state: ListingState,
    cause: LedgerEvent,
    policy: Policy,
    calendar: LegalCalendar,
    changes_before: int = 0,
    old_fold: dict[str, Any] | None = None,
) -> list[LedgerEvent]:
    """Derived events that make the emitted outcomes equal the current ones.

    Only touched outcomes are looked at when known (the in-order path); after a
    re-fold or a clock move all are, and outcomes that vanished in a re-fold
    (`old_fold`) are withdrawn.
    """
    out: list[LedgerEvent] = []
    fold = state.fold
    vanished = _derive_clock_obligations(state, policy, calendar)
    touched = state.touched
    state.touched = None
    full = touched is None
    if full:
        obligations: Any = fold["obligations"].items()
        act_checks: Any = fold["act_checks"].items()
        changes = fold["changes"]
    else:
        assert touched is not None
        obligations = [
            (k, fold["obligations"][k]) for k in touched if k in fold["obligations"]
        ]
        act_checks = [
            (k, fold["act_checks"][k]) for k in touched if k in fold["act_checks"]
        ]
        changes = fold["changes"][changes_before:]

    if changes:
        _diff_sanctions(state, cause, changes, full, out)
    by_id = policy.by_id
    for oid, ob in obligations:
        _diff_obligation(state, cause, oid, ob, by_id[ob["rule"]], calendar, out)
    for key, ac in act_checks:
        _diff_act(state, cause, key, ac, by_id[ac["rule"]], out)
    for oid, ob in vanished.items():
        last = state.emitted.get(f"L|{oid}")
        if last in ("O", "V") or _bad_met(state, oid, last):
            _withdraw(state, cause, oid, ob, by_id[ob["rule"]], out)
    if old_fold is not None:
        for oid, ob in old_fold["obligations"].items():
            if oid not in fold["obligations"] and oid not in vanished:
                last = state.emitted.get(f"L|{oid}")
                if last in ("O", "V") or _bad_met(state, oid, last):
                    _withdraw(state, cause, oid, ob, by_id[ob["rule"]], out)
        for key, ac in old_fold["act_checks"].items():
            if key not in fold["act_checks"]:
                slot = state.emitted.get(f"A|{key}")
                if slot is not None and slot[1] in _VIOLATING:
                    _withdraw_act(state, cause, key, slot, by_id[ac["rule"]], out)
    return out


def _diff_sanctions(
    state: ListingState,
    cause: LedgerEvent,
    changes: list[list[Any]],
    full: bool,
    out: list[LedgerEvent],
) -> None:
    emitted = state.emitted
    cid = cause.event_id
    for change in changes:
        key = f"S|{change[0]}|{change[2]}|{change[5]}"
        if key not in emitted:
            emitted[key] = [cid]
            emitted[f"SL|{change[0]}"] = [key, cid]
            out.append(_sanction_event(state, cause, change, key))
    if not full:
        return
    # a re-fold may have put an earlier change last: say again which one is current
    for measure, change in _last_changes(state.fold).items():
        key = f"S|{measure}|{change[2]}|{change[5]}"
        last = emitted.get(f"SL|{measure}")
        if last is None or last[0] != key:
            emitted[f"SL|{measure}"] = [key, cid]
            out.append(_sanction_event(state, cause, change, key))


def _last_changes(fold: dict[str, Any]) -> dict[str, list[Any]]:
    return {change[0]: change for change in fold["changes"]}


def _bad_met(state: ListingState, oid: str, last: str | None) -> bool:
    """The last event emitted for `oid` is a Met with a violating verdict."""
    return last == "M" and state.emitted[f"M|{oid}"][1] in _VIOLATING


def _diff_obligation(
    state: ListingState,
    cause: LedgerEvent,
    oid: str,
    ob: dict[str, Any],
    bound: BoundRule,
    calendar: LegalCalendar,
    out: list[LedgerEvent],
) -> None:
    emitted = state.emitted
    cid = cause.event_id
    quiet = bound.rule.report == "VIOLATIONS"
    verdict = _obligation_verdict(ob, bound, state.now)
    last_key = f"L|{oid}"
    last = emitted.get(last_key)
    if not quiet and f"O|{oid}" not in emitted:
        emitted[f"O|{oid}"] = [cid]
        emitted[last_key] = last = "O"
        out.append(_opened_event(state, cause, oid, ob, bound))

    if verdict is None or verdict == OPEN:
        if last is None or last in ("O", "W"):
            return
        # a violation or an answer emitted before a re-fold no longer holds
        if not quiet:
            emitted[f"O|{oid}"] = [cid]
            emitted[last_key] = "O"
            out.append(_opened_event(state, cause, oid, ob, bound))
        elif last == "V" or _bad_met(state, oid, last):
            _withdraw(state, cause, oid, ob, bound, out)
        return

    if ob["answer"] is None:  # overdue at a tick, or a forbidden act
        if last != "V":
            _emit_violation(state, cause, oid, ob, bound, verdict, out)
        return

    violated = verdict in _VIOLATING
    if violated and f"V|{oid}" not in emitted:
        _emit_violation(state, cause, oid, ob, bound, verdict, out)
        last = "V"
    met = emitted.get(f"M|{oid}")
    if last == "M" and met is not None and met[1:] == [verdict, ob["answer"]]:
        return
    if violated or not quiet or last == "V" or _bad_met(state, oid, last):
        emitted[f"M|{oid}"] = [cid, verdict, ob["answer"]]
        emitted[last_key] = "M"
        out.append(_met_event(state, cause, ob, bound, verdict, calendar))


def _detection(
    state: ListingState, ob: dict[str, Any]
) -> tuple[str, str | None, int | None]:
    """(detected_by, response event, act instant) of an obligation's violation."""
    if ob["state_violation"] is not None:
        return "STATE", ob["state_violation"][0], ob["state_violation"][1]
    if ob["answer"] is not None:
        return "ANSWER", ob["answer"], ob["answer_ts"]
    return "TICK", None, state.now


def _emit_violation(
    state: ListingState,
    cause: LedgerEvent,
    oid: str,
    ob: dict[str, Any],
    bound: BoundRule,
    verdict: str,
    out: list[LedgerEvent],
) -> None:
    detected, response, act_ts = _detection(state, ob)
    slot = [cause.event_id, verdict, detected, response, act_ts, state.now]
    state.emitted[f"V|{oid}"] = slot
    state.emitted[f"L|{oid}"] = "V"
    out.append(_violation_event(state, cause, ob, bound, slot))


def _withdrawal_ts(state: ListingState, ts: int) -> int:
    """A withdrawal takes effect at the latest act known (after what it withdraws)."""
    return max(ts, state.events[-1][0]) if state.events else ts


def _withdraw(
    state: ListingState,
    cause: LedgerEvent,
    oid: str,
    ob: dict[str, Any],
    bound: BoundRule,
    out: list[LedgerEvent],
) -> None:
    """A DeadlineMet COMPLIANT for an obligation whose violation (or whole existence)
    a re-fold withdrew: what the in-order result would not have had."""
    ts = _withdrawal_ts(state, ob["ts"])
    response = cause.source_event_id or cause.event_id
    slot = [cause.event_id, ts, response, dict(ob)]
    state.emitted[f"W|{oid}"] = slot
    state.emitted[f"L|{oid}"] = "W"
    out.append(_withdrawal_event(state, cause, ob, bound, slot))


def _diff_act(
    state: ListingState,
    cause: LedgerEvent,
    key: str,
    ac: dict[str, Any],
    bound: BoundRule,
    out: list[LedgerEvent],
) -> None:
    slot = state.emitted.get(f"A|{key}")
    previous = slot[1] if slot is not None else None
    verdict = ac["verdict"]
    if previous == verdict:
        return
    if (
        verdict == COMPLIANT
        and bound.rule.report == "VIOLATIONS"
        and previous not in _VIOLATING
    ):
        return  # quiet rule: a compliant act is reported only to withdraw a violation
    state.emitted[f"A|{key}"] = [
        cause.event_id,
        verdict,
        ac["ts"],
        ac["rule"],
        ac["trigger"],
        ac["response"],
    ]
    out.append(_act_event(state, cause, ac, bound))


def _withdraw_act(
    state: ListingState,
    cause: LedgerEvent,
    key: str,
    slot: list[Any],
    bound: BoundRule,
    out: list[LedgerEvent],
) -> None:
    ts = _withdrawal_ts(state, slot[2])
    new = [
        cause.event_id,
        WITHDRAWN,
        *slot[2:6],
        ts,
        cause.source_event_id or cause.event_id,
    ]
    state.emitted[f"A|{key}"] = new
    out.append(_act_withdrawal_event(state, cause, new, bound))


def _redeliver(
    state: ListingState, cause: LedgerEvent, policy: Policy, calendar: LegalCalendar
) -> list[LedgerEvent]:
    """The derived events of current outcomes that `cause` caused, exactly as first
    emitted (same ids, same contents): a redelivery heals output lost in a crash
    between storing the state and producing the events."""
    cid = cause.event_id
    fold = state.fold
    obligations = fold["obligations"]
    out: list[LedgerEvent] = []
    last_changes: dict[str, list[Any]] | None = None
    for key, slot in state.emitted.items():
        kind, _, rest = key.partition("|")
        if kind == "L":
            continue
        if kind == "SL":
            if slot[1] != cid:
                continue
            last_changes = last_changes or _last_changes(fold)
            change = last_changes.get(rest)
            if change is not None and slot[0] == (
                f"S|{change[0]}|{change[2]}|{change[5]}"
            ):
                out.append(_sanction_event(state, cause, change, slot[0]))
            continue
        if slot[0] != cid:
            continue
        if kind == "S":
            for change in fold["changes"]:
                if f"S|{change[0]}|{change[2]}|{change[5]}" == key:
                    out.append(_sanction_event(state, cause, change, key))
                    break
        elif kind == "A":
            bound = policy.by_id[slot[3]]
            ac = fold["act_checks"].get(rest)
            if slot[1] == WITHDRAWN:
                if ac is None:
                    out.append(_act_withdrawal_event(state, cause, slot, bound))
            elif ac is not None and ac["verdict"] == slot[1]:
                out.append(_act_event(state, cause, ac, bound))
        elif kind == "W":
            if state.emitted.get(f"L|{rest}") == "W":
                ob = slot[3]
                bound = policy.by_id[ob["rule"]]
                out.append(_withdrawal_event(state, cause, ob, bound, slot))
        else:
            ob = obligations.get(rest)
            if ob is None:
                continue
            bound = policy.by_id[ob["rule"]]
            verdict = _obligation_verdict(ob, bound, state.now)
            if kind == "O":
                out.append(_opened_event(state, cause, rest, ob, bound))
            elif kind == "V" and verdict in _VIOLATING:
                out.append(_violation_event(state, cause, ob, bound, slot))
            elif kind == "M" and verdict and [verdict, ob["answer"]] == slot[1:]:
                out.append(_met_event(state, cause, ob, bound, verdict, calendar))
    unique: dict[str, LedgerEvent] = {}
    for event in out:
        unique.setdefault(event.event_id, event)
    return list(unique.values())


# Payloads are built as dicts straight away, with exactly the fields (and field
# order) of the contract.derived dataclasses: what `dataclasses.asdict` would give,
# without the dataclass and the copy (tests check the keys against the dataclasses).


def _uuid5(name: str) -> str:
    """`str(uuid.uuid5(_NAMESPACE, name))`, from a copied SHA-1 namespace state."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update(name.encode())
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE.bytes, usedforsecurity=False)
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def _derived(
    state: ListingState,
    cause: LedgerEvent,
    etype: str,
    key: str,
    ts: int,
    payload: dict[str, Any],
) -> LedgerEvent:
    return LedgerEvent(
        event_id=_uuid5(f"{cause.event_id}|{etype}|{key}"),
        event_type=etype,
        listing_id=state.listing_id,
        occurred_at=_instant(ts),
        actor=LEDGER_ACTOR,
        jurisdiction=state.jurisdiction,
        payload=payload,
        causation_id=cause.event_id,
        correlation_id=cause.correlation_id,
    )


def _obligation(
    state: ListingState, ob: dict[str, Any], bound: BoundRule
) -> dict[str, Any]:
    """The `Obligation` payload of an obligation (or act check)."""
    rule = bound.rule
    due = _iso_date(ob["due"]) if ob["due"] else None
    deadline = rule.limit is not None and rule.kind == "DEADLINE"
    return {
        "obligation_id": ob.get("oid")
        or f"{state.listing_id}|{rule.id}|{ob['trigger']}"
        + (f"|{ob['measure']}" if ob["measure"] else ""),
        "rule_id": rule.id,
        "rule_source": ob["source"],
        "policy_version": bound.policy_version,
        "obligor": rule.obligor,
        "responsible_kind": rule.responsible,
        "responsible_code": ob["resp_code"],
        "trigger_event": ob["trigger"],
        "triggered_at": _instant(ob["ts"]),
        "limit_value": rule.limit.value if deadline and rule.limit else None,
        "limit_unit": rule.limit.unit if deadline and rule.limit else None,
        "due_date": due,
        "due_at": _instant(_end_of_day(due)) if due else None,
        "provisional": ob["prov"],
        "calendar_version": ob["cal"],
        "why": rule.why,
    }


def _met(
    obligation: dict[str, Any],
    response: str,
    answered_ts: int,
    verdict: str,
    elapsed: tuple[int | None, int | None] = (None, None),
) -> dict[str, Any]:
    """A `DeadlineMet` payload."""
    return {
        "obligation": obligation,
        "response_event": response,
        "answered_at": _instant(answered_ts),
        "verdict": verdict,
        "late": verdict in _VIOLATING,
        "elapsed_calendar_days": elapsed[0],
        "elapsed_working_days": elapsed[1],
    }


def _violated(
    obligation: dict[str, Any],
    verdict: str,
    detected: str,
    response: str | None,
    actual: date | None,
    reason: str,
) -> dict[str, Any]:
    """A `DeadlineViolated` payload."""
    return {
        "obligation": obligation,
        "verdict": verdict,
        "detected_by": detected,
        "response_event": response,
        "actual_date": actual,
        "reason": reason,
    }


def _opened_event(
    state: ListingState,
    cause: LedgerEvent,
    oid: str,
    ob: dict[str, Any],
    bound: BoundRule,
) -> LedgerEvent:
    payload = {"obligation": _obligation(state, ob, bound)}
    return _derived(state, cause, DEADLINE_OPENED, oid, ob["ts"], payload)


def _violation_event(
    state: ListingState,
    cause: LedgerEvent,
    ob: dict[str, Any],
    bound: BoundRule,
    slot: list[Any],
) -> LedgerEvent:
    """The DeadlineViolated of an obligation, as detected (the `V|` slot)."""
    rule = bound.rule
    _, verdict, detected, response, act_ts, now = slot
    if detected == "STATE":
        reason = f"{rule.id}: forbidden act {response} while the obligation was open"
    elif detected == "ANSWER":
        answered_on = _local_date(act_ts)
        reason = f"{rule.id}: due {ob['due']}, answered by {response} on {answered_on}"
    else:
        reason = f"{rule.id}: due {ob['due']}, no answer by the clock tick"
    ts = act_ts if act_ts is not None else ob["ts"]
    who = f"{rule.responsible} {ob['resp_code'] or ''}"
    obligation = _obligation(state, ob, bound)
    payload = _violated(
        obligation,
        verdict,
        detected,
        response,
        _local_date(ts)
        if response is not None
        else (_local_date(now) if now else None),
        f"{reason}; responsible {who}".rstrip(),
    )
    oid = obligation["obligation_id"]
    return _derived(state, cause, DEADLINE_VIOLATED, oid, ts, payload)


def _met_event(
    state: ListingState,
    cause: LedgerEvent,
    ob: dict[str, Any],
    bound: BoundRule,
    verdict: str,
    calendar: LegalCalendar,
) -> LedgerEvent:
    start, end = _local_date(ob["ts"]), _local_date(ob["answer_ts"])
    elapsed = (
        (end - start).days,
        calendar.working_days_between(start, end, state.jurisdiction),
    )
    obligation = _obligation(state, ob, bound)
    payload = _met(obligation, ob["answer"], ob["answer_ts"], verdict, elapsed)
    key = f"{obligation['obligation_id']}|{verdict}|{ob['answer']}"
    return _derived(state, cause, DEADLINE_MET, key, ob["answer_ts"], payload)


def _withdrawal_event(
    state: ListingState,
    cause: LedgerEvent,
    ob: dict[str, Any],
    bound: BoundRule,
    slot: list[Any],
) -> LedgerEvent:
    """DeadlineMet WITHDRAWN taking back what a re-fold showed was not owed."""
    _, ts, response = slot[:3]
    obligation = _obligation(state, ob, bound)
    payload = _met(obligation, response, ts, WITHDRAWN_VERDICT)
    key = f"{obligation['obligation_id']}|{WITHDRAWN}"
    return _derived(state, cause, DEADLINE_MET, key, ts, payload)


def _act_obligation(
    state: ListingState,
    bound: BoundRule,
    trigger: str,
    response: str | None,
    ts: int,
) -> dict[str, Any]:
    """The obligation of an act check: one per (rule, trigger, responding act)."""
    ob = {
        "oid": f"{state.listing_id}|{bound.id}|{trigger}"
        + (f"|{response}" if response else ""),
        "trigger": trigger,
        "ts": ts,
        "measure": None,
        "resp_code": _act_responsible(state, bound, response or trigger),
        "source": bound.rule.source,
        "due": None,
        "prov": False,
        "cal": None,
    }
    return _obligation(state, ob, bound)


def _act_event(
    state: ListingState, cause: LedgerEvent, ac: dict[str, Any], bound: BoundRule
) -> LedgerEvent:
    rule = bound.rule
    obligation = _act_obligation(state, bound, ac["trigger"], ac["response"], ac["ts"])
    key = f"{obligation['obligation_id']}|{ac['response']}|{ac['verdict']}"
    if ac["verdict"] == COMPLIANT:
        met = _met(obligation, ac["response"] or ac["trigger"], ac["ts"], COMPLIANT)
        return _derived(state, cause, DEADLINE_MET, key, ac["ts"], met)
    violated = _violated(
        obligation,
        ac["verdict"],
        "STATE",
        ac["response"],
        _local_date(ac["ts"]),
        f"{rule.id}: {ac['reason']}",
    )
    return _derived(state, cause, DEADLINE_VIOLATED, key, ac["ts"], violated)


def _act_responsible(state: ListingState, bound: BoundRule, act: str) -> str | None:
    """Who answers for an act check: the actor of the offending act when it is of
    the responsible kind (the agency that enforced, the court that listed), else
    the listing's court for rules binding courts."""
    responsible = bound.rule.responsible
    for e in reversed(state.events):
        if e[4] == act:
            if e[5] == responsible and e[6]:
                return str(e[6])
            break
    if responsible == "COURT":
        court = state.fold.get("court")
        return None if court is None else str(court)
    return None


def _act_withdrawal_event(
    state: ListingState, cause: LedgerEvent, slot: list[Any], bound: BoundRule
) -> LedgerEvent:
    """DeadlineMet WITHDRAWN for an act check a re-fold removed (`A|` slot)."""
    _, _, ts, _, trigger, response, withdrawn_ts, by = slot
    obligation = _act_obligation(state, bound, trigger, response, ts)
    met = _met(obligation, by, withdrawn_ts, WITHDRAWN_VERDICT)
    key = f"{obligation['obligation_id']}|{WITHDRAWN}"
    return _derived(state, cause, DEADLINE_MET, key, withdrawn_ts, met)


def _sanction_event(
    state: ListingState, cause: LedgerEvent, change: list[Any], key: str
) -> LedgerEvent:
    measure, agency, new, previous, ts, src, reason, basis, until = change
    payload = {
        "agency": agency or measure.split(".", 1)[0],
        "measure_code": measure,
        "state": new,
        "previous_state": previous,
        "since": _instant(ts),
        "reason": reason,
        "legal_basis": basis,
        "retained_until": _iso_date(until) if until else None,
        "trigger_event": src,
    }
    return _derived(state, cause, SANCTION_STATE_CHANGED, key, ts, payload)


# --- check rows -------------------------------------------------------------------


def _check_row(
    state: ListingState,
    ob: dict[str, Any],
    bound: BoundRule,
    verdict: str,
    calendar: LegalCalendar,
) -> Check:
    rule = bound.rule
    elapsed_cal = elapsed_wd = None
    if ob["answer_ts"] is not None:
        start, end = _local_date(ob["ts"]), _local_date(ob["answer_ts"])
        elapsed_cal = (end - start).days
        elapsed_wd = calendar.working_days_between(start, end, state.jurisdiction)
    return Check(
        listing_id=state.listing_id,
        rule_id=rule.id,
        source=ob["source"],
        trigger_event=ob["trigger"],
        response_event=ob["answer"]
        or (ob["state_violation"][0] if ob["state_violation"] else None),
        verdict=verdict,
        deadline=_iso_date(ob["due"]) if ob["due"] else None,
        limit_value=rule.limit.value if rule.limit else None,
        limit_unit=rule.limit.unit if rule.limit else None,
        obligor=rule.obligor,
        responsible_kind=rule.responsible,
        responsible_code=ob["resp_code"],
        why=rule.why,
        provisional=ob["prov"],
        calendar_version=ob["cal"],
        elapsed_calendar_days=elapsed_cal,
        elapsed_working_days=elapsed_wd,
    )


def _act_row(state: ListingState, ac: dict[str, Any], bound: BoundRule) -> Check:
    rule = bound.rule
    return Check(
        listing_id=state.listing_id,
        rule_id=rule.id,
        source=rule.source,
        trigger_event=ac["trigger"],
        response_event=ac["response"],
        verdict=ac["verdict"],
        deadline=None,
        limit_value=None,
        limit_unit=None,
        obligor=rule.obligor,
        responsible_kind=rule.responsible,
        responsible_code=state.fold["court"] if rule.responsible == "COURT" else None,
        why=f"{rule.why} ({ac['reason']})",
        provisional=False,
        calendar_version=None,
        elapsed_calendar_days=None,
        elapsed_working_days=None,
    )
