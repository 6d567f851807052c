"""Row logic: ledger and derived events folded into bitemporal rows of the query tables.

Pure: no I/O, no wall clock, no host time zone. Every time is a tz-aware instant,
written as a fixed-width UTC ISO string so that text order is time order.

Entities and tables:

- a *listing* (失信名单条目, key `listing_id`) folds the court and publisher acts about
  the listing itself into a `listings` row;
- a *sanction* (key listing, agency, measure) folds `SANCTION_STATE_CHANGED` into a
  `sanctions` row;
- an *obligation* (key `obligation_id`) folds `DEADLINE_OPENED/MET/VIOLATED` into an
  `obligations` row and, once violated, a `violations` row.

Bitemporal history. Each row version carries effective time (`valid_from` until
`valid_to`: when the legal act took effect, from the event's `occurred_at`, or the
`since` of a sanction change) and knowledge (`known_from` until `known_to`: the
broker time of the ledger event that taught it, with its topic/partition/offset;
derived events count as known when their causing ledger event was recorded).
A question "what was true at T as known at T2" selects the versions with
`valid_from <= T < valid_to` and `known_from <= T2 < known_to` (a null end is open).

The history of an entity is a function of the *set* of its events, defined thus:
order the events by knowledge (broker time, topic, partition, offset, event id); for
each prefix, fold the known events in effective order (effective time, `seq`, then
knowledge order) into a timeline of versions, events at the same effective instant
making one version, equal consecutive rows merging; a version that appears in the
timeline of prefix k is known from event k's broker time, and one that disappears
is known until it.

A backdated act (effective before an act of the same entity that the ledger recorded
earlier) is therefore placed at its effective time, and every later version is
refolded on top of it: from the backdated act's broker time on, the history says
the state from its effective time reflected it, and the versions believed before are
kept with `known_to` set to that broker time, so asking "as known at" an earlier
moment still returns what was believed then. The same holds for events read out of
knowledge order (court and publisher topics interleave differently in every run):
the rows never depend on the order the projector happened to read them.

The projector takes a fast path for the common case (the new event is after every
known event of the entity in both orders), which yields exactly the rows of the
definition; anything else recomputes the entity from all its events.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from contract.derived import (
    COMPLIANT,
    DEADLINE_MET,
    DEADLINE_OPENED,
    DEADLINE_VIOLATED,
    DERIVED_TYPES,
    IN_TIME,
    NO_NUMERIC_DEADLINE,
    SANCTION_STATE_CHANGED,
    WITHDRAWN,
)
from contract.event import LedgerEvent, Position
from rules.calendar import local_date
from rules.engine import term_last_day

logger = logging.getLogger(__name__)

LISTING = "listing"
SANCTION = "sanction"
OBLIGATION = "obligation"

# Listing states.
PENDING = "PENDING"  # case known, no listing decision yet
DECIDED = "DECIDED"
PUBLISHED = "PUBLISHED"
NOT_FOR_PUBLICATION = "NOT_FOR_PUBLICATION"
SHIELDED = "SHIELDED"
REVOKED = "REVOKED"
DELETED = "DELETED"
EXPIRED = "EXPIRED"
RELISTED = "RELISTED"
ENDED_STATES = frozenset({SHIELDED, REVOKED, DELETED, EXPIRED})
ENFORCEABLE_STATES = frozenset({DECIDED, PUBLISHED, NOT_FOR_PUBLICATION, RELISTED})

# Obligation statuses.
OPEN = "OPEN"
MET = "MET"
LATE = "LATE"
VIOLATED = "VIOLATED"

LISTING_EVENT_TYPES = frozenset(
    {
        "DEBTOR_IDENTIFIED",
        "EXECUTION_CASE_FILED",
        "LISTING_DECISION_MADE",
        "LISTING_PUBLISHED",
        "LISTING_RECORD_PUBLISHED",
        "LISTING_WITHDRAWN_FROM_PUBLICATION",
        "LISTING_SHIELDED",
        "LISTING_REVOKED",
        "LISTING_DELETED",
        "LISTING_TERM_EXPIRED",
        "LISTING_CORRECTED",
    }
)

TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "listings": ("listing_id",),
    "sanctions": ("listing_id", "agency", "measure_code"),
    "obligations": ("obligation_id",),
    "violations": ("obligation_id",),
}
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "listings": (
        "listing_id", "court_code", "court_name", "case_number", "debtor_name",
        "entity_type", "subject_id", "org_code", "masked_id", "legal_representative",
        "legal_rep_id", "conduct_codes", "publishable", "state", "platform_record_id",
        "term_expires", "decided_at", "published_at", "withdrawn_at", "shielded_at",
        "revoked_at", "deleted_at", "expired_at", "corrected_at", "decision_event",
        "publish_event", "shield_event", "revoke_event", "delete_event", "last_event",
    ),
    "sanctions": (
        "listing_id", "agency", "measure_code", "state", "previous_state", "since",
        "reason", "legal_basis", "retained_until", "trigger_event", "last_event",
    ),
    "obligations": (
        "obligation_id", "listing_id", "status", "rule_id", "rule_source",
        "policy_version", "obligor", "responsible_kind", "responsible_code",
        "trigger_event", "triggered_at", "limit_value", "limit_unit", "due_date",
        "due_at", "provisional", "calendar_version", "why", "response_event",
        "answered_at", "verdict", "elapsed_calendar_days", "elapsed_working_days",
        "opened_event", "met_event", "violated_event", "last_event",
    ),
    "violations": (
        "obligation_id", "listing_id", "rule_id", "rule_source", "policy_version",
        "obligor", "responsible_kind", "responsible_code", "trigger_event",
        "triggered_at", "due_date", "due_at", "provisional", "verdict", "detected_by",
        "response_event", "actual_date", "reason", "violated_event", "answer_event",
        "answered_at", "withdrawn", "last_event",
    ),
}  # fmt: skip
KIND_TABLES: dict[str, tuple[str, ...]] = {
    LISTING: ("listings",),
    SANCTION: ("sanctions",),
    OBLIGATION: ("obligations", "violations"),
}
PRIMARY_TABLE = {kind: tables[0] for kind, tables in KIND_TABLES.items()}

Row = tuple[Any, ...]
Key = tuple[str, ...]
Entity = tuple[str, Key]
KnowKey = tuple[str, str, int, int, str]
_NO_SEQ = 2**31


class RowError(ValueError):
    """An event cannot be turned into rows: a field is missing or malformed."""


def iso(moment: datetime) -> str:
    """Fixed-width UTC text of an instant; refuses naive datetimes."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RowError(f"naive datetime {moment.isoformat()!r}: expected tz-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


