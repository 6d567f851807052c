"""Interception check (自动比对、自动拦截): is a subject under an active measure now?

A measure counts as **active** for a subject when all of these hold:

- the subject's identifier is the full identifier of a listing (resident ID number
  for a person; USCC, or the organisation code inside it, for an organisation);
- the agency's latest known sanction state for that listing and measure is
  `APPLIED`, or `RETAINED` with a legal basis and a `retained_until` not yet past
  (the last day counts, Asia/Shanghai);
- the listing is enforceable: `DECIDED`, `PUBLISHED`, `NOT_FOR_PUBLICATION` or
  `RELISTED`, and its term (失信期限, SPC2017 art.2), if its decision set one, has
  not ended by the check's day (the Asia/Shanghai date of the check's instant,
  whatever the host's time zone). The term's last day is `listings.term_expires`:
  the day the decision states, else the decision's date plus its years, counted
  by the rules engine's own `rules.engine.term_last_day` when the row is projected.
  That last day is still within the term; from the next day on the term is over.
  A retained measure survives the end of the listing and of its term: retention
  is exactly the case of a measure kept after shielding, on its own legal basis,
  until its `retained_until`.

So when the listing was shielded, revoked, deleted or has expired, or its term is
over though the court has not recorded the deletion (SPC2017 art.10 para.2: the
court deletes within 3 working days of the term's end; the rules engine opens that
obligation from the clock) or `LISTING_TERM_EXPIRED` yet, but the agency has not
released its measure, the measure is **not active**: legally it must no longer be
enforced, and intercepting on it would repeat the wrong of LC-035. The answer lists
such measures separately as `stale` (with the agency), each with its
`stale_reason` ("listing … is SHIELDED: not to be enforced, its release is
owed"; "the term of listing … ended on <last day>: its deletion is due …"), so the
agency sees that its release is owed (overdue once its own deadline has passed,
which the obligations say).
`SUSPENDED` (objection under verification) is not active either.

Legal representatives. For an organisation debtor the consumption bans of group 七
(`CONSUMPTION_BANS`: trains, flights, star hotels, travel, private schools,
insurance, building, vehicles) also bind its legal representative (RULES.md §2,
SPC2015-CONS; §4 group 七). A resident ID is therefore matched both as a debtor's
identifier and as the `legal_rep_id` of organisation listings; measures found the
second way are only those bans, and each is reported with `role`
`LEGAL_REPRESENTATIVE` and `bound_as` "bound as legal representative of <org>".
Other measures of the organisation (procurement, credit granting, ...) bind the
organisation alone. Which listings an identifier matches and in what role
(`Subject`, `matched_listings`) and which of their measures bind it (`BINDS`) are
written once, here: the audit's `replay.questions.had_to_enforce` asks the history
tables with the same fragments, so it matches a subject exactly as the check does.

What can be intercepted at all. Matching needs the full identifier, and only the
court's push (`DEBTOR_IDENTIFIED`, the lifecycle's debtor block) carries it: the
resident ID of a person, the USCC of an organisation, the legal representative's
resident ID. A listing known only from the published list
(`LISTING_RECORD_PUBLISHED`) has the card number as the platform shows it, and a
person's is masked (`3501021985****0415`): such a listing has no `subject_id` and
can never match, whatever measures are applied to it; no lookup guesses from the
masked digits, which many people share. Organisation numbers are published whole,
so an organisation listed only by the platform is still matched by its
organisation code, but its legal representative is not (the platform shows the
name, never the ID). A clear answer therefore means "no enforceable measure on a
listing whose court pushed this identifier", not "not on the list".

Nothing projected, nothing to say. Tables that were migrated but never had an
event projected into them (no `shixin project`, `shixin demo` or `shixin replay`
has run) are empty, and every lookup in them finds nothing: that is not "clear".
`projected_as_of` tells the two apart and says how current the tables are (the
broker time of the newest event they were built from); `shixin check` reads it
with every lookup, in the lookup's snapshot (one REPEATABLE READ transaction),
refuses to answer when there is none (`NotProjected`: "could not check") and shows
it with the answer (`CheckResult.data_as_of`). `check` itself does not read it, so
a caller of the library that needs that guarantee calls `projected_as_of` too.

Cost: one round trip and one prepared statement (`lookup_statement`, schema
qualified); at the database one index scan per identifier role plus a primary-key
probe of `sanctions` per matched listing (bench/bench_projection.py measures it).
The term's last day is a column of the listing row already read: the term is
judged in Python against the check's day, with no further probe. (Rows projected
before `term_expires` was filled from the years of a decision hold it only where
the decision stated the day: rebuild such a schema with `shixin replay`, or
project into a new one.)
`projected_as_of` is one more round trip: a backward probe of
`events_broker_time_idx` (migration 003).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from contract import identifiers
from contract.vocab import AGENCIES, MEASURES, MEASURES_OF_AGENCY
from projections.migrate import DEFAULT_SCHEMA
from projections.rows import ENFORCEABLE_STATES, org_code_of

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Measures of group 七 (high and related consumption): for an organisation they
# bind its legal representative too (RULES.md §2, SPC2015-CONS; §4 group 七).
CONSUMPTION_BANS = frozenset(
    {
        "RAILWAY.TRAIN_RESTRICTION",
        "CIVIL_AVIATION.FLIGHT_BAN",
        "CULTURE_TOURISM.STAR_HOTEL",
        "CULTURE_TOURISM.OUTBOUND_GROUP_TRAVEL",
        "EDUCATION.HIGH_FEE_PRIVATE_SCHOOL",
        "FINANCIAL_REGULATION.CASH_VALUE_INSURANCE",
        "HOUSING.BUILD_RENOVATE",
        "PUBLIC_SECURITY.VEHICLE_PURCHASE",
    }
)
DEBTOR = "DEBTOR"
LEGAL_REPRESENTATIVE = "LEGAL_REPRESENTATIVE"

# Which listings a subject matches, and in what role: one plain index scan per
# identifier role (no bitmap OR): the debtor's full identifier
# (`listings_subject_idx`), the organisation code inside it
# (`listings_org_code_idx`), the legal representative's resident ID
# (`listings_legal_rep_idx`). A branch whose parameter is null finds nothing at
# once; a listing is found once (the later branches leave out the listings of the
# subject's own identifier). `{also}` is a further condition on every branch's
# listing row (empty for the current table; the version in effect for a history).
_MATCHED = """
    SELECT 'DEBTOR' AS role, listing_id, state AS listing_state, court_code,
           court_name, case_number, debtor_name, org_code, term_expires,
           decision_event, shield_event, revoke_event, delete_event
    FROM {listings} WHERE subject_id = %(subject)s{also}
    UNION ALL
    SELECT 'DEBTOR', listing_id, state, court_code, court_name, case_number,
           debtor_name, org_code, term_expires, decision_event, shield_event,
           revoke_event, delete_event
    FROM {listings}
    WHERE org_code = %(org_code)s AND subject_id IS DISTINCT FROM %(subject)s{also}
    UNION ALL
    SELECT 'LEGAL_REPRESENTATIVE', listing_id, state, court_code, court_name,
           case_number, debtor_name, org_code, term_expires, decision_event,
           shield_event, revoke_event, delete_event
    FROM {listings}
    WHERE legal_rep_id = %(subject)s AND subject_id IS DISTINCT FROM %(subject)s{also}
