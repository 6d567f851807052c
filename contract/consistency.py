"""Checks across the fields of one record, made once each field is valid on its own.

Courts (RULES.md §6.1). A court code begins with its province's abbreviation (闽 is
Fujian, CN-35); the Supreme People's Court (最高法) is of every province. The ledger is
not one province's: a lifecycle says its `jurisdiction`, a listing its `province` (or
its case number does), and every court code of the record must be of that province.
A court name that begins with a province (北京市…, 广东省…) must be of it too. The court
directory (`rules.courts`) names only some of Fujian's courts, so a name it does not
know is accepted as it is; a name it knows is the court of its code, and must be the
court the record says: a listing's executing court is the court of its case number,
an objection is referred to the case's court, a reconsideration goes to the court
next above the one whose review decision it contests (SPC2017 art.12).

Dates (RULES.md §2). A listing is decided in an execution case, then served and
published; a correction request comes before its review, an answer after the act it
answers (`refers_to`), which must be another act of its lifecycle. An act dated a
day before an act it cannot precede is rejected, naming both. Days, not instants,
are compared, in the lifecycle's time zone: some sources record an act by its date
only (00:00), and periods are counted in days (CPL art.85). Nothing else about
order is required: a listing may be published before its decision is served, a
measure applied before service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from contract import identifiers
from contract.errors import InputError
from contract.vocab import LIFECYCLE_TYPES, PROVINCE_OF_COURT_PREFIX, PROVINCE_OF_NAME
from rules.courts import CODES_BY_NAME, COURT_NAMES

if TYPE_CHECKING:
    from contract.inputs import EventIn, LifecycleIn

SUPREME_COURT = "最高法"

NAME_OF_PROVINCE: dict[str, str] = {
    code: name for name, code in PROVINCE_OF_NAME.items()
}
PREFIX_OF_PROVINCE: dict[str, str] = {}
for _prefix, _code in PROVINCE_OF_COURT_PREFIX.items():
    PREFIX_OF_PROVINCE.setdefault(_code, _prefix)
_PROVINCE_SUFFIXES = ("省", "市", "自治区", "壮族自治区", "回族自治区", "维吾尔自治区")


def court_province(code: str) -> str | None:
    """Two-digit province code of a court code; None for the Supreme People's Court
    (or a code of no known province, which the code's own validation rejects)."""
    if code == SUPREME_COURT or not code:
        return None
    return PROVINCE_OF_COURT_PREFIX.get(code[0])


def _case_court(case_number: str) -> str | None:
    """Court code of a 2016-style case number (None for the pre-2016 style)."""
    match = identifiers.CASE_NUMBER.match(case_number)
    return match["court"] if match else None


@lru_cache(maxsize=1024)
def named_province(name: str) -> str | None:
    """Province code of a court name that begins with a province (福建省…, 北京市…,
    广西壮族自治区…); None when the name does not say its province."""
    for short, code in PROVINCE_OF_NAME.items():
        if name.startswith(short) and name[len(short) :].startswith(_PROVINCE_SUFFIXES):
            return code
    return None


def _province_text(code: str) -> str:
    name = NAME_OF_PROVINCE.get(code, "?")
    return f"CN-{code} ({name}, court codes {PREFIX_OF_PROVINCE.get(code, '?')}…)"


def _court_text(code: str) -> str:
    name = COURT_NAMES.get(code)
    return f"{code} {name}" if name else code


def _next_higher(code: str) -> str | None:
    """The court next above a court of the directory (闽0203 → 闽02 → 闽 → 最高法);
    None for a court the directory does not know (special courts follow other
    numbering, RULES.md §6.1)."""
    if code not in COURT_NAMES:
        return None
    digits = len(code) - 1
    if digits == 4:
        return code[:3]
    if digits == 2:
        return code[0]
    return SUPREME_COURT if digits == 0 else None


@lru_cache(maxsize=1024)
def code_problem(code: str, province: str, whose: str) -> str | None:
    """What was expected of a court code that is not of `province`; None if it is
    (or is the Supreme People's Court's)."""
    found = court_province(code)
    if found is None or found == province:
        return None
    return (
        f"a court of {whose} {_province_text(province)} or {SUPREME_COURT};"
        f" {code[0]} is the court code of {_province_text(found)}"
    )


@lru_cache(maxsize=1024)
def name_problem(name: str, province: str, whose: str) -> str | None:
    """What was expected of a court name that says another province; None if it
    does not."""
    found = named_province(name)
    if found is None or found == province:
        return None
    return (
        f"a court of {whose} {_province_text(province)}; {name} is a court"
        f" of {NAME_OF_PROVINCE.get(found, found)}"
    )


@lru_cache(maxsize=4096)
def _actor_problem(
    code: str | None, name: str | None, province: str
) -> tuple[str, str, str] | None:
    """(field, value, expected) of what is wrong with a court actor, or None:
    actors repeat from act to act, so each is judged once."""
    if code is not None:
        problem = code_problem(code, province, _WHOSE)
        if problem is not None:
            return "code", code, problem
    if name is None:
        return None
    problem = name_problem(name, province, _WHOSE)
    if problem is not None:
        return "name", name, problem
    known = CODES_BY_NAME.get(name)
    if known is not None and code is not None and known != code:
        return (
            "name",
            name,
            f"the name of the acting court {_court_text(code)} (actor.code); the"
            f" court directory gives {name} the code {known}",
        )
    return None


# Listings


def listing_problems(
    where: str,
    case_number: str,
    province: str | None,
    executing_court: str,
    filing_date: date | None,
    publish_date: date,
    shown_publish_date: Any,
) -> list[InputError]:
    """What the fields of one published entry say against each other."""
    errors: list[InputError] = []
    court = _case_court(case_number)
    case_province = court_province(court) if court else None
    said = PROVINCE_OF_NAME.get(province) if province is not None else None
    if case_province is not None and said is not None and case_province != said:
        errors.append(
            InputError(
                where,
                "case_number",
                case_number,
                f"a case number of a court of the entry's province {province}"
                f" ({PREFIX_OF_PROVINCE.get(said, '?')}…); {court} is a court of"
                f" {_province_text(case_province)}",
            )
        )
        court = case_province = None  # one problem: the court is not compared
    home = case_province or said
    if home is not None:
        problem = name_problem(executing_court, home, "the entry's province")
        code = CODES_BY_NAME.get(executing_court)
        if problem is None and code is not None and court is not None:
            if code != court:
                problem = (
                    f"the court of the case number, {_court_text(court)}; the court"
                    f" directory gives {executing_court} the code {code}"
                )
        if problem is not None:
            errors.append(
                InputError(where, "executing_court", executing_court, problem)
            )
    if filing_date is not None and publish_date < filing_date:
        errors.append(
            InputError(
                where,
                "publish_date",
                shown_publish_date,
                f"a date on or after filing_date {filing_date.isoformat()}: an entry"
                " is published after its execution case was filed (RULES.md §2, §5)",
            )
        )
    return errors


# Lifecycles

FILED = "EXECUTION_CASE_FILED"
DECIDED = "LISTING_DECISION_MADE"
_IN_THE_CASE = (FILED, "it is an act of the execution case, filed before it")
_OF_THE_LISTING = (DECIDED, "it concerns a listing, decided before it")

# Act -> the acts (each its earliest in the lifecycle) it cannot come a day before;
# the first one it does come before is named.
MUST_FOLLOW: dict[str, tuple[tuple[str, str], ...]] = {
    "EXECUTION_NOTICE_SERVED": (_IN_THE_CASE,),
    "LISTING_APPLICATION_REJECTED": (
        ("LISTING_APPLICATION_RECEIVED", "an application is rejected once received"),
    ),
    DECIDED: ((FILED, "a listing is decided in an execution case (SPC2017 art.5)"),),
    "LISTING_DECISION_SERVED": (
        _IN_THE_CASE,
        (DECIDED, "a decision is served once made (SPC2017 art.5)"),
    ),
    "LISTING_PUBLISHED": (
        (FILED, "a listing is published in an execution case filed before it"),
        (DECIDED, "a listing is published once decided (SPC2017 art.5, art.7)"),
    ),
    "CORRECTION_REQUESTED": (_OF_THE_LISTING,),
    "CORRECTION_REVIEW_DECIDED": (
        ("CORRECTION_REQUESTED", "a request is reviewed once made (SPC2017 art.12)"),
    ),
    "REVIEW_DECISION_SERVED": (
        ("CORRECTION_REVIEW_DECIDED", "a review decision is served once made"),
    ),
    "RECONSIDERATION_REQUESTED": (
        (
            "CORRECTION_REVIEW_DECIDED",
            "reconsideration is requested of a review decision made (SPC2017 art.12)",
        ),
    ),
    "RECONSIDERATION_DECIDED": (
        (
            "RECONSIDERATION_REQUESTED",
            "a reconsideration is decided once requested (SPC2017 art.12)",
        ),
    ),
    "LISTING_REVOKED": (_OF_THE_LISTING,),
    "LISTING_CORRECTED": (_OF_THE_LISTING,),
    "LISTING_SHIELDED": (_OF_THE_LISTING,),
    "LISTING_DELETED": (_OF_THE_LISTING,),
    "EARLY_DELETION_DECIDED": (_OF_THE_LISTING,),
    "LISTING_TERM_EXPIRED": (_OF_THE_LISTING,),
    "LISTING_WITHDRAWN_FROM_PUBLICATION": (_OF_THE_LISTING,),
    "SANCTION_APPLIED": ((DECIDED, "a measure is applied to a debtor once listed"),),
    **{
        kind: (("SANCTION_APPLIED", "a measure is acted on once applied"),)
        for kind in (
            "SANCTION_ENFORCED",
            "SANCTION_SUSPENDED",
            "SANCTION_RESUMED",
            "SANCTION_RELEASED",
            "SANCTION_RETAINED",
        )
    },
}
_FOLLOWED = frozenset(t for needs in MUST_FOLLOW.values() for t, _ in needs)
_COURT_FIELDS = ("case_number", "to_court")


@cache
def _roles() -> dict[str, tuple[bool, bool, bool]]:
    """Event type -> (acts must follow it, it must follow acts, its payload names a
    court: a field of `_COURT_FIELDS` in its schema); types with none are left out."""
    from contract.codec import schema_for

    named = {
        kind
        for kind in LIFECYCLE_TYPES
        if any(f["name"] in _COURT_FIELDS for f in schema_for(kind).schema["fields"])
    }
    return {
        kind: (kind in _FOLLOWED, kind in MUST_FOLLOW, kind in named)
        for kind in _FOLLOWED | set(MUST_FOLLOW) | named
    }


_REVIEW = "CORRECTION_REVIEW_DECIDED"
_WHOSE = "the lifecycle's jurisdiction"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _day_before(late: datetime, early: datetime, zone: ZoneInfo) -> bool:
    """Whether `late` is on a day before `early`'s in `zone`. An instant's date as
    written is within 2 days of its date in any zone (offsets are under 24 hours,
    zones' under 15), so dates written 5 days apart need no conversion, nor does an
    instant not before the other (the usual cases: converting costs ~0.35 µs)."""
    apart = late.toordinal() - early.toordinal()
    if apart >= 5 or (apart > -5 and late >= early):
        return False
    return late.astimezone(zone).date() < early.astimezone(zone).date()


def _event_record(name: str, event: EventIn) -> str:
    """The record an error names: the lifecycle's, then the event's id (made only
    for an error)."""
    return f"{name} event {event.event_id}"


def lifecycle_problems(
    name: str,
    record: LifecycleIn,
    raw: dict[str, Any],
    payloads: list[dict[str, Any]],
) -> list[InputError]:
    """What the acts of one lifecycle say against each other and its head: courts
    of its jurisdiction, dates in an order the rules allow. `raw` is the record as
    validated (values as given, for the errors), `payloads` its validated payloads."""
    errors: list[InputError] = []
    province = record.jurisdiction[3:]
    case_court = _case_court(record.case_number)
    problem = code_problem(case_court, province, _WHOSE) if case_court else None
    if problem is not None:
        # said once; the acts' courts are not compared with a wrong province
        errors.append(InputError(name, "case_number", record.case_number, problem))
    courts = problem is None
    zone = _zone(record.timezone)
    events = record.events
    first: dict[str, int] = {}  # a type acts must follow -> index of its earliest
    later: list[int] = []  # acts that must follow others
    answers: list[int] = []  # acts that refer_to another
    review_court: str | None = None
    judged: set[int] = set()  # court actors found right (shared objects, by id)
    roles = _roles()
    for index, event in enumerate(events):
        actor = event.actor
        if courts and actor.kind == "COURT" and id(actor) not in judged:
            found = _actor_problem(actor.code, actor.name, province)
            if found is None:
                judged.add(id(actor))
            else:
                field, value, expected = found
                errors.append(
                    InputError(
                        _event_record(name, event),
                        f"events.{index}.actor.{field}",
                        value,
                        expected,
                    )
                )
        payload = payloads[index]
        if payload and "refers_to" in payload:
            answers.append(index)
        if actor.kind == "AGENCY" and payload and "measure_code" in payload:
            measure = payload["measure_code"]
            if measure.partition(".")[0] != actor.code:
                errors.append(
                    InputError(
                        _event_record(name, event),
                        f"events.{index}.payload.measure_code",
                        measure,
                        f"a measure of the acting agency {actor.code} (its code"
                        f" begins {actor.code}.): an agency applies, enforces and"
                        " releases its own measures",
                    )
                )
        kind = event.type
        if kind in _END_DATES and payload:
            _end_date(errors, name, event, index, raw, payload, zone)
        if kind in _TERM_YEARS and payload:
            _term_years(errors, name, event, index, payload)
        role = roles.get(kind)
        if role is None:
            continue
        followed, follows, court_fields = role
        if followed:
            earliest = first.get(kind)
            if earliest is None or event.at < events[earliest].at:
                first[kind] = index
        if follows:
            later.append(index)
        if kind == _REVIEW and actor.kind == "COURT" and actor.code:
            review_court = actor.code
        if courts and court_fields and payload:
            _payload_courts(
                errors, name, event, index, payload, province, case_court, review_court
            )
    if later or answers:
        _orders(errors, name, events, raw, zone, first, later, answers, payloads)
    return errors


def _payload_courts(
    errors: list[InputError],
    name: str,
    event: EventIn,
    index: int,
    payload: dict[str, Any],
    province: str,
    case_court: str | None,
    review_court: str | None,
) -> None:
    number = payload.get("case_number")
    court = _case_court(number) if number is not None else None
    if court == case_court:
        court = None  # the lifecycle's own court, checked with its case number
    problem = code_problem(court, province, _WHOSE) if court else None
    if problem is not None:
        field = f"events.{index}.payload.case_number"
        errors.append(InputError(_event_record(name, event), field, number, problem))
    to_court = payload.get("to_court")
    if to_court is None:
        return
    problem = name_problem(to_court, province, _WHOSE)
    code = CODES_BY_NAME.get(to_court)
    kind = event.type
    if problem is not None or code is None:
        pass
    elif kind == "OBJECTION_REFERRED_TO_COURT":
        if case_court is not None and code != case_court:
            problem = (
                f"the executing court of the case, {_court_text(case_court)} (an"
                " objection is referred to the executing court, FJ2016); the court"
                f" directory gives {to_court} the code {code}"
            )
    elif kind == "RECONSIDERATION_REQUESTED":
        contested = review_court or case_court
        higher = _next_higher(contested) if contested is not None else None
        if contested is not None and higher is not None and code != higher:
            problem = (
                f"the court next above {_court_text(contested)}, whose review"
                f" decision is contested: {_court_text(higher)} (SPC2017 art.12);"
                f" the court directory gives {to_court} the code {code}"
            )
    if problem is not None:
        field = f"events.{index}.payload.to_court"
        errors.append(InputError(_event_record(name, event), field, to_court, problem))


# Dates an act states that cannot be before the act's own day: where in its payload,
# and why.
_END_DATES: dict[str, tuple[tuple[str, ...], str]] = {
    DECIDED: (
        ("listing_term", "expires"),
        "a term runs from the decision (SPC2017 art.2)",
    ),
    "SANCTION_RETAINED": (
        ("retention_until",),
        "a retention runs from the act that retains the measure",
    ),
    "EARLY_DELETION_DECIDED": (
        ("before_term_end",),
        "an early deletion precedes the end of the term",
    ),
}


# Where an act states a listing term in years.
_TERM_YEARS: dict[str, tuple[str, ...]] = {
    DECIDED: ("listing_term", "years"),
    "LISTING_TERM_EXPIRED": ("term_years",),
}


def _at_path(payload: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at `path` (keys of nested objects) in `payload`, or None."""
    value: Any = payload
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _term_years(
    errors: list[InputError],
    name: str,
    event: EventIn,
    index: int,
    payload: dict[str, Any],
) -> None:
    path = _TERM_YEARS[event.type]
    value = _at_path(payload, path)
    if value is None or (type(value) is int and 2 <= value <= 5):
        return
    errors.append(
        InputError(
            _event_record(name, event),
            f"events.{index}.payload." + ".".join(path),
            value,
            "a listing term of 2 to 5 years (SPC2017 art.2: 2 years, 1 to 3 more for"
            " violence or threats or several acts), or none",
        )
    )


def _end_date(
    errors: list[InputError],
    name: str,
    event: EventIn,
    index: int,
    raw: dict[str, Any],
    payload: dict[str, Any],
    zone: ZoneInfo,
) -> None:
    path, why = _END_DATES[event.type]
    value = _at_path(payload, path)
    if not isinstance(value, date):
        return
    if value.toordinal() - event.at.toordinal() >= 3:
        return  # surely on or after the act's day (see _day_before)
    day = event.at.astimezone(zone).date()
    if value < day:
        shown = _at_path(raw["events"][index]["payload"], path)  # as written
        errors.append(
            InputError(
                _event_record(name, event),
                f"events.{index}.payload." + ".".join(path),
                shown,
                f"a date on or after the act's own, events.{index}.at"
                f" {raw['events'][index]['at']} ({day.isoformat()}): {why}",
            )
        )


def _orders(
    errors: list[InputError],
    name: str,
    events: Sequence[EventIn],
    raw: dict[str, Any],
    zone: ZoneInfo,
    first: dict[str, int],
    later: list[int],
    answers: list[int],
    payloads: list[dict[str, Any]],
) -> None:
    """An act a day before an act it needs (see `_day_before`, inlined here for
    the usual case of dates written 5 days apart)."""
    found: dict[int, tuple[int, str]] = {}
    for index in later:
        event = events[index]
        at = event.at
        wall = at.toordinal()
        for earlier_type, why in MUST_FOLLOW[event.type]:
            earlier = first.get(earlier_type)
            if earlier is None:
                continue
            early = events[earlier].at
            if wall - early.toordinal() < 5 and _day_before(at, early, zone):
                found[index] = (earlier, why)
                break
    if answers:
        index_of = {e.event_id: i for i, e in enumerate(events)}  # ids are unique
        for index in answers:
            refers_to = payloads[index]["refers_to"]
            referred = index_of.get(refers_to)
            if referred is None or referred == index:
                # An answer to no act of the lifecycle: the rules could not tell
                # which obligation it meets, so it would meet none.
                errors.append(
                    InputError(
                        _event_record(name, events[index]),
                        f"events.{index}.payload.refers_to",
                        refers_to,
                        "the event_id of another act of this lifecycle (the act"
                        " this one answers)",
                    )
                )
                continue
            if index in found:
                continue
            if _day_before(events[index].at, events[referred].at, zone):
                found[index] = (referred, "an act comes after the act it answers")
    raw_events = raw["events"]
    for index in sorted(found):
        earlier, why = found[index]
        other = raw_events[earlier]
        errors.append(
            InputError(
                _event_record(name, events[index]),
                f"events.{index}.at",
                raw_events[index]["at"],
                f"a date on or after events.{earlier}.at {other['at']}"
                f" ({other['type']} {other['event_id']}): {why}",
            )
        )
