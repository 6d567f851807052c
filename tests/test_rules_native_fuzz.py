"""Differential fuzz test: the native core (`rules.engine`, Rust) against the
pure-Python reference (`rules._reference`) over lifecycles built by hypothesis, far
less regular than the sample lifecycles and bench/bench_rules.py's generator.

A scenario is one listing: its jurisdiction (national, Fujian, another province,
the spellings the engine splits), optionally an explicit policy and a calendar with
extra layers, and a list of steps: acts of random types (every type the policy
names plus the ones the fold reads, a few it ignores) in random order, dated around
one base day or anywhere in 2013-2031 (holidays, weekends, adjusted working
Saturdays, New Year boundaries into the provisional years 2027+, the days rule sets
come into force), in several time zones; redeliveries, clock ticks as events and as
`advance`, `now=` moves, JSON round trips of the state. Payloads are mostly what the
contract allows (the fields the engine reads, with their vocabularies); a minority
are not (odd value types, bad dates, naive instants, another listing), and there
both engines must raise the same error with the same message.

Compared after every step: the derived events (repr and ==); after some steps and at
the end, the state (`to_dict()` repr, JSON, `to_json()`), the check rows, `next_due`,
`has_open` and the term expiry, as tests/test_rules_native.py's `Pair` does.

FUZZ_EXAMPLES sets the number of scenarios (default 800, derandomized for CI:
about 20 s);
FUZZ_SEED makes a longer local run random (e.g. FUZZ_EXAMPLES=5000 FUZZ_SEED=1);
FUZZ_SHRINK=0 reports a failure as found, without shrinking it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from test_rules_native import to_v1

from contract.event import Actor, LedgerEvent
from rules import _reference as ref
from rules import calendar as _calendar
from rules import engine as nat
from rules.calendar import LegalCalendar
from rules.cli import tick
from rules.policy import Policy, default_policy
from rules.state import ListingState, PyListingState

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "800"))
SEED = os.environ.get("FUZZ_SEED")
SHRINK = os.environ.get("FUZZ_SHRINK", "1") != "0"

LISTING = "LF-1"
CST = timezone(timedelta(hours=8))
ZONES = [
    CST,
    UTC,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=14)),
    timezone(timedelta(hours=5, minutes=30)),
    ZoneInfo("Asia/Shanghai"),  # not a fixed offset: the core asks Python
    ZoneInfo("America/New_York"),  # summer time
]
TIMES = [
    time(0, 0),
    time(0, 0, 1),
    time(7, 59, 59),
    time(8, 0),
    time(9, 30),
    time(12, 0),
    time(15, 59, 59),
    time(16, 0),
    time(23, 59, 59),
    time(23, 59, 59, 999_999),
]

FIRST, LAST = date(2013, 1, 1), date(2031, 12, 31)
_BOUNDARIES = [
    date(2013, 10, 1),  # SPC2013 in force
    date(2015, 7, 22),  # SPC2015-CONS
    date(2016, 9, 25),  # CPC2016
    date(2016, 12, 28),  # FJ2016
    date(2017, 4, 30),  # SPC2013 ends
    date(2017, 5, 1),  # SPC2017
    date(2024, 7, 1),  # COMPANY2023
    date(2020, 2, 29),
    date(2024, 2, 29),
    date(2028, 2, 29),
]
for _year in range(2013, 2032):
    _BOUNDARIES += [date(_year, 1, 1), date(_year, 12, 31), date(_year, 12, 28)]
_HOLIDAYS = sorted(d for d in _calendar._PACKAGE_HOLIDAYS if FIRST <= d <= LAST)
_WORKDAYS = sorted(  # adjusted working weekends
    d for d in _calendar._PACKAGE_WORKDAYS if FIRST <= d <= LAST and d.weekday() >= 5
)

EVENT_IDS = [f"E{i}" for i in range(10)]
MEASURES = [
    "RAILWAY.TRAIN_RESTRICTION",
    "CIVIL_AVIATION.FLIGHT_BAN",
    "MARKET_REGULATION.OFFICER_QUALIFICATION",
]
COURTS = ["闽01", "闽0203", "京01"]
COURT_NAMES = [
    "福州市中级人民法院",
    " 厦门市思明区人民法院 ",
    "某某人民法院",
    "闽02",
    "某法院\x1f",
    "某法院\x85",
]

# the fields each act type carries that the engine reads (rules/state.py
# KEPT_PAYLOAD_KEYS, the policy's `where`/`present`/`absent`, the predicates)
FIELDS: dict[str, tuple[str, ...]] = {
    "DEBTOR_IDENTIFIED": ("debtor",),
    "EXECUTION_CASE_FILED": (),
    "EXECUTION_NOTICE_SERVED": ("document", "risk_warning_included"),
    "LISTING_APPLICATION_RECEIVED": (),
    "LISTING_APPLICATION_REJECTED": ("reason",),
    "LISTING_DECISION_MADE": (
        "document",
        "listing_term",
        "debtor",
        "publishable",
        "not_for_publication",
    ),
    "LISTING_DECISION_SERVED": (),
    "LISTING_PUBLISHED": (),
    "LISTING_WITHDRAWN_FROM_PUBLICATION": ("reason",),
    "EMPLOYER_NOTIFIED": (),
    "COURT_VERIFICATION_RESULT": ("result", "refers_to"),
    "CORRECTION_REQUESTED": ("form",),
    "CORRECTION_REVIEW_DECIDED": ("outcome", "document", "refers_to"),
    "REVIEW_DECISION_SERVED": ("outcome", "refers_to"),
    "RECONSIDERATION_REQUESTED": ("to_court",),
    "RECONSIDERATION_DECIDED": ("outcome", "refers_to"),
    "ERROR_DETECTED": (),
    "LISTING_REVOKED": ("reason", "refers_to"),
    "LISTING_CORRECTED": ("reason", "refers_to"),
    "LISTING_SHIELDED": ("reason", "refers_to"),
    "LISTING_DELETED": ("reason", "refers_to"),
    "EARLY_DELETION_DECIDED": ("reason",),
    "LISTING_TERM_EXPIRED": (),
    "REPUBLISHER_DELETION_REQUESTED": ("republisher", "refers_to"),
    "REPUBLISHER_ENTRY_DELETED": ("refers_to",),
    "PERFORMANCE_COMPLETED": (),
    "PARTIAL_PERFORMANCE": (),
    "SETTLEMENT_PERFORMANCE_CONFIRMED": (),
    "EXECUTION_TERMINATED": (),
    "CURRENT_PROCEDURE_TERMINATED": (),
    "ASSET_SEARCH_COMPLETED": ("found", "round"),
    "DELETION_REQUESTED_BY_APPLICANT": ("form",),
    "SANCTION_APPLIED": ("measure_code", "refers_to"),
    "SANCTION_ENFORCED": ("measure_code",),
    "SANCTION_SUSPENDED": ("measure_code", "reason", "refers_to"),
    "SANCTION_RESUMED": ("measure_code", "reason", "refers_to"),
    "SANCTION_RELEASED": ("measure_code", "reason", "refers_to"),
    "SANCTION_RETAINED": (
        "measure_code",
        "retention_until",
        "legal_basis",
        "refers_to",
    ),
    "SANCTION_OBJECTION_FILED": ("to_agency", "measure_code"),
    "CREDIT_REPAIR_DECIDED": ("outcome", "reason", "refers_to"),
    "COMPLAINT_RECEIVED": ("to_agency", "measure_code"),
    "COMPLAINT_ANSWERED": ("result", "refers_to"),
    "REGISTRATION_REFUSED": ("measure_code", "legal_basis"),
    "LISTING_UPDATE_PUSHED": ("refers_to",),
}
EVENT_TYPES = sorted(FIELDS)
# the core of a lifecycle, drawn more often
COMMON = [
    "LISTING_DECISION_MADE",
    "LISTING_DECISION_SERVED",
    "LISTING_PUBLISHED",
    "SANCTION_APPLIED",
    "SANCTION_RELEASED",
    "SANCTION_ENFORCED",
    "LISTING_SHIELDED",
    "PERFORMANCE_COMPLETED",
    "LISTING_TERM_EXPIRED",
    "CORRECTION_REQUESTED",
    "CORRECTION_REVIEW_DECIDED",
    "SANCTION_OBJECTION_FILED",
    "COURT_VERIFICATION_RESULT",
    "DELETION_REQUESTED_BY_APPLICANT",
    "LISTING_DELETED",
]
ACTOR_KINDS = ["COURT", "AGENCY", "PLATFORM", "REPUBLISHER", "DEBTOR", "SYSTEM"]
ACTOR_CODES = [
    None,
    "",
    *COURTS,
    "RAILWAY",
    "CIVIL_AVIATION",
    "闽01 ",
    "闽0203\u3000",
    "x\x1c",
    "a|b",
]

ids = st.sampled_from(EVENT_IDS)


def rare(draw: st.DrawFn, n: int) -> bool:
    """True once in about `n` draws (not at 0, which hypothesis draws far more
    often than 1/n)."""
    return bool(draw(st.integers(0, n - 1)) == n * 2 // 3)


text = st.sampled_from(["", "x", "理由", "PAID", 'q"\\é😀'])


def odd_values() -> st.SearchStrategy[Any]:
    """Values of the wrong type or shape (the invalid minority)."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-3, 3),
        st.sampled_from([2**63, -(2**63) - 1, 2**70, 10**20]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=4),
        st.dates(FIRST, LAST),
        st.lists(st.integers(0, 2), max_size=2),
        st.tuples(st.sampled_from(MEASURES)),
        st.dictionaries(st.sampled_from(["a", "years", "b"]), st.integers(0, 3)),
        st.sampled_from(["2020-02-30", "20200101", "2020-01-01T08:00", " ", "0"]),
    )


