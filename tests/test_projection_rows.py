"""Row logic of the projections: pure, no services."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contract.derived import DEADLINE_MET, DEADLINE_OPENED, DEADLINE_VIOLATED
from contract.event import Actor, LedgerEvent, Position
from projections import rows
from projections.check import (
    SubjectError,
    is_active,
    normalized_subject,
    subject_kind,
)
from projections.rows import Fact, HistoryRow

COURT = Actor(kind="COURT", code="闽0203", name="厦门市思明区人民法院")
LEDGER = Actor(kind="LEDGER", code="rules-engine")
T0 = datetime(2020, 1, 6, 1, 0, tzinfo=UTC)
PERSON_ID = "35010219850315041X"
COLUMNS = rows.TABLE_COLUMNS


def fact(
    event_type: str,
    day: int,
    known_ms: int,
    payload: dict[str, Any] | None = None,
    *,
    listing: str = "L1",
    actor: Actor = COURT,
    event_id: str | None = None,
) -> Fact:
    event = LedgerEvent(
        event_id=event_id or f"{event_type}-{day}-{known_ms}",
        event_type=event_type,
        listing_id=listing,
        occurred_at=T0 + timedelta(days=day),
        actor=actor,
        jurisdiction="CN-35",
        payload=payload or {},
    )
    position = Position(
        "court", 0, known_ms, T0 + timedelta(days=400, milliseconds=known_ms)
    )
    return Fact.of(event, position)


def listing_facts() -> list[Fact]:
    debtor = {
        "name": "张三",
        "entity_type": "NATURAL_PERSON",
        "id_number": PERSON_ID,
        "published_card_number": "3501021985****041X",
    }
    return [
        fact(
            "DEBTOR_IDENTIFIED",
            0,
            1,
            {"debtor": debtor, "case_number": "（2019）闽0203执1号"},
        ),
        fact("LISTING_DECISION_MADE", 10, 2, {"conduct_codes": ["ABILITY_REFUSAL"]}),
        fact("LISTING_PUBLISHED", 11, 3),
        fact("LISTING_SHIELDED", 40, 4),
        fact("LISTING_DECISION_MADE", 90, 5, {"conduct_codes": ["EVADE_EXECUTION"]}),
        fact("LISTING_PUBLISHED", 91, 6),
        fact("LISTING_REVOKED", 120, 7),
    ]


def replay_in_batches(
    kind: str, key: rows.Key, arrival: list[list[Fact]]
) -> list[HistoryRow]:
    """What the store does, in memory: plan each batch, apply closes and inserts."""
    history: list[HistoryRow] = []
    prior: rows.FoldState | None = None
    known: list[Fact] = []
    for batch in arrival:
        known.extend(batch)
        change = rows.plan(kind, key, prior, batch, lambda: list(known))
        if change.recompute:
            history = []
        for table, known_to in change.closes:
            for hr in history:
                if hr.table == table and hr.valid_to is None and hr.known_to is None:
                    hr.known_to = known_to
        history.extend(change.inserted)
        prior = change.fold_state
    return history


def as_set(history: list[HistoryRow]) -> set[tuple[Any, ...]]:
    return {
        (h.table, h.row, h.valid_from, h.valid_to, h.known.broker_time, h.known_to)
        for h in history
    }


def test_masked_card_number_keeps_first_10_and_last_4_of_a_resident_id() -> None:
    assert (
        rows.masked_card_number("NATURAL_PERSON", PERSON_ID, None)
        == "3501021985****041X"
    )


def test_masked_card_number_never_returns_a_full_resident_id_even_if_shown_so() -> None:
    masked = rows.masked_card_number("NATURAL_PERSON", None, PERSON_ID)
    assert masked == "3501021985****041X"


def test_masked_card_number_shows_organisation_codes_whole() -> None:
    assert rows.masked_card_number("LEGAL_PERSON", None, "MA3UCNP82") == "MA3UCNP82"


def test_listing_fold_follows_shielding_and_relisting() -> None:
    spans, state, _ = rows.timeline(rows.LISTING, ("L1",), listing_facts())
    states = [
        row[rows.TABLE_COLUMNS["listings"].index("state")]
        for _, _, row in spans["listings"]
    ]
    assert states == [
        "PENDING", "DECIDED", "PUBLISHED", "SHIELDED",
        "RELISTED", "PUBLISHED", "REVOKED",
    ]  # fmt: skip
    assert state is not None and state["subject_id"] == PERSON_ID
    assert state["masked_id"] == "3501021985****041X"


@pytest.mark.parametrize("seed", range(12))
def test_rows_do_not_depend_on_arrival_order_or_batching(seed: int) -> None:
    facts = listing_facts()
    expected = as_set(rows.full_history(rows.LISTING, ("L1",), facts).inserted)
    shuffled = facts[:]
    random.Random(seed).shuffle(shuffled)
    cut = sorted(random.Random(seed + 100).sample(range(1, len(facts)), 2))
    batches = [shuffled[: cut[0]], shuffled[cut[0] : cut[1]], shuffled[cut[1] :]]
    assert as_set(replay_in_batches(rows.LISTING, ("L1",), batches)) == expected


def test_in_order_events_take_the_fast_path_with_the_rows_of_the_definition() -> None:
    facts = listing_facts()
    history = replay_in_batches(rows.LISTING, ("L1",), [[f] for f in facts])
    assert as_set(history) == as_set(
        rows.full_history(rows.LISTING, ("L1",), facts).inserted
    )
    assert sum(1 for h in history if h.valid_to is None and h.known_to is None) == 1


def at(history: list[HistoryRow], t: datetime, known: datetime) -> list[str]:
    column = rows.TABLE_COLUMNS["listings"].index("state")
    return [
        h.row[column]
        for h in history
        if h.valid_from <= rows.iso(t)
        and (h.valid_to is None or rows.iso(t) < h.valid_to)
        and h.known.broker_time <= rows.iso(known)
        and (h.known_to is None or rows.iso(known) < h.known_to)
    ]


def test_a_backdated_shielding_changes_the_past_only_from_when_it_was_recorded() -> (
    None
):
    facts = listing_facts()[:3]
    # recorded last (knowledge 9) but effective on day 20, before nothing newer
    late = fact("LISTING_SHIELDED", 20, 9)
    newer = fact("LISTING_CORRECTED", 30, 8)
    history = replay_in_batches(rows.LISTING, ("L1",), [facts, [newer], [late]])
    day25 = T0 + timedelta(days=25)
    before_recorded = datetime.fromisoformat(newer.known.broker_time)
    after_recorded = datetime.fromisoformat(late.known.broker_time)
    assert at(history, day25, before_recorded) == ["PUBLISHED"]
    assert at(history, day25, after_recorded) == ["SHIELDED"]
    # the later correction is refolded on top of the backdated shielding
    assert at(history, T0 + timedelta(days=35), after_recorded) == ["SHIELDED"]
    assert at(history, T0 + timedelta(days=15), after_recorded) == ["PUBLISHED"]


def obligation(**overrides: Any) -> dict[str, Any]:
    base = {
        "obligation_id": "L1|SPC2017.ART10.DELETE_3WD|E10",
        "rule_id": "SPC2017.ART10.DELETE_3WD",
        "rule_source": "法释〔2017〕7号 第十条",
        "policy_version": "SPC2017/v1",
        "obligor": "AUTHORITY",
        "responsible_kind": "COURT",
        "responsible_code": "闽0203",
        "trigger_event": "E10",
        "triggered_at": rows.iso(T0),
        "limit_value": 3,
        "limit_unit": "WORKING_DAYS",
        "due_date": "2020-01-09",
        "due_at": "2020-01-09T16:00:00+00:00",
        "provisional": False,
        "calendar_version": "v1",
        "why": "delete within 3 working days",
    }
    return base | overrides


def test_a_tick_violation_answered_on_time_later_is_withdrawn_and_met() -> None:
    ob = obligation()
    facts = [
        fact(DEADLINE_OPENED, 0, 1, {"obligation": ob}, actor=LEDGER),
        fact(
            DEADLINE_VIOLATED,
            5,
            2,
            {
                "obligation": ob,
                "verdict": "VIOLATION",
                "detected_by": "TICK",
                "response_event": None,
                "actual_date": None,
                "reason": "overdue",
            },
            actor=LEDGER,
        ),  # fmt: skip
        fact(
            DEADLINE_MET,
            2,
            3,
            {
                "obligation": ob,
                "response_event": "E11",
                "answered_at": rows.iso(T0),
                "verdict": "COMPLIANT",
                "late": False,
            },
            actor=LEDGER,
        ),  # fmt: skip
    ]
    change = rows.full_history(rows.OBLIGATION, (ob["obligation_id"],), facts)
    current = {t: change.current(t) for t in ("obligations", "violations")}
    assert current["obligations"] is not None and current["violations"] is not None
    ob_row = dict(zip(COLUMNS["obligations"], current["obligations"][0], strict=True))
    v_row = dict(zip(COLUMNS["violations"], current["violations"][0], strict=True))
    assert ob_row["status"] == "MET"
    assert v_row["withdrawn"] is True
    assert v_row["answer_event"] == "E11"


def test_an_unanswered_tick_violation_leaves_the_obligation_violated() -> None:
    ob = obligation()
    violated = {
        "obligation": ob, "verdict": "VIOLATION", "detected_by": "TICK",
        "response_event": None, "actual_date": None, "reason": "overdue",
    }  # fmt: skip
    change = rows.full_history(
        rows.OBLIGATION,
        (ob["obligation_id"],),
        [fact(DEADLINE_VIOLATED, 5, 2, violated, actor=LEDGER)],
    )
    current = change.current("obligations")
    assert current is not None
    assert (
        dict(zip(COLUMNS["obligations"], current[0], strict=True))["status"]
        == "VIOLATED"
    )


def _rows_at(
    history: list[HistoryRow], table: str, t: datetime
) -> list[dict[str, Any]]:
    """The rows of `table` in effect at `t`, as now believed."""
    return [
        dict(zip(COLUMNS[table], h.row, strict=True))
        for h in history
        if h.table == table
        and h.known_to is None
        and h.valid_from <= rows.iso(t)
        and (h.valid_to is None or rows.iso(t) < h.valid_to)
    ]


def _missed_then(detected_by: str, act_day: int, known: int) -> Fact:
    return fact(
        DEADLINE_VIOLATED, act_day, known,
        {
            "obligation": obligation(), "verdict": "VIOLATION",
            "detected_by": detected_by,
            "response_event": "E20" if detected_by == "STATE" else None,
            "actual_date": (T0 + timedelta(days=act_day)).date().isoformat(),
            "reason": "forbidden act" if detected_by == "STATE" else "overdue",
        },
        actor=LEDGER, event_id=f"V-{detected_by}",
    )  # fmt: skip


def test_a_deadline_missed_before_a_forbidden_act_revealed_it_stands_from_its_day() -> (
    None
):
    """Due 2020-01-09; the engine learns of the miss only from a forbidden act on
    day 10 (an agency enforcing what it had to release), with no clock tick between.
    The violation is in effect from the end of the due day, as a tick would have
    shown it (no answer) until the act, and as the act from then on; the same rows
    whether the facts arrive together or one by one."""
    ob = obligation()
    key = (ob["obligation_id"],)
    opened = fact(DEADLINE_OPENED, 0, 1, {"obligation": ob}, actor=LEDGER)
    by_act = _missed_then("STATE", 10, 2)
    day5, day11 = T0 + timedelta(days=5), T0 + timedelta(days=11)

    whole = replay_in_batches(rows.OBLIGATION, key, [[opened, by_act]])
    for arrival in ([[opened], [by_act]], [[by_act], [opened]], [[by_act]]):
        alone = replay_in_batches(rows.OBLIGATION, key, arrival)
        if len(arrival) == 2:
            assert as_set(alone) == as_set(whole), arrival
        shown = _rows_at(alone, "violations", day5)
        assert shown == _rows_at(whole, "violations", day5), arrival
    assert _rows_at(whole, "violations", T0 + timedelta(days=3)) == []
    (before_act,) = _rows_at(whole, "violations", day5)
    assert (before_act["detected_by"], before_act["response_event"]) == ("TICK", None)
    assert before_act["actual_date"] is None
    (from_act,) = _rows_at(whole, "violations", day11)
    assert (from_act["detected_by"], from_act["response_event"]) == ("STATE", "E20")
    (owed,) = _rows_at(whole, "obligations", day5)
    assert owed["status"] == "VIOLATED"

    # a clock tick on day 5 would have given the same rows up to the act
    by_tick = replay_in_batches(
        rows.OBLIGATION, key, [[opened], [_missed_then("TICK", 5, 2)]]
    )
    for table in ("violations", "obligations"):
        skip = {"violated_event", "last_event"}
        assert [
            {k: v for k, v in r.items() if k not in skip}
            for r in _rows_at(whole, table, day5)
        ] == [
            {k: v for k, v in r.items() if k not in skip}
            for r in _rows_at(by_tick, table, day5)
        ], table


def test_a_partys_late_act_is_out_of_time_from_the_act_not_from_its_due_day() -> None:
    """A debtor's 10-day period to ask for correction, due 2020-01-09, used on day
    14: a lapsed right until the application, OUT_OF_TIME from it (LC-045; a replay
    --until a day between gives the same), never a violation from the due day."""
    ob = obligation(
        obligation_id="L1|FJ2016.CORRECTION_APPLY_10D|E04",
        rule_id="FJ2016.CORRECTION_APPLY_10D",
        obligor="PARTY",
        responsible_kind="DEBTOR",
        limit_value=10,
        limit_unit="CALENDAR_DAYS",
    )
    key = (ob["obligation_id"],)
    late = {
        "obligation": ob, "verdict": "OUT_OF_TIME", "detected_by": "ANSWER",
        "response_event": "E20", "actual_date": "2020-01-20", "reason": "late",
    }  # fmt: skip
    met = {
        "obligation": ob, "response_event": "E20",
        "answered_at": rows.iso(T0 + timedelta(days=14)), "verdict": "OUT_OF_TIME",
        "late": True,
    }  # fmt: skip
    history = replay_in_batches(
        rows.OBLIGATION,
        key,
        [[fact(DEADLINE_OPENED, 0, 1, {"obligation": ob}, actor=LEDGER)],
         [fact(DEADLINE_VIOLATED, 14, 2, late, actor=LEDGER),
          fact(DEADLINE_MET, 14, 3, met, actor=LEDGER)]],
    )  # fmt: skip
    assert _rows_at(history, "violations", T0 + timedelta(days=10)) == []
    (owed,) = _rows_at(history, "obligations", T0 + timedelta(days=10))
    assert owed["status"] == "OPEN"
    (row,) = _rows_at(history, "violations", T0 + timedelta(days=14, hours=1))
    assert (row["verdict"], row["response_event"]) == ("OUT_OF_TIME", "E20")


def test_a_forbidden_act_within_the_period_is_a_violation_from_the_act() -> None:
    ob = obligation()
    key = (ob["obligation_id"],)
    opened = fact(DEADLINE_OPENED, 0, 1, {"obligation": ob}, actor=LEDGER)
    within = replay_in_batches(
        rows.OBLIGATION, key, [[opened, _missed_then("STATE", 2, 2)]]
    )
    assert _rows_at(within, "violations", T0 + timedelta(days=1)) == []
    (row,) = _rows_at(within, "violations", T0 + timedelta(days=2, hours=1))
    assert (row["detected_by"], row["response_event"]) == ("STATE", "E20")


def _act_check_outcome(order: list[str], days: dict[str, int]) -> dict[str, Any]:
    """Fold an act check's violation and compliant answer given in `order`."""
    ob = obligation(limit_value=None, limit_unit=None, due_date=None, due_at=None)
    payloads = {
        DEADLINE_VIOLATED: {
            "obligation": ob, "verdict": "VIOLATION", "detected_by": "STATE",
            "response_event": "E20", "actual_date": "2020-01-10", "reason": "early",
        },
        DEADLINE_MET: {
            "obligation": ob, "response_event": "E11", "answered_at": rows.iso(T0),
            "verdict": "COMPLIANT", "late": False,
        },
    }  # fmt: skip
    facts = [
        fact(kind, days[kind], known, payloads[kind], actor=LEDGER)
        for known, kind in enumerate(order, start=1)
    ]
    change = rows.full_history(rows.OBLIGATION, (ob["obligation_id"],), facts)
    current = change.current("obligations")
    assert current is not None
    return dict(zip(COLUMNS["obligations"], current[0], strict=True))


