"""The engine's contract: ticks, late answers, order independence, state, boundaries."""

from __future__ import annotations

import json
import random
from datetime import date, datetime
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contract.derived import DEADLINE_MET, DEADLINE_VIOLATED, SANCTION_STATE_CHANGED
from contract.event import Actor, LedgerEvent
from rules.cli import adapter_events, tick
from rules.engine import Check, advance, apply, checks
from rules.state import ListingState

SH = ZoneInfo("Asia/Shanghai")
LIFECYCLES = Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl"
RECORDS = [
    json.loads(line) for line in LIFECYCLES.read_text("utf-8").splitlines() if line
]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


class Listing:
    """A tiny builder of one listing's events (ids E1, E2, ...)."""

    def __init__(self, jurisdiction: str = "CN-35", listing_id: str = "L1") -> None:
        self.jurisdiction = jurisdiction
        self.listing_id = listing_id
        self.numbers = count(1)
        self.events: list[LedgerEvent] = []

    def add(
        self,
        etype: str,
        when: str,
        kind: str = "COURT",
        code: str | None = "闽0203",
        **payload: Any,
    ) -> str:
        n = next(self.numbers)
        eid = f"{self.listing_id}-E{n}"
        self.events.append(
            LedgerEvent(
                event_id=eid,
                event_type=etype,
                listing_id=self.listing_id,
                occurred_at=at(when),
                actor=Actor(kind=kind, code=code),
                jurisdiction=self.jurisdiction,
                payload=payload,
                source_event_id=eid,
                seq=n,
            )
        )
        return eid

    def listed(self, decided: str = "2024-03-01T09:00") -> Listing:
        self.add(
            "EXECUTION_NOTICE_SERVED", "2024-01-05T09:00", risk_warning_included=True
        )
        self.add(
            "LISTING_DECISION_MADE",
            decided,
            debtor={"entity_type": "NATURAL_PERSON", "id_number": "350211198305042073"},
        )
        self.add(
            "SANCTION_APPLIED",
            "2024-03-04T09:00",
            kind="AGENCY",
            code="RAILWAY",
            measure_code="RAILWAY.TRAIN_RESTRICTION",
        )
        return self


def run(
    events: list[LedgerEvent], now: datetime | None = None
) -> tuple[ListingState, list[LedgerEvent]]:
    state: ListingState | None = None
    derived: list[LedgerEvent] = []
    for event in events:
        state, out = apply(state, event)
        derived.extend(out)
    assert state is not None
    if now is not None:
        state, out = advance(
            state, now, cause=tick(state.listing_id, state.jurisdiction, now)
        )
        derived.extend(out)
    return state, derived


def rows(state: ListingState, rule_id: str) -> list[Check]:
    return [c for c in checks(state) if c.rule_id == rule_id]


def outcome(state: ListingState) -> list[tuple[Any, ...]]:
    return [
        (c.rule_id, c.trigger_event, c.response_event, c.verdict, c.deadline)
        for c in checks(state, include_open=True)
    ]


# --- boundaries of each period -----------------------------------------------------


@pytest.mark.parametrize(
    ("shielded", "spc", "fj"),
    [
        # performance Thu 11 Apr: Fujian 3 days end Sun 14 -> Mon 15 (CPL art.85);
        # 3 working days end Tue 16
        ("2024-04-15T23:59", "COMPLIANT", "COMPLIANT"),
        ("2024-04-16T00:00", "COMPLIANT", "VIOLATION"),
        ("2024-04-17T00:00", "VIOLATION", "VIOLATION"),
    ],
)
def test_shield_deadline_boundaries(shielded: str, spc: str, fj: str) -> None:
    lst = Listing().listed()
    lst.add("PERFORMANCE_COMPLETED", "2024-04-11T10:00", kind="DEBTOR", code=None)
    lst.add("LISTING_SHIELDED", shielded)
    state, _ = run(lst.events)
    assert [c.verdict for c in rows(state, "SPC2017.ART10.DELETE_3WD")] == [spc]
    assert [c.verdict for c in rows(state, "CPC2016.SHIELD_REVOKE_3WD")] == [spc]
    assert [c.verdict for c in rows(state, "FJ2016.SHIELD_REVOKE_3D")] == [fj]


