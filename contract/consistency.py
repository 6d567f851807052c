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
answers (`refers_to`). An act dated a day before an act it cannot precede is
rejected, naming both. Days, not instants, are compared, in the lifecycle's time
zone: some sources record an act by its date only (00:00), and periods are counted
in days (CPL art.85). Nothing else about order is required: a listing may be
published before its decision is served, a measure applied before service.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from contract import identifiers
from contract.errors import InputError
from contract.vocab import PROVINCE_OF_COURT_PREFIX, PROVINCE_OF_NAME
from rules.courts import CODES_BY_NAME, COURT_NAMES

if TYPE_CHECKING:
    from contract.inputs import ActorIn, EventIn, LifecycleIn

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


class _Problems:
    """Errors of one record, in the order found."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []

    def add(self, record: str, field: str, value: Any, expected: str) -> None:
        self.errors.append(InputError(record, field, value, expected))

    def court_code(
        self,
        record: str,
        field: str,
        code: str,
        province: str,
        whose: str,
        shown: str | None = None,
    ) -> bool:
        """Check that a court code is of `province`; False if it is not. `shown` is
        the value the code was read from (a case number), if not the code itself."""
        found = court_province(code)
        if found is not None and found != province:
            self.add(
                record,
                field,
                code if shown is None else shown,
                f"a court of {whose} {_province_text(province)} or {SUPREME_COURT};"
                f" {code[0]} is the court code of {_province_text(found)}",
            )
            return False
        return True

    def court_name(
        self, record: str, field: str, name: str, province: str, whose: str
    ) -> str | None:
        """Check a court name's province; its code if the directory knows it."""
        found = named_province(name)
        if found is not None and found != province:
            self.add(
                record,
                field,
                name,
                f"a court of {whose} {_province_text(province)}; {name} is a court"
                f" of {NAME_OF_PROVINCE.get(found, found)}",
            )
            return None
        return CODES_BY_NAME.get(name)


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
    problems = _Problems()
    court = _case_court(case_number)
    case_province = court_province(court) if court else None
    said = PROVINCE_OF_NAME.get(province) if province is not None else None
    if case_province is not None and said is not None and case_province != said:
        problems.add(
            where,
            "case_number",
            case_number,
            f"a case number of a court of the entry's province {province}"
            f" ({PREFIX_OF_PROVINCE.get(said, '?')}…); {court} is a court of"
            f" {_province_text(case_province)}",
        )
        court = case_province = None  # one problem: the court is not compared
    home = case_province or said
    if home is not None:
        code = problems.court_name(
            where, "executing_court", executing_court, home, "the entry's province"
        )
        if code is not None and court is not None and code != court:
            problems.add(
                where,
                "executing_court",
                executing_court,
                f"the court of the case number, {_court_text(court)}; the court"
                f" directory gives {executing_court} the code {code}",
            )
    if filing_date is not None and publish_date < filing_date:
        problems.add(
            where,
            "publish_date",
            shown_publish_date,
            f"a date on or after filing_date {filing_date.isoformat()}: an entry is"
            " published after its execution case was filed (RULES.md §2, §5)",
        )
    return problems.errors


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
}
_REVIEW = "CORRECTION_REVIEW_DECIDED"
_WHOSE = "the lifecycle's jurisdiction"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


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
    problems = _Problems()
    province = record.jurisdiction[3:]
    case_court = _case_court(record.case_number)
    # A case number of another province: said once, the acts' courts not compared.
    courts = case_court is None or problems.court_code(
        name, "case_number", case_court, province, _WHOSE, record.case_number
    )
    zone = _zone(record.timezone)
    events = record.events
    days: list[date] = []
    first: dict[str, int] = {}  # event type -> index of its earliest act
    index_of: dict[str, int] = {}
    review_court: str | None = None
    for index, (event, payload) in enumerate(zip(events, payloads, strict=True)):
        day = event.at.astimezone(zone).date()
        days.append(day)
        kind = event.type
        earliest = first.get(kind)
        if earliest is None or day < days[earliest]:
            first[kind] = index
        index_of.setdefault(event.event_id, index)
        actor = event.actor
        if courts and actor.kind == "COURT":
            _court_actor(problems, name, event, index, actor, province)
            if kind == _REVIEW and actor.code:
                review_court = actor.code
        if courts and payload:
            _payload_courts(
                problems,
                name,
                event,
                index,
                payload,
                province,
                case_court,
                review_court,
            )
        if kind == DECIDED and payload.get("listing_term"):
            _term(problems, name, event, index, raw, payload, day)
    _orders(problems, name, events, raw, days, first, index_of, payloads)
    return problems.errors