_SCALARS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """JSON-ready form of a payload value: instants as UTC ISO, dates as ISO."""
    if type(value) in _SCALARS:  # most values: no ladder of isinstance checks
        return value
    if type(value) is dict:
        return {
            str(k): v if type(v) in _SCALARS else plain(v) for k, v in value.items()
        }
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, Decimal):  # exact amounts stay exact: as text
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Knowledge:
    """When and where the ledger recorded what a row version says."""

    broker_time: str
    topic: str
    partition: int
    offset: int

    def as_list(self) -> list[Any]:
        return [self.broker_time, self.topic, self.partition, self.offset]


@dataclass(frozen=True, slots=True)
class Fact:
    """One event as the row logic reads it: JSON-normalised payload, UTC times."""

    event_id: str
    event_type: str
    listing_id: str
    derived: bool
    occurred_at: str
    actor_kind: str
    actor_code: str | None
    actor_name: str | None
    jurisdiction: str
    source_event_id: str | None
    seq: int | None
    correlation_id: str | None
    causation_id: str | None
    payload: Mapping[str, Any]
    known: Knowledge

    @classmethod
    def of(cls, event: LedgerEvent, position: Position) -> Fact:
        return cls(
            event_id=event.event_id,
            event_type=event.event_type,
            listing_id=event.listing_id,
            derived=event.event_type in DERIVED_TYPES,
            occurred_at=iso(event.occurred_at),
            actor_kind=event.actor.kind,
            actor_code=event.actor.code,
            actor_name=event.actor.name,
            jurisdiction=event.jurisdiction,
            source_event_id=event.source_event_id,
            seq=event.seq,
            correlation_id=event.correlation_id,
            causation_id=event.causation_id,
            payload=plain(event.payload),
            known=Knowledge(
                iso(position.broker_time),
                position.topic,
                position.partition,
                position.offset,
            ),
        )

    @property
    def know_key(self) -> KnowKey:
        k = self.known
        return (k.broker_time, k.topic, k.partition, k.offset, self.event_id)

    def payload_json(self) -> str:
        return json.dumps(self.payload, ensure_ascii=False, sort_keys=True)


def entities_of(fact: Fact) -> list[Entity]:
    """The entities an event changes (none for acts no query table follows)."""
    t, p = fact.event_type, fact.payload
    if t == SANCTION_STATE_CHANGED:
        return [
            (
                SANCTION,
                (fact.listing_id, _req(fact, "agency"), _req(fact, "measure_code")),
            )
        ]
    if t in (DEADLINE_OPENED, DEADLINE_MET, DEADLINE_VIOLATED):
        obligation = p.get("obligation")
        if not isinstance(obligation, Mapping) or not obligation.get("obligation_id"):
            raise RowError(
                f"event {fact.event_id} ({t}): payload field 'obligation.obligation_id'"
                f" is missing; got {str(obligation)[:80]!r}"
            )
        return [(OBLIGATION, (str(obligation["obligation_id"]),))]
    if t in LISTING_EVENT_TYPES or isinstance(p.get("debtor"), Mapping):
        return [(LISTING, (fact.listing_id,))]
    return []