def test_national_listing_gets_no_fujian_rules() -> None:
    lst = Listing(jurisdiction="CN-11").listed()
    lst.add("PERFORMANCE_COMPLETED", "2024-04-09T10:00", kind="DEBTOR", code=None)
    lst.add("LISTING_SHIELDED", "2024-04-10T10:00")
    state, _ = run(lst.events)
    assert {c.rule_id for c in checks(state)} == {
        "SPC2017.ART10.DELETE_3WD",
        "CPC2016.SHIELD_REVOKE_3WD",
    }


def test_republisher_deadline_on_adjusted_working_saturday() -> None:
    lst = Listing().listed()
    lst.add("REPUBLISHER_DELETION_REQUESTED", "2023-09-26T15:40", republisher="site")
    lst.add(
        "REPUBLISHER_ENTRY_DELETED", "2023-10-07T20:00", kind="REPUBLISHER", code=None
    )
    state, _ = run(lst.events)
    (row,) = rows(state, "FJ2016.REPUBLISHER_DELETE_3WD")
    assert (row.verdict, str(row.deadline), row.responsible_code) == (
        "COMPLIANT",
        "2023-10-07",
        "site",
    )
    late = Listing().listed()
    late.add("REPUBLISHER_DELETION_REQUESTED", "2023-09-26T15:40", republisher="site")
    late.add(
        "REPUBLISHER_ENTRY_DELETED", "2023-10-08T09:00", kind="REPUBLISHER", code=None
    )
    state, _ = run(late.events)
    assert [c.verdict for c in rows(state, "FJ2016.REPUBLISHER_DELETE_3WD")] == [
        "VIOLATION"
    ]


def test_correction_review_across_holiday_and_uncovered_year_is_provisional() -> None:
    lst = Listing().listed("2026-12-01T09:00")
    lst.add(
        "CORRECTION_REQUESTED",
        "2026-12-30T09:00",
        kind="DEBTOR",
        code=None,
        form="书面纠正申请",
    )
    state, _ = run(lst.events)
    open_rows = {c.rule_id: c for c in checks(state, include_open=True)}
    fj = open_rows["FJ2016.CORRECTION_REVIEW_3D"]
    assert fj.verdict == "OPEN"
    assert str(fj.deadline) == "2027-01-04"  # Sat 2 Jan rolls to Mon; 2027 has no data
    assert fj.provisional is True
    assert open_rows["SPC2017.ART12.REVIEW_15D"].provisional is True


def test_pre_2017_correction_has_no_numeric_deadline_and_no_fujian_rule() -> None:
    lst = Listing().listed("2016-05-27T09:00")
    lst.add("CORRECTION_REQUESTED", "2016-06-06T09:00", kind="DEBTOR", code=None)
    lst.add("CORRECTION_REVIEW_DECIDED", "2016-06-27T09:00", outcome="UPHELD")
    state, _ = run(lst.events)
    assert [(c.rule_id, c.verdict) for c in checks(state)] == [
        ("SPC2013.ART3.CORRECTION", "NO_NUMERIC_DEADLINE")
    ]


def test_fujian_correction_window_is_a_party_window() -> None:
    lst = Listing().listed()
    lst.add("LISTING_DECISION_SERVED", "2024-03-04T09:00")
    lst.add(
        "CORRECTION_REQUESTED",
        "2024-03-15T09:00",
        kind="DEBTOR",
        code=None,
        form="书面纠正申请",
    )
    state, derived = run(lst.events)
    (row,) = rows(state, "FJ2016.CORRECTION_APPLY_10D")
    assert (row.verdict, str(row.deadline)) == ("OUT_OF_TIME", "2024-03-14")
    # a party's lapsed window is never an authority violation at a tick
    quiet = Listing().listed()
    quiet.add("LISTING_DECISION_SERVED", "2024-03-04T09:00")
    state, derived = run(quiet.events, now=at("2024-06-01T00:00"))
    assert not [d for d in derived if d.event_type == DEADLINE_VIOLATED]


# --- listing and sanction state ------------------------------------------------------


