"""Interception check (自动比对、自动拦截): is a subject under an active measure now?

A measure counts as **active** for a subject when all of these hold:

- the subject's identifier is the full identifier of a listing (resident ID number
  for a person; USCC, or the organisation code inside it, for an organisation);
- the agency's latest known sanction state for that listing and measure is
  `APPLIED`, or `RETAINED` with a legal basis and a `retained_until` not yet past
  (the last day counts, Asia/Shanghai);
- the listing is enforceable: `DECIDED`, `PUBLISHED`, `NOT_FOR_PUBLICATION` or
  `RELISTED`. A retained measure survives the end of the listing: retention is
  exactly the case of a measure kept after shielding, on its own legal basis.

So when the listing was shielded, revoked, deleted or has expired but the agency has
not released its measure yet, the measure is **not active**: legally it must no
longer be enforced, and intercepting on it would repeat the wrong of LC-035. The
answer lists such measures separately as `stale` (with the agency), so the agency
sees that its release is overdue. `SUSPENDED` (objection under verification) is
not active either.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from contract import identifiers
from projections.migrate import DEFAULT_SCHEMA
from projections.rows import ENFORCEABLE_STATES, org_code_of

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Answers from the two identifier indexes of `listings`; the plan is shown by a test.
LOOKUP = """
SELECT l.listing_id, l.state AS listing_state, l.court_code, l.court_name,
       l.case_number, l.decision_event, l.shield_event, l.revoke_event,
       l.delete_event, s.agency, s.measure_code, s.state AS sanction_state,
       s.since, s.legal_basis, s.retained_until, s.trigger_event, s.last_event
FROM listings l
JOIN sanctions s ON s.listing_id = l.listing_id
WHERE (l.subject_id = %(subject)s OR l.org_code = %(org_code)s)
  AND (%(agency)s::text IS NULL OR s.agency = %(agency)s)
  AND (%(measure)s::text IS NULL OR s.measure_code = %(measure)s)
ORDER BY l.listing_id, s.agency, s.measure_code
"""


class SubjectError(ValueError):
    """The subject identifier is not a valid resident ID, USCC or organisation code."""


@dataclass(frozen=True, slots=True)
class Measure:
    listing_id: str
    listing_state: str
    court_code: str | None
    case_number: str | None
    agency: str
    measure_code: str
    sanction_state: str
    since: datetime
    legal_basis: str | None
    retained_until: date | None
    trigger_event: str  # the act that put the measure in its state
    listing_events: dict[str, str | None]  # decision/shield/revoke/delete event ids


@dataclass(frozen=True, slots=True)
class CheckResult:
    subject: str
    subject_kind: str  # RESIDENT_ID | USCC | ORG_CODE
    intercept: bool
    active: list[Measure]
    stale: list[Measure]  # listing ended, agency has not released: not to enforce
    checked_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def subject_kind(subject: str) -> str:
    """Which identifier the subject is, after checking its check character."""
    value = subject.strip().upper().replace("-", "")
    problems: list[str] = []
    for kind, check in (
        ("RESIDENT_ID", identifiers.check_resident_id),
        ("USCC", identifiers.check_uscc),
        ("ORG_CODE", identifiers.check_org_code),
    ):
        problem = check(value)
        if problem is None:
            return kind
        problems.append(problem)
    if len(value) == 18 and value[:17].isdigit():
        expected = problems[0]
    elif len(value) == 18:
        expected = problems[1]
    elif len(value) == 9:
        expected = problems[2]
    else:
        expected = (
            "an 18-character resident ID, an 18-character USCC or a 9-character "
            "organisation code"
        )
    raise SubjectError(f"subject {subject!r} is not valid: expected {expected}")


def is_active(
    listing_state: str,
    sanction_state: str,
    legal_basis: str | None,
    retained_until: date | None,
    today: date,
) -> bool:
    """The rule of the module docstring, for one listing and measure."""
    if sanction_state == "RETAINED":
        return (
            bool(legal_basis) and retained_until is not None and today <= retained_until
        )
    return sanction_state == "APPLIED" and listing_state in ENFORCEABLE_STATES


def check(
    conn: psycopg.Connection,
    subject: str,
    agency: str | None = None,
    measure: str | None = None,
    schema: str = DEFAULT_SCHEMA,
    at: datetime | None = None,
) -> CheckResult:
    """Whether `subject` is under an active measure (of `agency`, `measure`) now."""
    kind = subject_kind(subject)
    value = subject.strip().upper().replace("-", "")
    now = at or datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    org_code = org_code_of(value) if kind != "RESIDENT_ID" else None

    params = {
        "subject": value,
        "org_code": org_code,
        "agency": agency,
        "measure": measure,
    }
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
        cur.execute(LOOKUP, params)
        columns = [d.name for d in cur.description or ()]
        found = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]

    active: list[Measure] = []
    stale: list[Measure] = []
    for r in found:
        m = Measure(
            listing_id=r["listing_id"],
            listing_state=r["listing_state"],
            court_code=r["court_code"],
            case_number=r["case_number"],
            agency=r["agency"],
            measure_code=r["measure_code"],
            sanction_state=r["sanction_state"],
            since=r["since"],
            legal_basis=r["legal_basis"],
            retained_until=r["retained_until"],
            trigger_event=r["trigger_event"],
            listing_events={
                "decision": r["decision_event"],
                "shield": r["shield_event"],
                "revoke": r["revoke_event"],
                "delete": r["delete_event"],
            },
        )
        if is_active(
            m.listing_state, m.sanction_state, m.legal_basis, m.retained_until, today
        ):
            active.append(m)
        elif m.sanction_state == "APPLIED":
            stale.append(m)
    logger.debug(
        "checked subject_kind=%s agency=%s measure=%s active=%d stale=%d",
        kind,
        agency,
        measure,
        len(active),
        len(stale),
    )
    return CheckResult(value, kind, bool(active), active, stale, now)