def id_number(birth: date) -> str:
    return f"350211{birth:%Y%m%d}207X"


@st.composite
def debtors(draw: st.DrawFn, base: date) -> Any:
    kind = draw(st.sampled_from([None, "NATURAL_PERSON", "LEGAL_PERSON", "UNKNOWN"]))
    # around the 18th birthday near the base day (the minors check)
    birth = base - timedelta(days=365 * 18 + draw(st.integers(-8, 8)))
    debtor: dict[str, Any] = {"name": "某"}
    if kind is not None:
        debtor["entity_type"] = kind
    choice = draw(st.integers(0, 9))
    if choice < 5:
        debtor["id_number"] = id_number(birth)
    elif choice < 7:
        debtor["birth_date"] = birth.isoformat()
    elif choice == 7:
        debtor["id_number"] = draw(
            st.sampled_from(
                [
                    "35021119990231207X",  # no such day
                    "3502111９９０01012073",  # full-width digits
                    "35021119900101",
                    "91350200MA2XXXXXXX",
                ]
            )
        )
    elif choice == 8:
        debtor["birth_date"] = draw(
            st.one_of(st.dates(date(1990, 1, 1), LAST), odd_values())
        )
    if rare(draw, 20):
        return draw(odd_values())
    return debtor


@st.composite
def listing_terms(draw: st.DrawFn, base: date) -> Any:
    if rare(draw, 15):
        return draw(odd_values())
    term: dict[str, Any] = {}
    years: Any = draw(st.sampled_from([None, None, 0, 1, 2, 3, 5]))
    if rare(draw, 10):
        years = draw(
            st.sampled_from(
                ["2", "2.5", 2.5, True, -1, 9000, "x", 2**31 - 1, -(2**31), 1e20]
            )
        )
    term["years"] = years
    expires = None
    roll = draw(st.integers(0, 9))
    if roll < 3:
        expires = base + timedelta(days=draw(st.integers(-30, 1200)))
    elif roll == 3:
        expires = draw(st.sampled_from(_HOLIDAYS + _BOUNDARIES)).isoformat()
    elif roll == 4:
        expires = draw(odd_values())
    term["expires"] = expires
    if draw(st.booleans()):
        term["basis"] = "SPC2017 art.2"
    return term