def effective(kind: str, fact: Fact) -> str:
    """Effective instant of the event for this entity kind: a missed deadline's
    violation from the end of its due day (24:00 Asia/Shanghai), whenever the clock,
    the late answer or a forbidden act done after that day revealed it; a party's
    late act (OUT_OF_TIME) from the act."""
    if kind == SANCTION and fact.payload.get("since"):
        return _instant(fact, "since")
    if kind == OBLIGATION and fact.event_type == DEADLINE_VIOLATED:
        p = fact.payload
        ob = p.get("obligation") or {}
        # a party's period (a debtor's right to object) that lapsed is no one's
        # failure: its late act is OUT_OF_TIME from the act, not from the due day
        if ob.get("due_at") and ob.get("obligor") != "PARTY":
            due = iso(datetime.fromisoformat(str(ob["due_at"])))
            if p.get("detected_by") in ("TICK", "ANSWER"):
                return due
            if p.get("detected_by") == "STATE":
                return min(due, fact.occurred_at)
    return fact.occurred_at


def _revealed_later(kind: str, fact: Fact) -> bool:
    """A violation in effect from the end of its due day that a forbidden act done
    after that day revealed (an agency enforcing a measure it had to release): it
    reads as missed with no answer from the due day, and as the forbidden act from
    the act on, two versions of one event, so the projector recomputes its entity."""
    return (
        kind == OBLIGATION
        and fact.event_type == DEADLINE_VIOLATED
        and fact.payload.get("detected_by") == "STATE"
        and effective(kind, fact) < fact.occurred_at
    )


# At one effective instant an obligation's outcomes fold opened -> violated -> met, so
# an answer the engine gives at the same instant as a violation (its withdrawal of a
# violation that a later-arriving act disproved) comes after it.
_OUTCOME_RANK = {DEADLINE_OPENED: 0, DEADLINE_VIOLATED: 1, DEADLINE_MET: 2}
# Verdicts of an answer that clear a violation folded before it.
_CLEARING = frozenset({COMPLIANT, IN_TIME, NO_NUMERIC_DEADLINE})


def effective_key(kind: str, fact: Fact) -> tuple[Any, ...]:
    seq = fact.seq if fact.seq is not None else _NO_SEQ
    rank = _OUTCOME_RANK.get(fact.event_type, 0) if kind == OBLIGATION else 0
    return (effective(kind, fact), rank, seq, *fact.know_key)


# ---------------------------------------------------------------------------- folds


def fold(
    kind: str, key: Key, state: Mapping[str, Any] | None, fact: Fact
) -> dict[str, Any]:
    if kind == LISTING:
        return _fold_listing(key, state, fact)
    if kind == SANCTION:
        return _fold_sanction(key, fact)
    if kind == OBLIGATION:
        return _fold_obligation(state, fact)
    raise RowError(f"unknown entity kind {kind!r}")


def _fold_listing(key: Key, state: Mapping[str, Any] | None, f: Fact) -> dict[str, Any]:
    if state is None:
        s: dict[str, Any] = {c: None for c in TABLE_COLUMNS["listings"]}
        s.update(listing_id=key[0], conduct_codes=[], publishable=True, state=PENDING)
    else:
        s = dict(state)
    p, t, at = f.payload, f.event_type, f.occurred_at

    # identity and case facts, from whichever event brings them first
    if f.actor_kind == "COURT" and f.actor_code and s["court_code"] is None:
        s["court_code"], s["court_name"] = f.actor_code, f.actor_name
    if p.get("case_number") and s["case_number"] is None:
        s["case_number"] = p["case_number"]
    if p.get("platform_record_id") is not None:
        s["platform_record_id"] = int(p["platform_record_id"])
    debtor = p.get("debtor")
    if isinstance(debtor, Mapping):
        _apply_debtor(s, debtor, f)

    if t == "LISTING_DECISION_MADE":
        relisted = s["state"] in ENDED_STATES
        if p.get("publishable") is False:
            s["publishable"] = False
        if relisted:
            s.update(
                published_at=None, withdrawn_at=None, shielded_at=None, revoked_at=None,
                deleted_at=None, expired_at=None, publish_event=None, shield_event=None,
                revoke_event=None, delete_event=None,
            )  # fmt: skip
            s["state"] = RELISTED
        else:
            s["state"] = DECIDED if s["publishable"] else NOT_FOR_PUBLICATION
        if p.get("conduct_codes"):
            s["conduct_codes"] = [str(c) for c in p["conduct_codes"]]
        s["term_expires"] = _term_expires(p, at)
        s["decided_at"], s["decision_event"] = at, f.event_id
    elif t == "LISTING_RECORD_PUBLISHED" and p.get("published") is False:
        # decided but not publishable: the record shows what would have been
        # published; it is no publication (LC-038)
        _apply_snapshot(s, p, f)
        if s["state"] not in ENDED_STATES and s["state"] != RELISTED:
            s["state"] = NOT_FOR_PUBLICATION
    elif t in ("LISTING_PUBLISHED", "LISTING_RECORD_PUBLISHED"):
        if t == "LISTING_RECORD_PUBLISHED":
            _apply_snapshot(s, p, f)
        if s["state"] not in ENDED_STATES:
            s["state"] = PUBLISHED
        s["published_at"], s["publish_event"] = at, f.event_id
    elif t == "LISTING_WITHDRAWN_FROM_PUBLICATION":
        s["publishable"], s["withdrawn_at"] = False, at
        if s["state"] not in ENDED_STATES:
            s["state"] = NOT_FOR_PUBLICATION
    elif t == "LISTING_SHIELDED":
        s["state"], s["shielded_at"], s["shield_event"] = SHIELDED, at, f.event_id
    elif t == "LISTING_REVOKED":
        s["state"], s["revoked_at"], s["revoke_event"] = REVOKED, at, f.event_id
    elif t == "LISTING_DELETED":
        s["state"], s["deleted_at"], s["delete_event"] = DELETED, at, f.event_id
    elif t == "LISTING_TERM_EXPIRED":
        s["state"], s["expired_at"] = EXPIRED, at
    elif t == "LISTING_CORRECTED":
        s["corrected_at"] = at
    s["last_event"] = f.event_id
    return s