def test_an_act_check_violation_withdrawn_at_the_same_instant_is_met() -> None:
    """The engine withdraws a violation that a later-arriving, earlier act
    disproved with a compliant answer at the same effective instant."""
    same = {DEADLINE_VIOLATED: 5, DEADLINE_MET: 5}
    for order in ([DEADLINE_VIOLATED, DEADLINE_MET], [DEADLINE_MET, DEADLINE_VIOLATED]):
        assert _act_check_outcome(order, same)["status"] == "MET"


def test_an_act_check_violation_after_a_compliant_answer_stands() -> None:
    later = {DEADLINE_MET: 3, DEADLINE_VIOLATED: 6}
    assert _act_check_outcome([DEADLINE_MET, DEADLINE_VIOLATED], later)["status"] == (
        "VIOLATED"
    )


@pytest.mark.parametrize(
    ("listing_state", "sanction_state", "basis", "until", "active"),
    [
        ("PUBLISHED", "APPLIED", None, None, True),
        ("SHIELDED", "APPLIED", None, None, False),  # release owed: not enforceable
        ("PUBLISHED", "SUSPENDED", None, None, False),
        ("SHIELDED", "RETAINED", "法律依据", date(2020, 10, 5), True),
        ("SHIELDED", "RETAINED", None, date(2020, 10, 5), False),
        ("SHIELDED", "RETAINED", "法律依据", date(2020, 6, 1), False),
    ],
)
def test_what_counts_as_an_active_measure(
    listing_state: str, sanction_state: str, basis: str | None, until: Any, active: bool
) -> None:
    today = date(2020, 7, 1)
    assert is_active(listing_state, sanction_state, basis, until, today) is active