def field_values(name: str, base: date) -> st.SearchStrategy[Any]:
    valid: dict[str, st.SearchStrategy[Any]] = {
        "debtor": debtors(base),
        "listing_term": listing_terms(base),
        "measure_code": st.sampled_from(MEASURES),
        "refers_to": ids,
        "to_agency": st.sampled_from(["RAILWAY", "CIVIL_AVIATION", "", None]),
        "to_court": st.sampled_from(COURT_NAMES),
        "republisher": st.sampled_from(["baidu", "qichacha", "", "q\u2028", "q|x"]),
        "legal_basis": st.sampled_from(["某法第一条", "", None]),
        "retention_until": st.one_of(
            st.sampled_from(["2030-01-01", "", None]), st.dates(FIRST, LAST)
        ),
        "risk_warning_included": st.booleans(),
        "publishable": st.sampled_from([True, False, None]),
        "not_for_publication": st.sampled_from([True, False, None]),
        "outcome": st.sampled_from(
            ["UPHELD", "REJECTED", "APPROVED", "REVOKE_ORIGINAL"]
        ),
        "result": st.sampled_from(["WRONG_PERSON", "INFO_INCORRECT", "INFO_CORRECT"]),
        "document": st.sampled_from(["决定书", "", None]),
        "form": st.sampled_from(["WRITTEN", "", None]),
        "found": st.sampled_from([False, False, True, None]),
        "round": st.integers(1, 3),
        "reason": text,
    }
    return valid[name]


@st.composite
def days(draw: st.DrawFn, base: date) -> date:
    roll = draw(st.integers(0, 19))
    if roll < 12:
        return base + timedelta(days=draw(st.integers(-5, 25)))
    if roll < 14:
        return base + timedelta(days=draw(st.integers(-400, 2400)))
    if roll < 16:
        return draw(st.sampled_from(_HOLIDAYS))
    if roll < 17:
        return draw(st.sampled_from(_WORKDAYS))
    if roll < 18:
        return draw(st.sampled_from(_BOUNDARIES))
    return draw(st.dates(FIRST, LAST))