"""
_BANS = ", ".join(f"'{code}'" for code in sorted(CONSUMPTION_BANS))
# Which measures of a matched listing `l` bind the subject in its role: all of them
# as debtor, the consumption bans alone as legal representative (the measure `s`).
BINDS = f"(l.role = 'DEBTOR' OR s.measure_code IN ({_BANS}))"


def matched_listings(listings: str, version: str = "") -> str:
    """The subquery of the rows of `listings` (a table name, qualified and quoted
    as needed) matched by the parameters `subject` and `org_code` of
    `lookup_params`, as the columns `role` (`DEBTOR` | `LEGAL_REPRESENTATIVE`),
    `listing_id`, `listing_state`, court, case, `debtor_name`, `org_code`,
    `term_expires` and the decision/shield/revoke/delete event ids. `version` is
    appended to every branch's condition (`" AND ..."` on the listing's columns).
    Alias it `l` and keep only the measures `s` for which `BINDS` holds."""
    return _MATCHED.format(listings=listings, also=version)


# One statement: the matched listings, and each one's sanctions through the
# primary key of `sanctions` (listing_id leads it); a listing with none of the
# measures asked about comes once, its sanction columns NULL (`Listed`). The plan
# is shown by tests and the benchmark.
_TEMPLATE = """
SELECT l.role, l.listing_id, l.listing_state, l.court_code, l.court_name,
       l.case_number, l.debtor_name, l.org_code, l.term_expires, l.decision_event,
       l.shield_event, l.revoke_event, l.delete_event, s.agency, s.measure_code,
       s.state AS sanction_state, s.since, s.legal_basis, s.retained_until,
       s.trigger_event, s.last_event