def test_subject_check_digit_is_validated_first() -> None:
    assert subject_kind(PERSON_ID) == "RESIDENT_ID"
    assert subject_kind("91350102MA3UCNP82N") == "USCC"
    with pytest.raises(SubjectError, match="check digit"):
        subject_kind(PERSON_ID[:-1] + "9")


def test_a_subject_typed_with_full_width_characters_is_the_same_subject() -> None:
    full_width = PERSON_ID[:16] + "".join(chr(ord(c) + 0xFEE0) for c in PERSON_ID[16:])
    assert normalized_subject(full_width) == PERSON_ID
    assert normalized_subject(" 35010219850315041x ") == PERSON_ID
    assert subject_kind(full_width) == "RESIDENT_ID"


def violated_then_withdrawn() -> tuple[dict[str, Any], Fact, Fact]:
    """An act check violated by a forbidden act on day 5 (recorded first), then
    withdrawn by the engine as not owed at all on day 6: (obligation, V, W)."""
    ob = obligation(limit_value=None, limit_unit=None, due_date=None, due_at=None)
    violated = {
        "obligation": ob, "verdict": "VIOLATION", "detected_by": "STATE",
        "response_event": "E20", "actual_date": "2020-01-11", "reason": "early",
    }  # fmt: skip
    withdrawn = {
        "obligation": ob, "response_event": "E11", "answered_at": rows.iso(T0),
        "verdict": "WITHDRAWN", "late": False,
    }  # fmt: skip
    return (
        ob,
        fact(DEADLINE_VIOLATED, 5, 1, violated, actor=LEDGER),
        fact(DEADLINE_MET, 6, 2, withdrawn, actor=LEDGER),
    )