@st.composite
def instants(draw: st.DrawFn, base: date) -> datetime:
    day = draw(days(base))
    at = datetime.combine(day, draw(st.sampled_from(TIMES)))
    return at.replace(tzinfo=draw(st.sampled_from(ZONES)))


def _answers() -> dict[str, list[str]]:
    """Act type -> the act types that answer an obligation it opens (policy data)."""
    out: dict[str, set[str]] = {}
    for bound in default_policy().rules:
        for opener in bound.rule.opens:
            out.setdefault(opener.event, set()).update(
                m.event for m in bound.rule.met_by
            )
    return {k: sorted(v & set(FIELDS)) for k, v in out.items()}


ANSWERS = _answers()


@dataclass
class Story:
    """What the acts drawn so far of one scenario are (for ids and answers)."""

    base: date
    jurisdiction: str
    drawn: list[LedgerEvent] = field(default_factory=list)


@st.composite
def events(draw: st.DrawFn, story: Story) -> LedgerEvent:
    base = story.base
    drawn = story.drawn
    roll = draw(st.integers(0, 99))
    answerable = [e for e in drawn if e.event_type in ANSWERS]
    trigger: LedgerEvent | None = None
    if not drawn and roll < 70:
        etype = "LISTING_DECISION_MADE"
    elif answerable and roll < 40:  # an answer to an earlier act
        trigger = draw(st.sampled_from(answerable))
        etype = draw(st.sampled_from(ANSWERS[trigger.event_type]))
    elif roll < 70:
        etype = draw(st.sampled_from(COMMON))
    else:
        etype = draw(st.sampled_from(EVENT_TYPES))
    payload: dict[str, Any] = {}
    earlier = [e.source_event_id or e.event_id for e in drawn]
    for name in FIELDS[etype]:
        if draw(st.integers(0, 5)) > 0:
            if name == "refers_to" and earlier and draw(st.integers(0, 3)):
                payload[name] = draw(st.sampled_from(earlier))
            else:
                payload[name] = draw(field_values(name, base))
    invalid = draw(st.integers(0, 99))
    if invalid == 57:  # a field of the wrong type
        name = draw(st.sampled_from(sorted({f for fs in FIELDS.values() for f in fs})))
        payload[name] = draw(odd_values())
    elif invalid in (31, 73, 89):  # a field of another type
        name = draw(st.sampled_from(["measure_code", "refers_to", "outcome", "found"]))
        payload[name] = draw(field_values(name, base))
    if drawn and rare(draw, 30):
        event_id = draw(st.sampled_from(drawn)).event_id  # the same id, other content
    else:
        event_id = f"E{len(drawn)}"
    source = draw(st.sampled_from([event_id, event_id, None, f"S-{event_id}"]))
    occurred_at = draw(instants(base))
    if trigger is not None and trigger.occurred_at.tzinfo and not rare(draw, 4):
        # most answers come after what they answer, within the period or late
        late = timedelta(days=draw(st.integers(0, 20)), hours=draw(st.integers(0, 23)))
        occurred_at = trigger.occurred_at + late
    if rare(draw, 200):
        occurred_at = occurred_at.replace(tzinfo=None)  # naive: refused
    seq = draw(st.one_of(st.none(), st.integers(0, 3)))
    if rare(draw, 100):
        # (Avro `int`: a seq past 64 bits cannot come through the contract)
        seq = draw(st.sampled_from([-1, 2**31 - 1, -(2**31)]))
    listing = "LF-other" if rare(draw, 200) else LISTING
    kind = draw(st.sampled_from(ACTOR_KINDS))
    code = draw(st.sampled_from(ACTOR_CODES))
    event = LedgerEvent(
        event_id=event_id,
        event_type=etype,
        listing_id=listing,
        occurred_at=occurred_at,
        actor=Actor(kind=kind, code=code),
        jurisdiction=story.jurisdiction,
        payload=payload,
        source_event_id=source,
        seq=seq,
        correlation_id=draw(st.sampled_from([None, LISTING])),
    )
    drawn.append(event)
    return event


@dataclass
class Step:
    op: str  # apply | redeliver | tick | advance | round_trip | check
    event: LedgerEvent | None = None
    at: datetime | None = None
    index: int = 0

    def __repr__(self) -> str:
        if self.op == "apply":
            e = self.event
            assert e is not None
            return (
                f"apply({e.event_id} {e.event_type} {e.occurred_at.isoformat()} "
                f"seq={e.seq} src={e.source_event_id} actor={e.actor.kind}/"
                f"{e.actor.code} payload={dict(e.payload)!r} now={self.at})"
            )
        if self.op == "redeliver":
            return f"redeliver(#{self.index} now={self.at})"
        if self.op in ("tick", "advance"):
            return f"{self.op}({self.at.isoformat() if self.at else None})"
        return f"{self.op}()"