FROM ({matched}) l
LEFT JOIN {sanctions} s ON s.listing_id = l.listing_id
  AND (%(agency)s::text IS NULL OR s.agency = %(agency)s)
  AND (%(measure)s::text IS NULL OR s.measure_code = %(measure)s)
  AND {binds}
ORDER BY l.listing_id, s.agency, s.measure_code
"""


def _statement(listings: str, sanctions: str) -> str:
    return _TEMPLATE.format(
        matched=matched_listings(listings), sanctions=sanctions, binds=BINDS
    )


def qualified(schema: str, table: str) -> str:
    """`table` of `schema`, the schema quoted as an SQL identifier."""
    return '"' + schema.replace('"', '""') + '".' + table


# The lookup against the tables of the current `search_path`.
LOOKUP = _statement("listings", "sanctions")
_QUALIFIED: dict[str, str] = {}


def lookup_statement(schema: str) -> str:
    """The lookup against the tables of `schema`, qualified: no `SET search_path`
    round trip per check, and one server-side prepared statement per schema."""
    text = _QUALIFIED.get(schema)
    if text is None:
        text = _statement(qualified(schema, "listings"), qualified(schema, "sanctions"))
        _QUALIFIED[schema] = text
    return text


def lookup_params(
    subject: str,
    org_code: str | None,
    agency: str | None = None,
    measure: str | None = None,
) -> dict[str, Any]:
    """Parameters of `LOOKUP` (and of `matched_listings`): the normalised subject,
    the organisation code inside it (None for a resident ID), and the optional
    agency and measure filters (`Subject` gives the first two). A resident ID
    subject is matched as debtor and as legal representative."""
    return {"subject": subject, "org_code": org_code, "agency": agency,
            "measure": measure}  # fmt: skip


class CheckInputError(ValueError):
    """An argument of a check that cannot be checked as given: the message names the
    field, the value and what was expected."""


class SubjectError(CheckInputError):
    """The subject identifier is not a valid resident ID, USCC or organisation code."""


class CodeError(CheckInputError):
    """An agency or measure code outside the catalogue (`contract.vocab.AGENCIES`,
    `contract.vocab.MEASURES`)."""


def _folded(code: str) -> str:
    """A code as the catalogue spells it: NFKC (full-width input), no surrounding
    space, upper case."""
    return unicodedata.normalize("NFKC", code).strip().upper()


def normalized_agency(agency: str, field: str = "agency") -> str:
    """The agency code in the catalogue's spelling (`pboc` -> `PBOC`), or
    `CodeError` naming the value and listing the valid codes."""
    value = _folded(agency)
    if value not in AGENCIES:
        raise CodeError(
            f"{field} {agency!r} is not an agency code: expected one of "
            f"{', '.join(AGENCIES)} (any case)"
        )
    return value


def normalized_measure(measure: str, field: str = "measure") -> str:
    """The measure code in the catalogue's spelling (`railway.train_restriction` ->
    `RAILWAY.TRAIN_RESTRICTION`), or `CodeError` naming the value and the valid
    codes of `contract.vocab.MEASURES` (the agency's own when it has some)."""
    value = _folded(measure)
    if value in MEASURES:
        return value
    agency = value.partition(".")[0]
    own = MEASURES_OF_AGENCY.get(agency)
    expected = (
        f"one of {agency}'s: {', '.join(own)}"
        if own
        else f"AGENCY.MEASURE, one of {', '.join(MEASURES)}"
    )
    raise CodeError(
        f"{field} {measure!r} is not a measure code of the catalogue: expected "
        f"{expected} (any case)"
    )


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
    role: str = DEBTOR  # DEBTOR | LEGAL_REPRESENTATIVE (of the listed organisation)
    debtor_name: str | None = None
    org_code: str | None = None
    # last day of the listing term (`listings.term_expires`), None: no term
    term_expires: date | None = None
    # why a stale measure is not to be enforced (None for an active one)
    stale_reason: str | None = None

    @property
    def bound_as(self) -> str:
        """How the measure binds the subject, in words."""
        return bound_as(self.role, self.debtor_name, self.org_code)


def bound_as(role: str, debtor_name: str | None, org_code: str | None) -> str:
    """How a measure of a listing (of debtor `debtor_name`, organisation code
    `org_code`) binds a subject matched in `role`, in words."""
    if role == LEGAL_REPRESENTATIVE:
        org = debtor_name or "the listed organisation"
        code = f" ({org_code})" if org_code else ""
        return f"bound as legal representative of {org}{code}"
    return "bound as debtor"


_STANDING = frozenset({"APPLIED", "RETAINED", "SUSPENDED"})


@dataclass(frozen=True, slots=True)
class Listed:
    """A listing in force of which the subject is the debtor, with no measure (of
    the agency or measure asked about) standing on it: none recorded, or only
    released ones (released when an earlier listing ended, not applied again on
    the relisting). Nothing to intercept on, but the subject is on the list and the
    agency has not recorded applying its measure."""

    listing_id: str
    listing_state: str
    court_code: str | None
    case_number: str | None
    term_expires: date | None


@dataclass(frozen=True, slots=True)
class CheckResult:
    subject: str
    subject_kind: str  # RESIDENT_ID | USCC | ORG_CODE
    intercept: bool
    active: list[Measure]
    # listing ended or its term over, agency has not released: not to enforce
    stale: list[Measure]
    checked_at: datetime
    # broker time of the newest event the tables were projected from, when the
    # caller read it (`projected_as_of`; `shixin check` always does)
    data_as_of: datetime | None = None
    # listings in force of the subject (as debtor) with no such measure recorded
    listed: list[Listed] = field(default_factory=list)

    def with_data_as_of(self, instant: datetime) -> CheckResult:
        """The same answer, saying how current the tables it was read from are."""
        return replace(self, data_as_of=instant)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("active", "stale"):
            for measure, plain in zip(getattr(self, name), data[name], strict=True):
                plain["bound_as"] = measure.bound_as
        return data


class NotProjected(LookupError):
    """The schema's tables exist but no event was ever projected into them: every
    lookup would find nothing, which is not a clear answer."""

    def __init__(self, schema: str) -> None:
        super().__init__(
            f"schema {schema!r} is migrated but no event has been projected into "
            "it yet: its query tables are not built (run `shixin project --schema "
            f"{schema}`, or `shixin demo` for the sample; or name the projected "
            "schema: --schema or LEDGER_SCHEMA)"
        )
        self.schema = schema


def projected_as_of(conn: psycopg.Connection, schema: str = DEFAULT_SCHEMA) -> datetime:
    """Broker time (UTC) of the newest event projected into `schema`: how current
    its query tables are. Derived events count with the broker time of the ledger
    or clock event that caused them. `NotProjected` when no event ever was (the
    projector, a demo or a replay never applied anything there).

    It says what the newest input is, not that every partition has been read up
    to it: a projector lagging on one partition is not seen here."""
    row = conn.execute(as_of_statement(schema), prepare=True).fetchone()
    if row is None or row[0] is None:
        raise NotProjected(schema)
    instant: datetime = row[0]
    return instant.astimezone(UTC)


_AS_OF: dict[str, str] = {}


def as_of_statement(schema: str) -> str:
    """The statement of `projected_as_of` for `schema`, qualified: a backward probe
    of `events_broker_time_idx`."""
    text = _AS_OF.get(schema)
    if text is None:
        text = f"SELECT max(broker_time) FROM {qualified(schema, 'events')}"
        _AS_OF[schema] = text
    return text


def normalized_subject(subject: str) -> str:
    """The identifier as stored: full-width characters (what Chinese input methods
    type) folded to ASCII by NFKC, upper case, without spaces and hyphens."""
    value = unicodedata.normalize("NFKC", subject)
    return "".join(value.split()).upper().replace("-", "")


def subject_kind(subject: str) -> str:
    """Which identifier the subject is, after checking its check character."""
    value = normalized_subject(subject)
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
    if "*" in value:
        raise SubjectError(
            f"subject {subject!r} is a masked number, as the platform publishes "
            "it, which many people share: expected the full resident ID, USCC or "
            "organisation code"
        )
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


@dataclass(frozen=True, slots=True)
class Subject:
    """A subject's identifier as the lookup matches it (`matched_listings`)."""

    value: str  # normalised (`normalized_subject`): as listings store it
    kind: str  # RESIDENT_ID | USCC | ORG_CODE
    org_code: str | None  # inside a USCC, or the code itself; None for a person

    @classmethod
    def of(cls, subject: str) -> Subject:
        """The subject as given (any spelling `normalized_subject` folds), its
        check character checked (`SubjectError` otherwise: a masked number, with
        its `*`, never is an identifier)."""
        kind = subject_kind(subject)
        value = normalized_subject(subject)
        return cls(value, kind, org_code_of(value) if kind != "RESIDENT_ID" else None)

    def params(
        self, agency: str | None = None, measure: str | None = None
    ) -> dict[str, Any]:
        """`lookup_params` for this subject."""
        return lookup_params(self.value, self.org_code, agency, measure)


def term_ended(term_expires: date | None, today: date) -> bool:
    """Whether a listing term whose last day is `term_expires` had ended by `today`
    (Asia/Shanghai dates): the last day is still within the term."""
    return term_expires is not None and today > term_expires


def is_active(
    listing_state: str,
    sanction_state: str,
    legal_basis: str | None,
    retained_until: date | None,
    today: date,
    term_expires: date | None = None,
) -> bool:
    """The rule of the module docstring, for one listing and measure. The audit's
    `replay.questions.had_to_enforce` applies it too, to the day asked about."""
    if sanction_state == "RETAINED":
        return (
            bool(legal_basis) and retained_until is not None and today <= retained_until
        )
    return (
        sanction_state == "APPLIED"
        and listing_state in ENFORCEABLE_STATES
        and not term_ended(term_expires, today)
    )


def stale_reason(
    listing_id: str, listing_state: str, term_expires: date | None, today: date
) -> str:
    """Why an `APPLIED` measure of a listing is not to be enforced on `today`."""
    if (
        listing_state in ENFORCEABLE_STATES
        and term_expires is not None
        and term_ended(term_expires, today)
    ):
        return (
            f"the term of listing {listing_id} ended on {term_expires.isoformat()}: "
            "its deletion is due (SPC2017 art.10 para.2, within 3 working days) "
            "and its measures are not to be enforced from "
            f"{(term_expires + timedelta(days=1)).isoformat()}"
        )
    return (
        f"listing {listing_id} is {listing_state}: not to be enforced, its release "
        "is owed"
    )


def check(
    conn: psycopg.Connection,
    subject: str,
    agency: str | None = None,
    measure: str | None = None,
    schema: str = DEFAULT_SCHEMA,
    at: datetime | None = None,
) -> CheckResult:
    """Whether `subject` is under an active measure (of `agency`, `measure`) now.

    `agency` and `measure` are matched in any case; a code outside the catalogue is
    a `CodeError`, a bad subject a `SubjectError` (both `CheckInputError`): a filter
    that can match nothing would answer "clear" without having checked."""
    who = Subject.of(subject)
    agency = None if agency is None else normalized_agency(agency)
    measure = None if measure is None else normalized_measure(measure)
    if agency is not None and measure is not None:
        own = MEASURES_OF_AGENCY.get(agency, ())
        if measure not in own:
            raise CodeError(
                f"measure {measure!r} is not a measure of agency {agency}: expected "
                f"one of {', '.join(own) or '(none)'}, or no --agency"
            )
    now = at or datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()

    statement = lookup_statement(schema)
    with conn.cursor() as cur:
        cur.execute(statement, who.params(agency, measure), prepare=True)
        columns = [d.name for d in cur.description or ()]
        found = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]

    active: list[Measure] = []
    stale: list[Measure] = []
    # the subject's listings in force as debtor, and those with a measure asked
    # about standing on them (applied, retained or suspended; a released one is not:
    # released when the listing ended, it is not re-applied by a relisting)
    in_force: dict[str, Listed] = {}
    standing: set[str] = set()
    for r in found:
        if (
            r["role"] == DEBTOR
            and r["listing_state"] in ENFORCEABLE_STATES
            and not term_ended(r["term_expires"], today)
        ):
            in_force.setdefault(
                r["listing_id"],
                Listed(
                    r["listing_id"],
                    r["listing_state"],
                    r["court_code"],
                    r["case_number"],
                    r["term_expires"],
                ),
            )
            if r["sanction_state"] in _STANDING:
                standing.add(r["listing_id"])
        if r["sanction_state"] is None:  # no measure asked about on this listing
            continue
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
            role=r["role"],
            debtor_name=r["debtor_name"],
            org_code=r["org_code"],
            term_expires=r["term_expires"],
        )
        if is_active(
            m.listing_state,
            m.sanction_state,
            m.legal_basis,
            m.retained_until,
            today,
            m.term_expires,
        ):
            active.append(m)
        elif m.sanction_state == "APPLIED":
            reason = stale_reason(m.listing_id, m.listing_state, m.term_expires, today)
            stale.append(replace(m, stale_reason=reason))
    logger.debug(
        "checked subject_kind=%s agency=%s measure=%s active=%d stale=%d "
        "as_legal_rep=%d",
        who.kind,
        agency,
        measure,
        len(active),
        len(stale),
        sum(1 for m in active if m.role == LEGAL_REPRESENTATIVE),
    )
    listed = [entry for key, entry in in_force.items() if key not in standing]
    return CheckResult(
        who.value, who.kind, bool(active), active, stale, now, listed=listed
    )