def test_a_check_the_engine_withdraws_as_not_owed_leaves_no_obligation() -> None:
    ob, v, w = violated_then_withdrawn()
    change = rows.full_history(rows.OBLIGATION, (ob["obligation_id"],), [v, w])
    assert change.current("obligations") is None
    current = change.current("violations")
    assert current is not None
    assert dict(zip(COLUMNS["violations"], current[0], strict=True))["withdrawn"]


def test_a_withdrawn_violation_never_stood_at_any_valid_time() -> None:
    """Violated on day 5, withdrawn (not owed at all) on day 6, recorded in that
    order, in one batch or two: from when the withdrawal is known, no valid time
    shows the violation standing or the obligation owed; before it was known, the
    ledger believed the violation from day 5 (the history keeps that)."""
    ob, v, w = violated_then_withdrawn()
    key = (ob["obligation_id"],)
    withdrawn_column = COLUMNS["violations"].index("withdrawn")

    for arrival in ([[v, w]], [[v], [w]]):
        history = replay_in_batches(rows.OBLIGATION, key, arrival)
        believed = [h for h in history if h.known_to is None]
        assert [h for h in believed if h.table == "obligations"] == []
        standing = [
            h for h in believed
            if h.table == "violations" and not h.row[withdrawn_column]
        ]  # fmt: skip
        assert standing == [], arrival
        if len(arrival) == 2:  # believed until the withdrawal was recorded
            earlier = [h for h in history if h.known_to == w.known.broker_time]
            assert any(
                h.table == "violations" and not h.row[withdrawn_column] for h in earlier
            )