def _term_expires(p: Mapping[str, Any], decided_at: str) -> str | None:
    """The last day (ISO date) of the term a listing decision sets, as the rules
    engine counts it (`rules.engine.term_last_day`: the day the decision states,
    else its Asia/Shanghai date plus the years); None for a decision that sets no
    term. Each decision sets its own: a relisting without a term has none."""
    term = p.get("listing_term")
    if not isinstance(term, Mapping):
        return None
    decided_on = local_date(datetime.fromisoformat(decided_at))
    last_day = term_last_day(decided_on, term.get("years"), term.get("expires"))
    return None if last_day is None else last_day.isoformat()


def _apply_debtor(s: dict[str, Any], debtor: Mapping[str, Any], f: Fact) -> None:
    entity_type = debtor.get("entity_type") or s["entity_type"]
    full = debtor.get("id_number")
    s["debtor_name"] = debtor.get("name") or s["debtor_name"]
    s["entity_type"] = entity_type
    if full:
        full = str(full).strip().upper()
        s["subject_id"] = full
        s["org_code"] = org_code_of(full) if entity_type != "NATURAL_PERSON" else None
    shown = debtor.get("published_card_number")
    s["masked_id"] = masked_card_number(entity_type, full, shown) or s["masked_id"]
    if debtor.get("legal_representative"):
        s["legal_representative"] = debtor["legal_representative"]
    if debtor.get("legal_rep_id_number"):
        s["legal_rep_id"] = str(debtor["legal_rep_id_number"]).upper()


def _apply_snapshot(s: dict[str, Any], p: Mapping[str, Any], f: Fact) -> None:
    """A published list entry (LISTING_RECORD_PUBLISHED): what the platform shows."""
    s["debtor_name"] = p.get("debtor_name") or s["debtor_name"]
    s["case_number"] = s["case_number"] or p.get("case_number")
    s["court_name"] = s["court_name"] or p.get("executing_court")
    if p.get("entity_type") and p["entity_type"] != "UNKNOWN":
        s["entity_type"] = p["entity_type"]
    if p.get("conduct_codes"):
        s["conduct_codes"] = [str(c) for c in p["conduct_codes"]]
    if p.get("legal_representative"):
        s["legal_representative"] = p["legal_representative"]
    shown = p.get("card_number")
    s["masked_id"] = s["masked_id"] or masked_card_number(s["entity_type"], None, shown)
    if s["entity_type"] != "NATURAL_PERSON" and shown and s["org_code"] is None:
        s["org_code"] = org_code_of(str(shown).upper())
    if p.get("published") is False:
        s["publishable"] = False


def _fold_sanction(key: Key, f: Fact) -> dict[str, Any]:
    p = f.payload
    return {
        "listing_id": key[0],
        "agency": key[1],
        "measure_code": key[2],
        "state": _req(f, "state"),
        "previous_state": p.get("previous_state"),
        "since": effective(SANCTION, f),
        "reason": p.get("reason"),
        "legal_basis": p.get("legal_basis"),
        "retained_until": p.get("retained_until"),
        "trigger_event": _req(f, "trigger_event"),
        "last_event": f.event_id,
    }