def test_minor_listed_after_2017_is_a_violation() -> None:
    lst = Listing()
    lst.add("EXECUTION_NOTICE_SERVED", "2018-05-07T09:00", risk_warning_included=True)
    lst.add(
        "LISTING_DECISION_MADE",
        "2018-11-27T09:00",
        debtor={"entity_type": "NATURAL_PERSON", "id_number": "350211200111283397"},
    )
    state, _ = run(lst.events)
    assert [c.verdict for c in rows(state, "SPC2017.ART4.NO_MINORS")] == ["VIOLATION"]


def test_debtor_turning_18_on_the_decision_day_may_be_listed() -> None:
    lst = Listing()
    lst.add("EXECUTION_NOTICE_SERVED", "2018-05-07T09:00", risk_warning_included=True)
    lst.add(
        "LISTING_DECISION_MADE",
        "2019-11-28T09:00",
        debtor={"entity_type": "NATURAL_PERSON", "id_number": "350211200111283397"},
    )
    state, _ = run(lst.events)
    assert rows(state, "SPC2017.ART4.NO_MINORS") == []


def test_listing_without_risk_notice_is_a_fujian_violation() -> None:
    lst = Listing()
    lst.add("LISTING_DECISION_MADE", "2020-09-04T09:00")
    lst.add("EXECUTION_NOTICE_SERVED", "2020-09-07T09:00", risk_warning_included=True)
    state, _ = run(lst.events)
    assert [
        (c.trigger_event, c.verdict)
        for c in rows(state, "FJ2016.RISK_NOTICE_BEFORE_LISTING")
    ] == [("L1-E1", "VIOLATION")]


def test_enforcing_a_suspended_measure_violates_the_objection_rule() -> None:
    lst = Listing().listed()
    lst.add(
        "SANCTION_OBJECTION_FILED",
        "2024-03-11T09:00",
        kind="DEBTOR",
        code=None,
        to_agency="RAILWAY",
        measure_code="RAILWAY.TRAIN_RESTRICTION",
    )
    lst.add(
        "SANCTION_SUSPENDED",
        "2024-03-11T10:00",
        kind="AGENCY",
        code="RAILWAY",
        measure_code="RAILWAY.TRAIN_RESTRICTION",
    )
    lst.add(
        "SANCTION_ENFORCED",
        "2024-03-12T10:00",
        kind="AGENCY",
        code="RAILWAY",
        measure_code="RAILWAY.TRAIN_RESTRICTION",
    )
    lst.add("COURT_VERIFICATION_RESULT", "2024-03-14T10:00", result="INFO_CORRECT")
    state, derived = run(lst.events)
    verdicts = {c.rule_id: c.verdict for c in checks(state)}
    assert verdicts["FJ2016.OBJECTION_SUSPENDS_MEASURE"] == "VIOLATION"
    assert verdicts["SPC2015-CONS.ENFORCE_ONLY_WHILE_IN_FORCE"] == "VIOLATION"
    changes = [
        d.payload["state"] for d in derived if d.event_type == SANCTION_STATE_CHANGED
    ]
    assert changes == ["APPLIED", "SUSPENDED"]


def _left_on_applicants_request(
    exit_type: str = "LISTING_DELETED", applied: str = "2022-11-01T09:00"
) -> Listing:
    """Listed 2022-02-24, left the list (`exit_type`) on 2022-05-11 at the
    applicant's request of 05-09 (the 6-month bar runs to 2022-11-11), and the
    applicant applies again on `applied`."""
    lst = Listing().listed("2022-02-24T09:00")
    lst.add(
        "DELETION_REQUESTED_BY_APPLICANT",
        "2022-05-09T09:00",
        kind="APPLICANT",
        code=None,
    )
    lst.add(exit_type, "2022-05-11T09:00")
    lst.add("LISTING_APPLICATION_RECEIVED", applied, kind="APPLICANT", code=None)
    return lst


def test_relisting_on_applicant_request_within_six_months_is_a_violation() -> None:
    lst = _left_on_applicants_request()
    lst.add("LISTING_DECISION_MADE", "2022-11-11T09:00")  # last day of the bar
    state, _ = run(lst.events)
    assert [c.verdict for c in rows(state, "SPC2017.ART10.NO_RELIST_6M")] == [
        "VIOLATION"
    ]
    after = _left_on_applicants_request()
    after.add("LISTING_DECISION_MADE", "2022-11-12T09:00")  # the day after the bar
    state, _ = run(after.events)
    assert rows(state, "SPC2017.ART10.NO_RELIST_6M") == []