# --- the listing term's last day (SPC2017 art.2), as the rules engine counts it ----


def decision_event(
    occurred_at: datetime, payload: dict[str, Any], event_id: str
) -> LedgerEvent:
    return LedgerEvent(
        event_id=event_id,
        event_type="LISTING_DECISION_MADE",
        listing_id="L1",
        occurred_at=occurred_at,
        actor=COURT,
        jurisdiction="CN-35",
        payload=payload,
    )


def decision_at(
    occurred_at: datetime, payload: dict[str, Any], event_id: str, known_ms: int
) -> Fact:
    event = decision_event(occurred_at, payload, event_id)
    return Fact.of(event, Position("court", 0, known_ms, occurred_at))


def term_expires(facts: list[Fact]) -> Any:
    _, state, _ = rows.timeline(rows.LISTING, ("L1",), facts)
    assert state is not None
    row = rows.row_of("listings", ("L1",), state)
    assert row is not None
    return row[COLUMNS["listings"].index("term_expires")]


# 2024-02-29T16:30Z is 2024-03-01 00:30 in Shanghai: the decision's legal day is
# 1 March (the UTC date, 29 February, would end a 2-year term on 2026-02-28)
LATE_NIGHT = datetime(2024, 2, 29, 16, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("occurred_at", "term", "expected"),
    [
        (LATE_NIGHT, {"years": 2}, "2026-03-01"),
        (datetime(2024, 2, 29, 3, 0, tzinfo=UTC), {"years": 1}, "2025-02-28"),
        (LATE_NIGHT, {"years": 3, "basis": "serious"}, "2027-03-01"),
        # the day the decision states wins over its years
        (LATE_NIGHT, {"years": 2, "expires": date(2026, 2, 26)}, "2026-02-26"),
        (LATE_NIGHT, {"years": None, "expires": "2025-12-31"}, "2025-12-31"),
        (LATE_NIGHT, {"years": None, "basis": "SPC2017 art.2: no term"}, None),
        (LATE_NIGHT, None, None),
    ],
)
def test_term_expires_is_the_last_day_the_rules_engine_counts(
    occurred_at: datetime, term: dict[str, Any] | None, expected: str | None
) -> None:
    from rules.engine import _term_expiry, apply

    payload: dict[str, Any] = {"conduct_codes": ["EVADE_EXECUTION"]}
    if term is not None:
        payload["listing_term"] = term
    decision = decision_at(occurred_at, payload, "D1", 1)
    assert term_expires([decision]) == expected

    # the same day the engine opens the deletion owed at the term's end from
    state, _ = apply(None, decision_event(occurred_at, payload, "D1"))
    expiry = _term_expiry(state)
    assert (None if expiry is None else expiry[2].isoformat()) == expected