def _fold_obligation(state: Mapping[str, Any] | None, f: Fact) -> dict[str, Any]:
    s: dict[str, Any] = dict(state) if state is not None else {
        "listing_id": f.listing_id, "obligation": None, "opened_event": None,
        "answer": None, "violation": None, "last_event": None,
    }  # fmt: skip
    p = f.payload
    if s["obligation"] is None or f.event_type == DEADLINE_OPENED:
        s["obligation"] = dict(p["obligation"])
    if f.event_type == DEADLINE_OPENED:
        if s["answer"] is not None or s["violation"] is not None:
            # opened again: the engine found the earlier outcome no longer holds
            s["answer"], s["violation"] = None, None
        s["opened_event"] = f.event_id
    elif f.event_type == DEADLINE_MET:
        s["answer_after_violation"] = s["violation"] is not None
        s["answer"] = {
            "event_id": f.event_id,
            "response_event": p.get("response_event"),
            "answered_at": p.get("answered_at"),
            "verdict": p.get("verdict"),
            "late": bool(p.get("late")),
            "elapsed_calendar_days": p.get("elapsed_calendar_days"),
            "elapsed_working_days": p.get("elapsed_working_days"),
        }
    elif f.event_type == DEADLINE_VIOLATED:
        s["answer_after_violation"] = False
        s["violation"] = {
            "event_id": f.event_id,
            "verdict": p.get("verdict"),
            "detected_by": p.get("detected_by"),
            "response_event": p.get("response_event"),
            "actual_date": p.get("actual_date"),
            "reason": p.get("reason"),
        }
    s["last_event"] = f.event_id
    return s


def _withdrawn(s: Mapping[str, Any]) -> bool:
    """A violation the engine took back: a tick-detected one answered on time after
    all (a backdated answer), or any violation followed, in effective order, by an
    answer whose verdict is not a violation (an act check that a later-arriving,
    earlier act made compliant)."""
    v, a = s["violation"], s["answer"]
    if not (v and a):
        return False
    if a["verdict"] == WITHDRAWN:
        return True
    if v["detected_by"] == "TICK" and not a["late"]:
        return True
    return bool(s.get("answer_after_violation")) and a["verdict"] in _CLEARING


def obligation_status(s: Mapping[str, Any]) -> str:
    v, a = s["violation"], s["answer"]
    if v and not _withdrawn(s):
        if v["detected_by"] == "STATE" or a is None:
            return VIOLATED
        return LATE
    if a:
        return LATE if a["late"] else MET
    return OPEN


# ----------------------------------------------------------------------------- rows


def row_of(table: str, key: Key, state: Mapping[str, Any] | None) -> Row | None:
    """The row a table holds for an entity in a given state (None: no row)."""
    if state is None:
        return None
    if table in ("listings", "sanctions"):
        return tuple(_hashable(state[c]) for c in TABLE_COLUMNS[table])
    ob = state["obligation"]
    a, v = state["answer"] or {}, state["violation"]
    common = {
        "obligation_id": key[0],
        "listing_id": state["listing_id"],
        "rule_id": ob.get("rule_id"),
        "rule_source": ob.get("rule_source"),
        "policy_version": ob.get("policy_version"),
        "obligor": ob.get("obligor"),
        "responsible_kind": ob.get("responsible_kind"),
        "responsible_code": ob.get("responsible_code"),
        "trigger_event": ob.get("trigger_event"),
        "triggered_at": ob.get("triggered_at"),
        "due_date": ob.get("due_date"),
        "due_at": ob.get("due_at"),
        "provisional": bool(ob.get("provisional")),
        "last_event": state["last_event"],
    }
    if table == "obligations":
        if a.get("verdict") == WITHDRAWN:
            return None  # the engine found this check is not owed at all
        if state["opened_event"] is None and ob.get("due_at") and _withdrawn(state):
            # a deadline reported only when missed (no DeadlineOpened: every other
            # deadline has one), whose violation was taken back (answered on time
            # after all): in the acts' own order it was never reported at all
            return None
        values = {
            **common,
            "status": obligation_status(state),
            "limit_value": ob.get("limit_value"),
            "limit_unit": ob.get("limit_unit"),
            "calendar_version": ob.get("calendar_version"),
            "why": ob.get("why"),
            "response_event": a.get("response_event")
            or (shown_violation(state) or {}).get("response_event"),
            "answered_at": a.get("answered_at"),
            "verdict": a.get("verdict") or (v or {}).get("verdict"),
            "elapsed_calendar_days": a.get("elapsed_calendar_days"),
            "elapsed_working_days": a.get("elapsed_working_days"),
            "opened_event": state["opened_event"],
            "met_event": a.get("event_id"),
            "violated_event": (v or {}).get("event_id"),
        }
    elif table == "violations":
        if v is None:
            return None
        shown = shown_violation(state)
        assert shown is not None
        answered_later = bool(a) and a.get("response_event") != shown["response_event"]
        values = {
            **common,
            "verdict": v["verdict"],
            "detected_by": shown["detected_by"],
            "response_event": shown["response_event"],
            "actual_date": shown["actual_date"],
            "reason": shown["reason"],
            "violated_event": v["event_id"],
            "answer_event": a.get("response_event") if answered_later else None,
            "answered_at": a.get("answered_at") if answered_later else None,
            "withdrawn": _withdrawn(state),
        }
    else:
        raise RowError(f"unknown table {table!r}")
    return tuple(_hashable(values[c]) for c in TABLE_COLUMNS[table])