def test_retention_without_basis_is_a_violation() -> None:
    lst = Listing().listed()
    lst.add("PERFORMANCE_COMPLETED", "2024-04-09T10:00", kind="DEBTOR", code=None)
    lst.add("LISTING_SHIELDED", "2024-04-10T10:00")
    lst.add(
        "SANCTION_RETAINED",
        "2024-04-11T10:00",
        kind="AGENCY",
        code="RAILWAY",
        measure_code="RAILWAY.TRAIN_RESTRICTION",
        retention_until="2024-10-01",
    )
    state, derived = run(lst.events)
    assert [
        c.verdict for c in rows(state, "FJ2016.RETENTION_NEEDS_BASIS_AND_PERIOD")
    ] == ["VIOLATION"]
    (change,) = [
        d
        for d in derived
        if d.event_type == SANCTION_STATE_CHANGED and d.payload["state"] == "RETAINED"
    ]
    assert str(change.payload["retained_until"]) == "2024-10-01"


# --- ticks and late answers ----------------------------------------------------------


def _performed() -> Listing:
    lst = Listing(jurisdiction="CN-11").listed()
    lst.add("PERFORMANCE_COMPLETED", "2024-04-09T10:00", kind="DEBTOR", code=None)
    return lst


def test_tick_before_24h_of_due_date_detects_nothing() -> None:
    state, derived = run(_performed().events, now=at("2024-04-12T23:59"))
    assert not [d for d in derived if d.event_type == DEADLINE_VIOLATED]


def test_tick_after_due_date_gives_one_violation_per_obligation() -> None:
    lst = _performed()
    state, derived = run(lst.events, now=at("2024-04-13T00:00"))
    violated = [d for d in derived if d.event_type == DEADLINE_VIOLATED]
    assert sorted(d.payload["obligation"]["rule_id"] for d in violated) == [
        "CPC2016.SHIELD_REVOKE_3WD",
        "SPC2017.ART10.DELETE_3WD",
    ]
    assert {d.payload["detected_by"] for d in violated} == {"TICK"}
    state, again = advance(
        state, at("2024-04-20T00:00"), cause=tick("L1", "CN-11", at("2024-04-20T00:00"))
    )
    assert again == []
    # the late answer closes it as late, with no second violation
    lst.add("LISTING_SHIELDED", "2024-04-22T10:00")
    state, late = apply(state, lst.events[-1])
    assert [d.event_type for d in late if d.event_type == DEADLINE_VIOLATED] == []
    met = [d.payload for d in late if d.event_type == DEADLINE_MET]
    assert {(m["verdict"], m["late"]) for m in met} == {("VIOLATION", True)}


def test_late_answer_without_tick_gives_violation_and_met() -> None:
    lst = _performed()
    lst.add("LISTING_SHIELDED", "2024-04-22T10:00")
    _, derived = run(lst.events)
    kinds = sorted(
        (d.event_type, d.payload.get("detected_by", ""))
        for d in derived
        if d.payload.get("obligation", {}).get("rule_id") == "SPC2017.ART10.DELETE_3WD"
    )
    assert kinds == [
        ("DEADLINE_MET", ""),
        ("DEADLINE_OPENED", ""),
        ("DEADLINE_VIOLATED", "ANSWER"),
    ]
    violation = next(d for d in derived if d.event_type == DEADLINE_VIOLATED)
    assert violation.payload["actual_date"].isoformat() == "2024-04-22"
    assert "due 2024-04-12" in violation.payload["reason"]


