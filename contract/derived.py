"""Payloads of the derived events the rules engine emits.

A derived event travels as a `LedgerEvent` whose `actor` is the ledger itself
(`Actor(kind="LEDGER", code="rules-engine")`), whose `causation_id` is the event id of
the ledger event (or clock tick) that caused it, and whose `payload` is one of the
dataclasses below turned into a dict with `dataclasses.asdict`. The Avro schemas of
the derived events carry exactly these fields.

Derived event ids are deterministic: uuid5 of (causing event id, event type, the
outcome's key), so reprocessing the same cause can only give the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

SANCTION_STATE_CHANGED = "SANCTION_STATE_CHANGED"
DEADLINE_OPENED = "DEADLINE_OPENED"
DEADLINE_MET = "DEADLINE_MET"
DEADLINE_VIOLATED = "DEADLINE_VIOLATED"
DERIVED_TYPES = (
    SANCTION_STATE_CHANGED,
    DEADLINE_OPENED,
    DEADLINE_MET,
    DEADLINE_VIOLATED,
)

# Verdicts, in the vocabulary of the sample lifecycles.
COMPLIANT = "COMPLIANT"
VIOLATION = "VIOLATION"
IN_TIME = "IN_TIME"
OUT_OF_TIME = "OUT_OF_TIME"
NO_NUMERIC_DEADLINE = "NO_NUMERIC_DEADLINE"
OPEN = "OPEN"  # obligation still running (not a final verdict)
OVERDUE = "OVERDUE"  # past due with no answer: reported as a violation
# A re-fold found the check is not owed at all (an act that arrived late showed it):
# the earlier outcome, a violation included, is taken back and no check remains.
WITHDRAWN = "WITHDRAWN"


@dataclass(frozen=True, slots=True)
class SanctionStateChanged:
    """One agency's measure against one listing changed state."""

    agency: str  # agency code, e.g. RAILWAY
    measure_code: str  # e.g. RAILWAY.TRAIN_RESTRICTION
    state: str  # APPLIED | SUSPENDED | RELEASED | RETAINED
    previous_state: str | None
    since: datetime  # effective instant of the change
    reason: str | None
    legal_basis: str | None  # for RETAINED
    retained_until: date | None  # for RETAINED
    trigger_event: str  # source event id of the act that changed it


@dataclass(frozen=True, slots=True)
class Obligation:
    """A check of one rule against one trigger: a deadline or a state condition."""

    obligation_id: str  # deterministic: listing, rule id, trigger event
    rule_id: str  # e.g. SPC2017.ART10.DELETE_3WD
    rule_source: str  # document and article
    policy_version: str  # version of the rule-set data file used
    obligor: str  # AUTHORITY | PARTY
    responsible_kind: str  # COURT | AGENCY | REPUBLISHER | DEBTOR | ...
    responsible_code: str | None  # court code, agency code or publisher name
    trigger_event: str  # source event id
    triggered_at: datetime
    limit_value: int | None  # None: no numeric limit or a state condition
    limit_unit: str | None  # CALENDAR_DAYS | WORKING_DAYS | MONTHS | None
    due_date: date | None  # last day (inclusive), Asia/Shanghai
    due_at: datetime | None  # 24:00 Asia/Shanghai of due_date, in UTC
    provisional: bool  # the due date fell in a year no holiday data covers
    calendar_version: str | None
    why: str  # readable reason: what the rule asks for


@dataclass(frozen=True, slots=True)
class DeadlineOpened:
    obligation: Obligation


@dataclass(frozen=True, slots=True)
class DeadlineMet:
    """The answering act came: on time or late (a late answer after a tick-detected
    violation closes it without a second violation)."""

    obligation: Obligation
    response_event: str  # source event id of the answering act
    answered_at: datetime
    verdict: str  # COMPLIANT | IN_TIME | VIOLATION | OUT_OF_TIME | NO_NUMERIC_DEADLINE
    late: bool
    elapsed_calendar_days: int | None
    elapsed_working_days: int | None


@dataclass(frozen=True, slots=True)
class DeadlineViolated:
    """A violation: an obligation overdue at a clock tick, a late answer, or an act
    in a state that forbids it. Exactly one per obligation (same event id)."""

    obligation: Obligation
    verdict: str  # VIOLATION | OUT_OF_TIME
    detected_by: str  # TICK | ANSWER | STATE
    response_event: str | None
    actual_date: date | None  # date of the answering/offending act, Asia/Shanghai
    reason: str  # readable: rule, due date, what happened