def _court_actor(
    problems: _Problems,
    name: str,
    event: EventIn,
    index: int,
    actor: ActorIn,
    province: str,
) -> None:
    code = actor.code
    if code is not None and court_province(code) not in (None, province):
        where, field = _event_record(name, event), f"events.{index}.actor.code"
        problems.court_code(where, field, code, province, _WHOSE)
        return
    if actor.name is None:
        return
    where = _event_record(name, event)
    known = problems.court_name(
        where, f"events.{index}.actor.name", actor.name, province, _WHOSE
    )
    if known is not None and code is not None and known != code:
        problems.add(
            where,
            f"events.{index}.actor.name",
            actor.name,
            f"the name of the acting court {_court_text(code)} (actor.code); the"
            f" court directory gives {actor.name} the code {known}",
        )


def _payload_courts(
    problems: _Problems,
    name: str,
    event: EventIn,
    index: int,
    payload: dict[str, Any],
    province: str,
    case_court: str | None,
    review_court: str | None,
) -> None:
    number = payload.get("case_number")
    if number is not None:
        court = _case_court(number)
        if court is not None and court_province(court) not in (None, province):
            field = f"events.{index}.payload.case_number"
            where = _event_record(name, event)
            problems.court_code(where, field, court, province, _WHOSE, number)
    to_court = payload.get("to_court")
    if to_court is None:
        return
    where = _event_record(name, event)
    field = f"events.{index}.payload.to_court"
    code = problems.court_name(where, field, to_court, province, _WHOSE)
    if code is None:
        return
    kind = event.type
    if kind == "OBJECTION_REFERRED_TO_COURT":
        if case_court is None or code == case_court:
            return
        problems.add(
            where,
            field,
            to_court,
            f"the executing court of the case, {_court_text(case_court)} (an"
            " objection is referred to the executing court, FJ2016); the court"
            f" directory gives {to_court} the code {code}",
        )
    elif kind == "RECONSIDERATION_REQUESTED":
        contested = review_court or case_court
        if contested is None:
            return
        higher = _next_higher(contested)
        if higher is not None and code != higher:
            problems.add(
                where,
                field,
                to_court,
                f"the court next above {_court_text(contested)}, whose review"
                f" decision is contested: {_court_text(higher)} (SPC2017 art.12);"
                f" the court directory gives {to_court} the code {code}",
            )


def _term(
    problems: _Problems,
    name: str,
    event: EventIn,
    index: int,
    raw: dict[str, Any],
    payload: dict[str, Any],
    day: date,
) -> None:
    term = payload.get("listing_term")
    expires = term.get("expires") if isinstance(term, dict) else None
    if isinstance(expires, date) and expires < day:
        shown = raw["events"][index]["payload"]["listing_term"]["expires"]
        problems.add(
            _event_record(name, event),
            f"events.{index}.payload.listing_term.expires",
            shown,
            f"a date on or after the decision's, events.{index}.at"
            f" {raw['events'][index]['at']} ({day.isoformat()}): a term runs from"
            " the decision (SPC2017 art.2)",
        )


def _orders(
    problems: _Problems,
    name: str,
    events: Sequence[EventIn],
    raw: dict[str, Any],
    days: list[date],
    first: dict[str, int],
    index_of: dict[str, int],
    payloads: list[dict[str, Any]],
) -> None:
    raw_events = raw["events"]
    for index, event in enumerate(events):
        day = days[index]
        needs = MUST_FOLLOW.get(event.type, ())
        found: tuple[int, str] | None = None
        for earlier_type, why in needs:
            earlier = first.get(earlier_type)
            if earlier is not None and day < days[earlier]:
                found = (earlier, why)
                break
        if found is None:
            refers_to = payloads[index].get("refers_to")
            earlier = index_of.get(refers_to) if refers_to is not None else None
            if earlier is not None and day < days[earlier]:
                found = (earlier, "an act comes after the act it answers (refers_to)")
        if found is None:
            continue
        earlier, why = found
        other = raw_events[earlier]
        problems.add(
            _event_record(name, event),
            f"events.{index}.at",
            raw_events[index]["at"],
            f"a date on or after events.{earlier}.at {other['at']}"
            f" ({other['type']} {other['event_id']}): {why}",
        )