def shown_violation(s: Mapping[str, Any]) -> dict[str, Any] | None:
    """How a violation reads at one valid time: a missed deadline (one with a due
    date, found by the clock or by the late answer) is told from the obligation and
    the answer in effect then, whichever the engine met first: unanswered ("no
    answer", no actual date) until the late answer took effect, then answered late
    on that day. So the same acts give the same rows however their recording and
    the clock ticks interleaved; a forbidden act (STATE) or an act check reads as
    the engine found it, from the act on (see `_before_the_act`)."""
    v, a, ob = s["violation"], s["answer"], s["obligation"] or {}
    if v is None:
        return None
    detected = "TICK" if s.get("before_act") else v["detected_by"]
    if detected not in ("TICK", "ANSWER") or not ob.get("due_at"):
        return {k: v[k] for k in ("detected_by", "response_event", "actual_date",
                                  "reason")}  # fmt: skip
    rule, due = ob.get("rule_id"), ob.get("due_date")
    who = f"responsible {ob.get('responsible_kind')} {ob.get('responsible_code') or ''}"
    if a is not None and a.get("late") and a.get("verdict") != WITHDRAWN:
        answered_on = local_date(datetime.fromisoformat(str(a["answered_at"])))
        response = a.get("response_event")
        return {
            "detected_by": "ANSWER",
            "response_event": response,
            "actual_date": answered_on.isoformat(),
            "reason": f"{rule}: due {due}, answered by {response} on {answered_on}; "
            f"{who}".rstrip(),
        }
    return {
        "detected_by": "TICK",
        "response_event": None,
        "actual_date": None,
        "reason": f"{rule}: due {due}, no answer by the clock tick; {who}".rstrip(),
    }


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# ------------------------------------------------------------------------ histories


@dataclass(slots=True)
class HistoryRow:
    """One bitemporal version of one row."""

    table: str
    key: Key
    row: Row
    valid_from: str
    valid_to: str | None
    known: Knowledge
    known_to: str | None = None


@dataclass(slots=True)
class TableHead:
    """The latest effective version of one table's row, as now known."""

    valid_from: str
    known: Knowledge