@dataclass
class Scenario:
    jurisdiction: str
    # 0: defaults, 1: default objects given, 2/3: a calendar with other layers
    explicit: int
    steps: list[Step] = field(default_factory=list)
    variant: int = -1  # index of a policy variant (-1: the packaged policy)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    jurisdiction = draw(
        st.sampled_from(["CN-35", "CN-35", "CN", "CN", "CN-35 (Fujian)", "CN-11", ""])
    )
    base = draw(
        st.one_of(
            st.dates(date(2014, 1, 1), date(2030, 6, 30)),
            st.sampled_from(_BOUNDARIES + _HOLIDAYS[::3] + _WORKDAYS),
        )
    )
    scenario = Scenario(jurisdiction, draw(st.sampled_from([0, 0, 0, 1, 2, 3])))
    if rare(draw, 4):
        scenario.variant = draw(st.integers(0, len(VARIANTS) - 1))
        scenario.explicit = draw(st.sampled_from([1, 2, 3]))
    story = Story(base, jurisdiction)
    applied = 0
    for _ in range(draw(st.integers(1, 30))):
        roll = draw(st.integers(0, 99))
        if roll < 62 or applied == 0:
            now = draw(instants(base)) if rare(draw, 10) else None
            if now is not None and rare(draw, 50):
                now = now.replace(tzinfo=None)
            scenario.steps.append(Step("apply", draw(events(story)), now))
            applied += 1
        elif roll < 72:
            # a redelivery, now and then with a later clock (`now=`)
            at = draw(instants(base)) if rare(draw, 4) else None
            scenario.steps.append(
                Step("redeliver", at=at, index=draw(st.integers(0, 99)))
            )
        elif roll < 82:
            scenario.steps.append(Step("tick", at=draw(instants(base))))
        elif roll < 90:
            scenario.steps.append(Step("advance", at=draw(instants(base))))
        elif roll < 93:
            scenario.steps.append(Step("round_trip"))
        elif roll < 95:
            scenario.steps.append(
                Step(draw(st.sampled_from(["reload_v1", "reload_no_term"])))
            )
        else:
            scenario.steps.append(Step("check"))
    return scenario


# --- running both engines ---------------------------------------------------------


def _layered_calendar() -> LegalCalendar:
    start = date(2016, 1, 2)
    work = [(start + timedelta(days=d)).isoformat() for d in range(0, 4000, 7)]
    rest = [(start + timedelta(days=d)).isoformat() for d in range(2, 4000, 9)]
    rest = sorted(set(rest) - set(work))
    return LegalCalendar(
        {
            "version": "fuzz-layers",
            "regions": {"CN-35": {"holidays": rest, "workdays": work}},
            "national": {2027: {"holidays": ["2027-01-01", "2027-02-08"]}},
        },
        "fuzz",
    )


def _policy_variants(count: int) -> list[Policy]:
    """Policies made from the packaged rule sets with rules changed at random
    (fixed seeds): other limits and units (months, zero), other obligors, report
    modes, answer_required, no_period, per_measure, forbidden acts, excepted
    jurisdictions, responsible fields, matches and dates in force; paths the
    packaged policy does not take. A variant that does not validate is skipped."""
    import random
    from importlib import resources

    import yaml

    from rules.policy import PolicyError, RuleSetFile, build_policy

    folder = resources.files("rules").joinpath("policy")
    texts = sorted(
        (e.name, e.read_text("utf-8"))
        for e in folder.iterdir()
        if e.name.endswith(".yaml")
    )
    variants: list[Policy] = []
    for index in range(count * 3):
        if len(variants) == count:
            break
        rng = random.Random(index)
        files = []
        for _, text in texts:
            data = yaml.safe_load(text)
            if rng.random() < 0.2:
                data["effective_from"] = date(2013 + rng.randrange(12), 1, 1)
            if rng.random() < 0.15:
                data["effective_to"] = date(2018 + rng.randrange(10), 6, 30)
            for rule in data["rules"]:
                _mutate(rule, rng)
            files.append(data)
        try:
            variants.append(build_policy(RuleSetFile.model_validate(f) for f in files))
        except (PolicyError, ValueError):
            continue
    return variants