def test_each_decision_sets_its_own_term_a_relisting_without_one_has_none() -> None:
    first = decision_at(LATE_NIGHT, {"listing_term": {"years": 2}}, "D1", 1)
    shielded = fact("LISTING_SHIELDED", 1600, 2)  # 2024-05-24
    relisted = decision_at(
        datetime(2024, 9, 1, 2, 0, tzinfo=UTC),
        {"conduct_codes": ["ABILITY_REFUSAL"], "listing_term": {"years": None}},
        "D2",
        3,
    )
    assert term_expires([first]) == "2026-03-01"
    assert term_expires([first, shielded, relisted]) is None
    termed_again = decision_at(
        datetime(2024, 9, 1, 2, 0, tzinfo=UTC), {"listing_term": {"years": 3}}, "D3", 3
    )
    assert term_expires([first, shielded, termed_again]) == "2027-09-01"


ENDED = date(2020, 6, 30)


@pytest.mark.parametrize(
    ("listing_state", "sanction_state", "basis", "until", "term", "active"),
    [
        ("PUBLISHED", "APPLIED", None, None, None, True),  # no term
        ("PUBLISHED", "APPLIED", None, None, date(2020, 7, 1), True),  # its last day
        ("PUBLISHED", "APPLIED", None, None, ENDED, False),  # ended the day before
        ("RELISTED", "APPLIED", None, None, ENDED, False),
        ("PUBLISHED", "RETAINED", "法律依据", date(2020, 10, 5), ENDED, True),
        ("PUBLISHED", "RETAINED", "法律依据", date(2020, 6, 1), ENDED, False),
    ],
)
def test_a_measure_is_not_active_once_the_listing_term_has_ended(
    listing_state: str,
    sanction_state: str,
    basis: str | None,
    until: Any,
    term: date | None,
    active: bool,
) -> None:
    today = date(2020, 7, 1)
    assert is_active(listing_state, sanction_state, basis, until, today, term) is active


def test_a_partys_period_left_unused_past_its_day_reads_lapsed_not_open() -> None:
    from projections.query import status_at

    due_at = datetime(2021, 8, 16, 16, tzinfo=UTC)  # 2021-08-16 24:00 Shanghai
    party = {"status": "OPEN", "obligor": "PARTY", "due_at": due_at}
    court = {**party, "obligor": "AUTHORITY"}
    before, after = due_at - timedelta(seconds=1), due_at
    assert status_at(party, before) == "OPEN"
    assert status_at(party, after) == "LAPSED"
    assert status_at(court, after) == "OPEN"  # the clock tick decides that one
    assert status_at({**party, "status": "LATE"}, after) == "LATE"
    assert status_at({**party, "due_at": None}, after) == "OPEN"