@dataclass(slots=True)
class FoldState:
    """What the projector remembers of an entity between batches."""

    state: dict[str, Any] | None
    instant: str | None  # latest effective instant among its events
    know: KnowKey | None  # latest knowledge key among its events
    heads: dict[str, TableHead | None]
    # memo of `row_of(table, key, state)` for the current state; never stored
    rows: dict[str, Row | None] = field(default_factory=dict)

    def row(self, table: str, key: Key) -> Row | None:
        """The row `table` holds for the entity in this state (memoised)."""
        memo = self.rows
        if table in memo:
            return memo[table]
        row = memo[table] = row_of(table, key, self.state)
        return row

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "instant": self.instant,
            "know": list(self.know) if self.know else None,
            "heads": {  # tables without a row are left out
                t: [h.valid_from, *h.known.as_list()]
                for t, h in sorted(self.heads.items())
                if h is not None
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FoldState:
        heads: dict[str, TableHead | None] = {}
        for t, h in data["heads"].items():
            heads[t] = None if h is None else TableHead(h[0], Knowledge(*h[1:]))
        know = data.get("know")
        return cls(
            data["state"],
            data.get("instant"),
            (know[0], know[1], int(know[2]), int(know[3]), know[4]) if know else None,
            heads,
        )


@dataclass(slots=True)
class EntityChange:
    """What one batch does to one entity's rows."""

    kind: str
    key: Key
    recompute: bool = False  # drop every history row of the entity first
    closes: list[tuple[str, str]] = field(default_factory=list)  # (table, known_to)
    inserted: list[HistoryRow] = field(default_factory=list)
    fold_state: FoldState | None = None

    def current(self, table: str) -> tuple[Row, TableHead] | None:
        fs = self.fold_state
        head = fs.heads.get(table) if fs else None
        if fs is None or head is None:
            return None
        row = fs.row(table, self.key)
        return None if row is None else (row, head)


def timeline(
    kind: str, key: Key, facts: Iterable[Fact]
) -> tuple[
    dict[str, list[tuple[str, str | None, Row]]], dict[str, Any] | None, str | None
]:
    """Effective timeline of an entity from the facts known: per table, the
    versions (valid_from, valid_to, row); plus the final state and last instant."""
    versions: list[tuple[str, dict[str, Any]]] = []
    state: dict[str, Any] | None = None
    facts_sorted = sorted(facts, key=lambda f: effective_key(kind, f))
    for fact in facts_sorted:
        state = fold(kind, key, state, fact)
        instant = effective(kind, fact)
        if versions and versions[-1][0] == instant:
            versions[-1] = (instant, state)
        else:
            versions.append((instant, state))
    if kind == OBLIGATION:
        versions = _withdrawn_from_the_start(versions)
        for fact in facts_sorted:
            if _revealed_later(kind, fact):
                versions = _before_the_act(versions, fact)

    result: dict[str, list[tuple[str, str | None, Row]]] = {}
    for table in KIND_TABLES[kind]:
        merged: list[tuple[str, Row | None]] = []
        previous: Row | None = None
        for instant, version in versions:
            row = row_of(table, key, version)
            if row != previous:
                merged.append((instant, row))
                previous = row
        spans = []
        for i, (start, row) in enumerate(merged):
            if row is None:
                continue
            end = merged[i + 1][0] if i + 1 < len(merged) else None
            spans.append((start, end, row))
        result[table] = spans
    return result, state, versions[-1][0] if versions else None


def _withdrawn_from_the_start(
    versions: list[tuple[str, dict[str, Any]]],
) -> list[tuple[str, dict[str, Any]]]:
    """An obligation the engine withdrew (a re-fold showed it was never owed: the
    DeadlineMet WITHDRAWN, effective when the engine learnt it) was never owed at
    any time: every version since it was opened carries the withdrawal, so no
    valid time shows its violation standing or the obligation owed. Once the
    withdrawal is known, the ledger believes it always was so (the versions it
    believed before end at the withdrawal's knowledge time, in the history)."""
    out = list(versions)
    end = len(out)
    while end > 0:
        opened = out[end - 1][1]["opened_event"]
        start = end
        while start > 0 and out[start - 1][1]["opened_event"] == opened:
            start -= 1
        answer = out[end - 1][1]["answer"]
        if answer is not None and answer["verdict"] == WITHDRAWN:
            for i in range(start, end):
                instant, version = out[i]
                out[i] = (instant, {**version, "answer": answer})
        end = start
    return out


def _before_the_act(
    versions: list[tuple[str, dict[str, Any]]], fact: Fact
) -> list[tuple[str, dict[str, Any]]]:
    """The versions of a `_revealed_later` violation: from the due day until the
    forbidden act, the violation reads as missed with no answer (as a clock tick
    in that time would have found it); from the act on, as the act."""
    act_at, out = fact.occurred_at, []
    for i, (instant, version) in enumerate(versions):
        v = version.get("violation")
        if instant < act_at and v is not None and v["event_id"] == fact.event_id:
            out.append((instant, {**version, "before_act": True}))
            following = versions[i + 1][0] if i + 1 < len(versions) else None
            if following is None or following > act_at:
                out.append((act_at, version))
        else:
            out.append((instant, version))
    return out


def full_history(kind: str, key: Key, facts: Sequence[Fact]) -> EntityChange:
    """The complete bitemporal history of an entity, by the definition above."""
    change = EntityChange(kind, key, recompute=True)
    by_knowledge = sorted(facts, key=lambda f: f.know_key)
    tables = KIND_TABLES[kind]
    believed: dict[str, dict[tuple[str, str | None, Row], HistoryRow]] = {
        t: {} for t in tables
    }
    state: dict[str, Any] | None = None
    instant: str | None = None
    for k, fact in enumerate(by_knowledge):
        spans, state, instant = timeline(kind, key, by_knowledge[: k + 1])
        for table in tables:
            now = set(spans[table])
            before = believed[table]
            for ident in sorted(set(before) - now, key=_span_order):
                before.pop(ident).known_to = fact.known.broker_time
            for ident in sorted(now - set(before), key=_span_order):
                hr = HistoryRow(table, key, ident[2], ident[0], ident[1], fact.known)
                change.inserted.append(hr)
                before[ident] = hr

    heads: dict[str, TableHead | None] = {}
    for table in tables:
        open_ended = [hr for ident, hr in believed[table].items() if ident[1] is None]
        heads[table] = (
            TableHead(open_ended[0].valid_from, open_ended[0].known)
            if open_ended
            else None
        )
    last = by_knowledge[-1].know_key if by_knowledge else None
    change.fold_state = FoldState(state, instant, last, heads)
    return change


def _span_order(ident: tuple[str, str | None, Row]) -> tuple[str, str]:
    return (ident[0], ident[1] or "~")


def in_order(kind: str, fs: FoldState | None, fact: Fact) -> bool:
    """Whether the fact comes after every known event of the entity in both orders
    and changes only what follows it (a withdrawal changes what came before it)."""
    if fs is None:
        return not _revealed_later(kind, fact)
    return _follows(kind, fs.instant, fs.know, fact)


def _follows(kind: str, instant: str | None, know: KnowKey | None, fact: Fact) -> bool:
    """`in_order` after a state whose last fact took effect at `instant` and was
    learnt at `know`."""
    if _revealed_later(kind, fact):
        return False
    if instant is None or know is None:
        return True
    if _is_withdrawal(kind, fact):
        return False
    return effective(kind, fact) > instant and fact.know_key > know


def _is_withdrawal(kind: str, fact: Fact) -> bool:
    return (
        kind == OBLIGATION
        and fact.event_type == DEADLINE_MET
        and fact.payload.get("verdict") == WITHDRAWN
    )


def needs_recompute(
    kind: str, prior: FoldState | None, new_facts: Sequence[Fact]
) -> bool:
    """Whether `plan` will rebuild the entity from all its facts: some new fact is
    not `in_order` after the prior state and the new facts before it."""
    instant = prior.instant if prior is not None else None
    know = prior.know if prior is not None else None
    for fact in sorted(new_facts, key=lambda f: f.know_key):
        if not _follows(kind, instant, know, fact):
            return True
        instant, know = effective(kind, fact), fact.know_key  # as `advance` leaves
    return False


def advance(change: EntityChange, fact: Fact) -> None:
    """Fast path: append one in-order fact to an entity (see `in_order`)."""
    kind, key = change.kind, change.key
    fs = change.fold_state or FoldState(None, None, None, {})
    state = fold(kind, key, fs.state, fact)
    instant = effective(kind, fact)
    open_now = {hr.table: hr for hr in change.inserted if hr.valid_to is None}
    memo: dict[str, Row | None] = {}
    for table in KIND_TABLES[kind]:
        old = fs.row(table, key)
        new = memo[table] = row_of(table, key, state)
        if new == old:
            continue
        head = fs.heads.get(table)
        if old is not None and head is not None:
            pending = open_now.get(table)
            if pending is not None and pending.known_to is None:
                pending.known_to = fact.known.broker_time
            else:
                change.closes.append((table, fact.known.broker_time))
            change.inserted.append(
                HistoryRow(table, key, old, head.valid_from, instant, fact.known)
            )
        if new is not None:
            change.inserted.append(
                HistoryRow(table, key, new, instant, None, fact.known)
            )
            fs.heads[table] = TableHead(instant, fact.known)
        else:
            fs.heads[table] = None
    fs.state, fs.instant, fs.know = state, instant, fact.know_key
    fs.rows = memo
    change.fold_state = fs


def plan(
    kind: str,
    key: Key,
    prior: FoldState | None,
    new_facts: Sequence[Fact],
    all_facts: Callable[[], Sequence[Fact]],
) -> EntityChange:
    """The change a batch of new facts makes to one entity: appended in order when
    possible, otherwise recomputed from `all_facts()` (every fact of the entity,
    the new ones included)."""
    change = EntityChange(kind, key, fold_state=prior)
    ordered = sorted(new_facts, key=lambda f: f.know_key)
    for fact in ordered:
        if not in_order(kind, change.fold_state, fact):
            logger.debug(
                "recomputing entity kind=%s key=%s event_id=%s",
                kind,
                key,
                fact.event_id,
            )
            return full_history(kind, key, all_facts())
        advance(change, fact)
    return change


# ---------------------------------------------------------------------- identifiers


def masked_card_number(
    entity_type: str | None, full: str | None, shown: str | None
) -> str | None:
    """The card number as the national platform shows it: resident IDs keep the
    first 10 and last 4 characters (`3501021985****0415`); organisation codes and
    USCCs are shown whole. Never returns a full resident ID."""
    if entity_type == "NATURAL_PERSON" or (
        entity_type is None and full and len(full) == 15
    ):
        source = full or shown
        if not source:
            return None
        source = str(source).upper()
        if "*" in source:
            return source
        if len(source) == 18:
            return source[:10] + "****" + source[14:]
        if len(source) == 15:  # first-generation number: hide MMDD likewise
            return source[:8] + "****" + source[12:]
        return "*" * max(len(source) - 4, 4) + source[-4:]
    return str(shown).upper() if shown else (str(full).upper() if full else None)


def org_code_of(identifier: str) -> str | None:
    """Organisation code of a USCC (characters 9-17) or of a 9-character code."""
    identifier = identifier.replace("-", "").upper()
    if len(identifier) == 18:
        return identifier[8:17]
    if len(identifier) == 9:
        return identifier
    return None


# ------------------------------------------------------------------------- helpers


def _req(fact: Fact, name: str) -> str:
    value = fact.payload.get(name)
    if value is None or value == "":
        raise RowError(
            f"event {fact.event_id} ({fact.event_type}, listing {fact.listing_id}): "
            f"payload field {name!r} is missing; expected a value"
        )
    return str(value)


def _instant(fact: Fact, name: str) -> str:
    raw = fact.payload.get(name)
    try:
        return iso(datetime.fromisoformat(str(raw)))
    except (TypeError, ValueError, RowError) as exc:
        raise RowError(
            f"event {fact.event_id} ({fact.event_type}): payload field {name!r} is "
            f"{raw!r}; expected a tz-aware ISO-8601 instant"
        ) from exc