def _mutate(rule: dict[str, Any], rng: Any) -> None:
    if rng.random() < 0.3:
        rule["limit"] = {
            "value": rng.choice([0, 1, 2, 3, 6, 10, 30]),
            "unit": rng.choice(["CALENDAR_DAYS", "WORKING_DAYS", "MONTHS"]),
        }
    if rng.random() < 0.15:
        rule["obligor"] = rng.choice(["AUTHORITY", "PARTY"])
    if rng.random() < 0.15:
        rule["report"] = rng.choice(["ALWAYS", "VIOLATIONS"])
    if rng.random() < 0.1:
        rule["answer_required"] = rng.random() < 0.5
    if rng.random() < 0.05 and rule["kind"] == "DEADLINE":
        rule["no_period"] = True
    if rng.random() < 0.1:
        rule["per_measure"] = rng.random() < 0.5
    if rng.random() < 0.1:
        rule["forbidden_acts"] = rng.sample(
            ["SANCTION_ENFORCED", "REGISTRATION_REFUSED", "LISTING_PUBLISHED"], 2
        )
    if rng.random() < 0.08:
        rule["except_jurisdictions"] = ["CN-35"]
    if rng.random() < 0.1:
        rule["responsible"] = rng.choice(["COURT", "AGENCY", "REPUBLISHER", "DEBTOR"])
        rule["responsible_field"] = rng.choice(
            [None, "to_court", "to_agency", "republisher", "reason"]
        )
    if rng.random() < 0.1 and rule["kind"] == "ACT_CHECK":
        rule["response"] = rng.choice(["ACT", "NONE"])
    for key in ("opens", "met_by"):
        for match in rule.get(key, ()):
            if rng.random() < 0.1:
                match["same_measure"] = True
            if rng.random() < 0.1:
                match["refers_to_trigger"] = True
            if rng.random() < 0.05:
                match["guard"] = rng.choice(
                    [
                        "listing_in_force",
                        "second_search_after_current_procedure_terminated",
                    ]
                )


def _override_calendar() -> LegalCalendar:
    """National layers for years the package covers (they win over it) and for the
    first provisional years, and a regional layer for another province."""
    return LegalCalendar(
        {
            "version": "fuzz-override",
            "national": {
                2020: {"holidays": ["2020-01-02", "2020-06-01"], "workdays": []},
                2026: {"holidays": ["2026-12-30"], "workdays": ["2026-12-26"]},
                2027: {"holidays": ["2027-01-01", "2027-01-04"]},
                2028: {},
            },
            "regions": {
                "CN-11": {"holidays": ["2019-03-01", "2024-07-01"], "workdays": []},
                "CN-35": {"workdays": ["2017-05-06", "2021-01-02"]},
            },
        },
        "fuzz",
    )


POLICY: Policy = default_policy()
VARIANTS = _policy_variants(6)
LAYERED = _layered_calendar()
OVERRIDE = _override_calendar()


class Diverged(AssertionError):
    pass


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    try:
        return True, call()
    except Exception as exc:  # noqa: BLE001 - compared between the engines
        return False, exc


def _refused_id(exc: BaseException) -> bool:
    """The core's documented refusal of a payload id (`measure_code`, `to_agency`,
    `refers_to`) that is not a string (rules/native/src/val.rs `opt_string`), which
    the contract never lets through: the reference goes on with such a value (and
    fails later, or keeps a non-string key), the core stops at once."""
    return (
        isinstance(exc, TypeError)
        and str(exc).startswith("native rules engine: ")
        and str(exc).endswith("; expected a string")
    )


class Stop(Exception):
    """Both engines refused the step the same way: the scenario goes on from the
    state stored before it, as the processor does (processors/core.py), or ends."""