def test_earlier_answer_arriving_after_a_tick_withdraws_the_violation() -> None:
    lst = _performed()
    shield = LedgerEvent(
        event_id="late-shield",
        event_type="LISTING_SHIELDED",
        listing_id="L1",
        occurred_at=at("2024-04-10T10:00"),
        actor=Actor(kind="COURT", code="京0101"),
        jurisdiction="CN-11",
        source_event_id="late-shield",
        seq=99,
    )
    state, derived = run(lst.events, now=at("2024-04-20T00:00"))
    assert [d for d in derived if d.event_type == DEADLINE_VIOLATED]
    state, later = apply(state, shield)
    met = [d.payload for d in later if d.event_type == DEADLINE_MET]
    assert {m["verdict"] for m in met} == {"COMPLIANT"}
    shield_rules = {"SPC2017.ART10.DELETE_3WD", "CPC2016.SHIELD_REVOKE_3WD"}
    assert {c.verdict for c in checks(state) if c.rule_id in shield_rules} == {
        "COMPLIANT"
    }
    # the railway measure was never released: overdue at the tick (5 working days)
    (release,) = rows(state, "CPC2016.AGENCY_RELEASE")
    assert (release.verdict, str(release.deadline), release.responsible_code) == (
        "VIOLATION",
        "2024-04-17",
        "RAILWAY",
    )


def test_derived_event_ids_are_deterministic_and_duplicates_add_nothing() -> None:
    lst = _performed()
    lst.add("LISTING_SHIELDED", "2024-04-22T10:00")
    _, first = run(lst.events)
    state, second = run(lst.events)
    assert [d.event_id for d in first] == [d.event_id for d in second]
    before = json.dumps(state.to_dict(), default=str)
    state, again = apply(state, lst.events[2])
    # a duplicate re-emits what it caused, identically; the state is unchanged
    assert again and all(d in first for d in again)
    assert json.dumps(state.to_dict(), default=str) == before
    assert {d.causation_id for d in first} <= {e.event_id for e in lst.events}
    assert all(
        d.actor.kind == "LEDGER" and d.actor.code == "rules-engine" for d in first
    )


# --- order independence and serialisation ---------------------------------------------


def _final(
    events: list[LedgerEvent], now: datetime
) -> tuple[list[Any], dict[str, Any]]:
    state, _ = run(events, now=now)
    return outcome(state), state.fold


@pytest.mark.parametrize("seed", range(4))
def test_each_listing_shuffled_gives_the_same_outcome(seed: int) -> None:
    rng = random.Random(seed)
    now = at("2030-01-01T00:00")
    for record in RECORDS:
        events = adapter_events(record)
        expected = _final(events, now)
        shuffled = events[:]
        rng.shuffle(shuffled)
        assert _final(shuffled + shuffled[:3], now) == expected, record["lifecycle_id"]


def test_interleaved_lifecycles_give_the_same_outcome() -> None:
    rng = random.Random(7)
    queues = [adapter_events(r) for r in RECORDS]
    expected = {q[0].listing_id: _final(q, at("2030-01-01T00:00"))[0] for q in queues}
    states: dict[str, ListingState] = {}
    pending = [q[:] for q in queues]
    while any(pending):
        queue = rng.choice([q for q in pending if q])
        event = queue.pop(0)
        states[event.listing_id], _ = apply(states.get(event.listing_id), event)
    for listing_id, state in states.items():
        state, _ = advance(
            state,
            at("2030-01-01T00:00"),
            cause=tick(listing_id, state.jurisdiction, at("2030-01-01T00:00")),
        )
        assert outcome(state) == expected[listing_id]


def test_state_round_trips_through_json() -> None:
    events = adapter_events(RECORDS[0])
    state, _ = run(events[:10])
    copy = ListingState.from_dict(json.loads(json.dumps(state.to_dict())))
    for event in events[10:]:
        state, out_a = apply(state, event)
        copy, out_b = apply(copy, event)
        assert out_a == out_b
    assert copy.to_dict() == state.to_dict()


def test_state_of_unknown_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="version 3 is unknown"):
        ListingState.from_dict({"v": 3})