class FuzzPair:
    def __init__(self, explicit: int, variant: int = -1) -> None:
        self.ref: PyListingState | None = None
        self.nat: ListingState | None = None
        self.kw: dict[str, Any] = {}
        policy = POLICY if variant < 0 else VARIANTS[variant]
        if explicit == 1:
            self.kw = {"policy": policy, "calendar": _calendar.default_calendar()}
        elif explicit == 2:
            self.kw = {"policy": policy, "calendar": LAYERED}
        elif explicit == 3:
            self.kw = {"policy": policy, "calendar": OVERRIDE}
        self.applied: list[LedgerEvent] = []
        self.saved: str | None = ""  # "": no state yet; None: not storable

    def both(self, a: Callable[[], Any], b: Callable[[], Any], what: str) -> Any:
        ok_a, ra = _outcome(a)
        ok_b, rb = _outcome(b)
        if not ok_b and _refused_id(rb):
            raise Stop(what)
        if not ok_a or not ok_b:
            if ok_a or ok_b:
                raise Diverged(
                    f"{what}: reference {'gave' if ok_a else 'raised'} {ra!r}, "
                    f"native {'gave' if ok_b else 'raised'} {rb!r}"
                )
            if type(ra) is not type(rb) or str(ra) != str(rb):
                raise Diverged(f"{what}: reference raised {ra!r}, native raised {rb!r}")
            raise Stop(what)
        return ra, rb

    def same_events(
        self, a: list[LedgerEvent], b: list[LedgerEvent], what: str
    ) -> None:
        if repr(b) != repr(a):
            raise Diverged(f"derived events differ after {what}:\nref {a!r}\nnat {b!r}")
        assert b == a

    def apply(self, event: LedgerEvent, now: datetime | None) -> None:
        ref_state, nat_state = self.ref, self.nat
        (self.ref, a), (self.nat, b) = self.both(
            lambda: ref.apply(ref_state, event, now=now, **self.kw),
            lambda: nat.apply(nat_state, event, now=now, **self.kw),
            f"apply {event.event_id} {event.event_type}",
        )
        self.same_events(a, b, f"apply {event.event_id} {event.event_type} now={now}")
        self.applied.append(event)
        self.save()

    def advance(self, at: datetime) -> None:
        if self.ref is None:
            return
        ref_state, nat_state = self.ref, self.nat
        assert nat_state is not None
        cause = tick(LISTING, self.ref.jurisdiction, at)
        (self.ref, a), (self.nat, b) = self.both(
            lambda: ref.advance(ref_state, at, cause=cause, **self.kw),
            lambda: nat.advance(nat_state, at, cause=cause, **self.kw),
            f"advance {at}",
        )
        self.same_events(a, b, f"advance {at}")
        self.save()

    def save(self) -> None:
        """Keep the state as the processor stores it after a step."""
        ref_state = self.ref
        assert ref_state is not None
        ok, text = _outcome(lambda: json.dumps(ref_state.to_dict()))
        self.saved = text if ok else None

    def restore(self) -> bool:
        """After a refused event the processor drops the (maybe half-updated) state
        and loads the one it stored: both engines go on from the same stored state
        (False if there is none to load)."""
        if self.saved is None:
            return False
        if self.saved == "":
            self.ref = self.nat = None
            return True
        self.ref = PyListingState.from_dict(json.loads(self.saved))
        self.nat = ListingState.from_dict(json.loads(self.saved))
        return True

    def check_state(self) -> None:
        if self.ref is None:
            assert self.nat is None
            return
        ref_state, nat_state = self.ref, self.nat
        assert nat_state is not None
        r, n = ref_state.to_dict(), nat_state.to_dict()
        assert repr(n) == repr(r), "states differ"
        ja, jb = self.both(
            lambda: json.dumps(r, ensure_ascii=False),
            lambda: json.dumps(n, ensure_ascii=False),
            "json.dumps(state)",
        )
        assert jb == ja
        ta, tb = self.both(
            lambda: orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS),
            nat_state.to_json,
            "to_json",
        )
        assert tb == ta
        for include_open in (False, True):
            ca, cb = self.both(
                partial(ref.checks, ref_state, include_open=include_open, **self.kw),
                partial(nat.checks, nat_state, include_open=include_open, **self.kw),
                "checks",
            )
            assert repr(cb) == repr(ca), "check rows differ"
        da, db = self.both(
            lambda: ref.next_due(ref_state), lambda: nat.next_due(nat_state), "next_due"
        )
        assert repr(db) == repr(da), "next_due differs"
        ha, hb = self.both(
            lambda: ref.has_open(ref_state), lambda: nat.has_open(nat_state), "has_open"
        )
        assert hb == ha
        xa, xb = self.both(
            lambda: ref._term_expiry(ref_state),
            lambda: nat._term_expiry(nat_state),
            "_term_expiry",
        )
        assert repr(xb) == repr(xa), "term expiry differs"
        assert nat_state.listing_id == ref_state.listing_id
        assert nat_state.now == ref_state.now
        assert repr(nat_state.fold) == repr(ref_state.fold)

    def round_trip(self) -> None:
        if self.ref is None:
            return
        ref_state, nat_state = self.ref, self.nat
        assert nat_state is not None
        ta, tb = self.both(
            lambda: json.dumps(ref_state.to_dict()),
            lambda: json.dumps(nat_state.to_dict()),
            "json.dumps(state)",
        )
        assert tb == ta
        self.ref = PyListingState.from_dict(json.loads(ta))
        self.nat = ListingState.from_dict(json.loads(tb))
        self.check_state()

    def reload(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        """Both engines load the same older form of the reference's state."""
        if self.ref is None:
            return
        ref_state = self.ref
        ok, text = _outcome(lambda: json.dumps(ref_state.to_dict()))
        if not ok:
            return
        self.ref = PyListingState.from_dict(change(json.loads(text)))
        self.nat = ListingState.from_dict(change(json.loads(text)))
        self.check_state()


def without_term_expires(data: dict[str, Any]) -> dict[str, Any]:
    """The state as stored before `fold["term_expires"]` existed."""
    data["fold"].pop("term_expires", None)
    return data


def run(scenario: Scenario) -> None:
    pair = FuzzPair(scenario.explicit, scenario.variant)
    refused = 0
    for step in scenario.steps:
        try:
            do(pair, scenario, step)
        except Stop:
            refused += 1
            if refused > 3 or not pair.restore():
                return
    try:
        pair.check_state()
        for at in (
            datetime(2031, 12, 31, 16, tzinfo=UTC),
            datetime(2045, 1, 1, tzinfo=CST),
        ):
            pair.advance(at)
        pair.round_trip()
    except Stop:
        return


def do(pair: FuzzPair, scenario: Scenario, step: Step) -> None:
    if step.op == "apply":
        assert step.event is not None
        pair.apply(step.event, step.at)
    elif step.op == "redeliver":
        if pair.applied:
            event = pair.applied[step.index % len(pair.applied)]
            pair.apply(event, step.at)
    elif step.op == "tick":
        assert step.at is not None
        pair.apply(tick(LISTING, scenario.jurisdiction, step.at), None)
    elif step.op == "advance":
        assert step.at is not None
        pair.advance(step.at)
    elif step.op == "round_trip":
        pair.round_trip()
    elif step.op == "reload_v1":
        pair.reload(to_v1)
    elif step.op == "reload_no_term":
        pair.reload(without_term_expires)
    else:
        pair.check_state()


_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=SEED is None,
    database=None,
    print_blob=True,
    phases=list(Phase) if SHRINK else [Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _seeded(test: Any) -> Any:
    return seed(int(SEED))(test) if SEED is not None else test


@_seeded
@_settings
@given(scenarios())
def test_native_matches_reference_fuzzed(scenario: Scenario) -> None:
    run(scenario)


# --- regressions: minimal cases the fuzzer found -----------------------------------


def _event(
    event_id: str,
    etype: str,
    at: str,
    payload: dict[str, Any] | None = None,
    *,
    jurisdiction: str = "CN",
    kind: str = "COURT",
    code: str | None = "闽01",
    seq: int | None = None,
) -> LedgerEvent:
    return LedgerEvent(
        event_id=event_id,
        event_type=etype,
        listing_id=LISTING,
        occurred_at=datetime.fromisoformat(at),
        actor=Actor(kind=kind, code=code),
        jurisdiction=jurisdiction,
        payload=payload or {},
        source_event_id=event_id,
        seq=seq,
    )


def _acts(*events: LedgerEvent) -> Scenario:
    """A scenario of the default policy and calendar applying `events` in turn."""
    return Scenario("CN", 0, [Step("apply", e) for e in events])


REGRESSIONS: dict[str, Scenario] = {
    # a measure code that is a list (or a dict): both raise TypeError with
    # Python's message, which names the type ("unhashable type: 'list'")
    "enforced_measure_unhashable_list": _acts(
        _event(
            "E1",
            "SANCTION_ENFORCED",
            "2020-01-01T10:00:00+08:00",
            {"measure_code": ["RAILWAY.TRAIN_RESTRICTION"]},
        )
    ),
    "enforced_measure_unhashable_dict": _acts(
        _event(
            "E1",
            "SANCTION_ENFORCED",
            "2020-01-01T10:00:00+08:00",
            {"measure_code": {"a": 1}},
        )
    ),
    # listing_term.years whose last day falls past the C int `date()` takes (an
    # Avro int can be that large): the reference raises OverflowError from
    # term_last_day, the core took it for "no term"
    "term_years_past_c_int": _acts(
        _event(
            "E1",
            "LISTING_DECISION_MADE",
            "2018-01-01T10:00:00+08:00",
            {"listing_term": {"years": 2**31 - 1}},
        )
    ),
    "term_years_float_past_c_long": _acts(
        _event(
            "E1",
            "LISTING_DECISION_MADE",
            "2018-01-01T10:00:00+08:00",
            {"listing_term": {"years": 1e20}},
        )
    ),
    # a retention period that is a list: `_iso_date` is an lru_cache, so the
    # reference fails on hashing it ("unhashable type: 'list'"), not in
    # date.fromisoformat
    "retention_until_unhashable": _acts(
        _event("E1", "LISTING_DECISION_MADE", "2018-01-01T10:00+08:00"),
        _event(
            "E2",
            "SANCTION_RETAINED",
            "2018-01-04T10:00+08:00",
            {
                "measure_code": "RAILWAY.TRAIN_RESTRICTION",
                "retention_until": ["2020-01-01"],
            },
            kind="AGENCY",
            code="RAILWAY",
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(name: str) -> None:
    run(REGRESSIONS[name])