def test_a_court_named_by_its_full_name_is_accounted_under_its_code() -> None:
    """LC-051's reconsideration goes to_court 福州市中级人民法院: the higher court's
    missed decision is booked to 闽01, as its own acts are."""
    from rules.cli import evaluate_record
    from rules.courts import court_code

    record = next(
        json.loads(line)
        for line in LIFECYCLES.read_text(encoding="utf-8").splitlines()
        if json.loads(line)["lifecycle_id"] == "LC-051"
    )
    _, rows = evaluate_record(record, datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")))
    recon = [r for r in rows if r.rule_id == "SPC2017.ART12.RECON_DECIDE_15D"]
    assert recon and all(r.responsible_code == "闽01" for r in recon)
    assert court_code("厦门市中级人民法院") == "闽02"
    assert court_code("闽0203") == "闽0203"
    assert court_code("某某人民法院") == "某某人民法院"  # unknown: kept as given


# --- a listing term that ends by the clock (SPC2017 art.10 para.2) ------------------

EXPIRY = "SPC2017.ART10.EXPIRY_DELETE_3WD"


def _termed(years: int = 2, expires: date | None = None) -> Listing:
    """Decided 2024-03-01 for `years` years: the term's last day is 2026-03-01 (a
    Sunday), unless the decision states another (`expires`); three working days
    after 2026-03-01 end on Wednesday 2026-03-04."""
    term: dict[str, Any] = {"years": years}
    if expires is not None:
        term["expires"] = expires
    listing = Listing()
    listing.add(
        "EXECUTION_NOTICE_SERVED", "2024-01-05T09:00", risk_warning_included=True
    )
    listing.add(
        "LISTING_DECISION_MADE",
        "2024-03-01T09:00",
        listing_term=term,
        debtor={"entity_type": "NATURAL_PERSON", "id_number": "350211198305042073"},
    )
    return listing


def test_a_term_that_ends_with_no_deletion_is_a_violation_of_the_court() -> None:
    listing = _termed()

    state, _ = run(listing.events, now=at("2026-03-04T23:00"))
    (row,) = [r for r in outcome(state) if r[0] == EXPIRY]
    assert row == (EXPIRY, "L1-E2", None, "OPEN", date(2026, 3, 4))

    state, derived = run(listing.events, now=at("2026-03-05T00:00"))
    (check,) = rows(state, EXPIRY)
    assert (check.trigger_event, check.verdict) == ("L1-E2", "VIOLATION")
    assert (check.responsible_kind, check.responsible_code) == ("COURT", "闽0203")
    assert any(
        e.event_type == DEADLINE_VIOLATED
        and e.payload["obligation"]["rule_id"] == EXPIRY
        for e in derived
    )


def test_the_tick_before_the_term_end_is_asked_for() -> None:
    from rules.engine import next_due

    state, _ = run(_termed().events, now=at("2025-06-01T00:00"))
    due = next_due(state)
    assert due is not None and due <= at("2026-03-02T00:00")
    assert not rows(state, EXPIRY)


@pytest.mark.parametrize(
    ("deleted", "verdict"),
    [("2026-03-04T16:00", "COMPLIANT"), ("2026-03-05T09:00", "VIOLATION")],
)
def test_a_deletion_after_the_term_is_judged_by_its_date(
    deleted: str, verdict: str
) -> None:
    listing = _termed()
    deletion = listing.add("LISTING_DELETED", deleted)

    # the deletion recorded before or after the tick that passes the term end
    early, _ = run(listing.events, now=at("2026-04-01T00:00"))
    state: ListingState | None = None
    for event in listing.events[:-1]:
        state, _ = apply(state, event)
    assert state is not None
    state, _ = advance(
        state,
        at("2026-03-02T00:00"),
        cause=tick("L1", "CN-35", at("2026-03-02T00:00")),
    )
    state, _ = apply(state, listing.events[-1])
    state, _ = advance(
        state, at("2026-04-01T00:00"), cause=tick("L1", "CN-35", at("2026-04-01T00:00"))
    )

    for judged in (early, state):
        (check,) = rows(judged, EXPIRY) or [None]
        if verdict == "COMPLIANT":
            assert check is None or check.verdict == "COMPLIANT"
            assert [r[3] for r in outcome(judged) if r[0] == EXPIRY] == ["COMPLIANT"]
        else:
            assert check is not None
            assert (check.response_event, check.verdict) == (deletion, "VIOLATION")


def test_no_term_deletion_is_owed_after_an_earlier_exit_or_the_courts_own_record() -> (
    None
):
    shielded = _termed()
    shielded.add("LISTING_SHIELDED", "2025-01-10T09:00")
    state, _ = run(shielded.events, now=at("2027-01-01T00:00"))
    assert [r for r in outcome(state) if r[0] == EXPIRY] == []

    recorded = _termed()
    expired = recorded.add("LISTING_TERM_EXPIRED", "2026-03-02T09:00")
    state, _ = run(recorded.events, now=at("2027-01-01T00:00"))
    assert [r[1] for r in outcome(state) if r[0] == EXPIRY] == [expired]


def test_a_late_record_of_the_expiry_withdraws_the_clocks_violation() -> None:
    listing = _termed()
    state: ListingState | None = None
    for event in listing.events:
        state, _ = apply(state, event)
    assert state is not None
    state, first = advance(
        state, at("2026-03-10T00:00"), cause=tick("L1", "CN-35", at("2026-03-10"))
    )
    assert [r[3] for r in outcome(state) if r[0] == EXPIRY] == ["VIOLATION"]
    expired = listing.add("LISTING_TERM_EXPIRED", "2026-03-01T18:00")
    state, later = apply(state, listing.events[-1])

    assert [(r[1], r[3]) for r in outcome(state) if r[0] == EXPIRY] == [
        (expired, "VIOLATION")
    ]
    withdrawn = [
        e
        for e in later
        if e.payload.get("obligation", {}).get("trigger_event") == "L1-E2"
    ]
    assert withdrawn and all(e.payload["verdict"] == "WITHDRAWN" for e in withdrawn)


def test_the_last_day_the_decision_states_is_the_term_end() -> None:
    """Decided 2024-03-01, the decision states 2026-02-26 (a Thursday) as the
    term's last day: three working days after it are Friday 27, the adjusted
    working Saturday 28 (调休 of the Spring Festival) and Monday 2026-03-02."""
    listing = _termed(expires=date(2026, 2, 26))
    state, _ = run(listing.events, now=at("2026-03-04T00:00"))
    (check,) = rows(state, EXPIRY)
    assert (check.deadline, check.verdict) == (date(2026, 3, 2), "VIOLATION")


def test_a_late_record_of_the_expiry_does_not_move_the_deadline() -> None:
    """The term's last day is 2026-03-01: the deletion is due on 2026-03-04 however
    late the court records the expiry (SPC2017 art.10: the clock starts at the
    term's end); a record on the last day itself counts from that day."""
    late = _termed()
    expired = late.add("LISTING_TERM_EXPIRED", "2026-03-15T00:00")
    deleted = late.add("LISTING_DELETED", "2026-03-16T09:00")
    state, _ = run(late.events)
    (check,) = rows(state, EXPIRY)
    assert (check.trigger_event, check.response_event) == (expired, deleted)
    assert (check.deadline, check.verdict) == (date(2026, 3, 4), "VIOLATION")

    on_time = _termed()
    on_time.add("LISTING_TERM_EXPIRED", "2026-03-01T00:00")
    on_time.add("LISTING_DELETED", "2026-03-04T16:00")
    state, _ = run(on_time.events)
    (check,) = rows(state, EXPIRY)
    assert (check.deadline, check.verdict) == (date(2026, 3, 4), "COMPLIANT")


def test_a_refused_application_does_not_bar_a_later_relisting() -> None:
    # deleted on the applicant's request 2022-05-11 (bar to 2022-11-11); the
    # applicant's new application is refused; the court lists again for a new act
    lst = _left_on_applicants_request(applied="2022-07-01T09:00")
    refused = lst.add("LISTING_APPLICATION_REJECTED", "2022-07-18T09:00")
    lst.add("LISTING_DECISION_MADE", "2022-09-01T09:00")
    state, _ = run(lst.events)
    assert [
        (c.response_event, c.verdict) for c in rows(state, "SPC2017.ART10.NO_RELIST_6M")
    ] == [(refused, "COMPLIANT")]
    assert [c.verdict for c in rows(state, "SPC2017.ART10.RELIST_ALLOWED")] == [
        "COMPLIANT"
    ]


def test_a_shielding_on_the_applicants_request_starts_the_six_month_bar() -> None:
    # 屏蔽 and 删除 are the same exit with other retention (RULES.md §3.3 (3))
    lst = _left_on_applicants_request("LISTING_SHIELDED", applied="2022-07-01T09:00")
    relisted = lst.add("LISTING_DECISION_MADE", "2022-07-18T09:00")
    state, _ = run(lst.events)
    assert [
        (c.response_event, c.verdict) for c in rows(state, "SPC2017.ART10.NO_RELIST_6M")
    ] == [(relisted, "VIOLATION")]
