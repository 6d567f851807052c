"""Defects found in integration: every derived event encodes, the outcomes folded from
any arrival order equal the in-order ones, a redelivered event heals lost output,
and the engine says when the next tick matters."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contract.codec import encode
from contract.derived import (
    DEADLINE_MET,
    DEADLINE_OPENED,
    DEADLINE_VIOLATED,
    SANCTION_STATE_CHANGED,
)
from contract.event import Actor, LedgerEvent
from rules.cli import adapter_events, tick
from rules.engine import advance, apply, has_open, next_due
from rules.state import ListingState

SH = ZoneInfo("Asia/Shanghai")
LIFECYCLES = Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl"
RECORDS = [
    json.loads(line) for line in LIFECYCLES.read_text("utf-8").splitlines() if line
]
NOW = datetime(2030, 1, 1, tzinfo=SH)
CLEAR = ("COMPLIANT", "IN_TIME", "NO_NUMERIC_DEADLINE", "WITHDRAWN")

Order = Callable[[list[LedgerEvent]], list[LedgerEvent]]


def _by_kind(first: str) -> Order:
    """Arrival with all events of one actor kind first (each keeping its order)."""
    return lambda events: sorted(events, key=lambda e: e.actor.kind != first)


def _shuffled(seed: int) -> Order:
    return lambda events: random.Random(seed).sample(events, len(events))


ORDERS: dict[str, Order] = {
    "agency-first": _by_kind("AGENCY"),
    "court-last": lambda events: sorted(events, key=lambda e: e.actor.kind == "COURT"),
    "reversed": lambda events: events[::-1],
    **{f"shuffled-{seed}": _shuffled(seed) for seed in range(4)},
}


def _id(event: LedgerEvent) -> str:
    return event.event_id


def _run(
    events: list[LedgerEvent], state: ListingState | None = None
) -> tuple[ListingState, list[LedgerEvent]]:
    derived: list[LedgerEvent] = []
    for event in events:
        state, out = apply(state, event)
        derived.extend(out)
    assert state is not None
    state, out = advance(state, NOW, cause=tick(state.listing_id, "CN", NOW))
    return state, derived + out


def _fold(derived: list[LedgerEvent]) -> tuple[dict[str, Any], dict[Any, Any]]:
    """Final per-key outcomes: the last Opened/Violated/Met per obligation id, the
    last SanctionStateChanged per (agency, measure)."""
    obligations: dict[str, Any] = {}
    sanctions: dict[Any, Any] = {}
    for d in derived:
        p = d.payload
        if d.event_type == SANCTION_STATE_CHANGED:
            sanctions[(p["agency"], p["measure_code"])] = (
                p["state"],
                p["since"],
                p["trigger_event"],
                p["legal_basis"],
                p["retained_until"],
            )
            continue
        oid = p["obligation"]["obligation_id"]
        if d.event_type == DEADLINE_OPENED:
            obligations[oid] = ("OPEN",)
        elif d.event_type == DEADLINE_VIOLATED:
            obligations[oid] = ("VIOLATED", p["verdict"])
        else:
            assert d.event_type == DEADLINE_MET
            obligations[oid] = ("MET", p["verdict"], p["response_event"], p["late"])
    return obligations, sanctions


def _assert_same_outcomes(
    got: list[LedgerEvent], expected: list[LedgerEvent], what: str
) -> None:
    got_obligations, got_sanctions = _fold(got)
    want_obligations, want_sanctions = _fold(expected)
    assert got_sanctions == want_sanctions, what
    for oid, outcome in want_obligations.items():
        assert got_obligations.get(oid) == outcome, f"{what}: {oid}"
    for oid in got_obligations.keys() - want_obligations.keys():
        # an outcome the in-order result does not have must have been withdrawn
        outcome = got_obligations[oid]
        assert outcome[0] == "MET" and outcome[1] in CLEAR, f"{what}: {oid} {outcome}"
        assert not outcome[3], f"{what}: {oid} {outcome}"


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_every_derived_event_encodes(order: str) -> None:
    for record in RECORDS:
        _, derived = _run(ORDERS[order](adapter_events(record)))
        for d in derived:
            assert encode(d), (record["lifecycle_id"], d.event_type)


def test_agency_act_before_the_decision_gets_no_trigger_less_check() -> None:
    record = next(r for r in RECORDS if r["lifecycle_id"] == "LC-060")
    _, derived = _run(_by_kind("AGENCY")(adapter_events(record)))
    assert derived
    for d in derived:
        obligation = d.payload.get("obligation")
        assert obligation is None or isinstance(obligation["trigger_event"], str)


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_folded_outcomes_of_any_arrival_order_equal_the_in_order_ones(
    order: str,
) -> None:
    for record in RECORDS:
        events = adapter_events(record)
        _, expected = _run(events)
        _, got = _run(ORDERS[order](events))
        _assert_same_outcomes(got, expected, f"{record['lifecycle_id']} {order}")


def test_credit_repair_seen_before_the_shield_is_withdrawn() -> None:
    for lifecycle in ("LC-001", "LC-006", "LC-009"):
        record = next(r for r in RECORDS if r["lifecycle_id"] == lifecycle)
        _, derived = _run(_by_kind("AGENCY")(adapter_events(record)))
        repair = [
            d
            for d in derived
            if d.payload.get("obligation", {}).get("rule_id")
            == "FJ2016.CREDIT_REPAIR_AFTER_SHIELD"
        ]
        assert [d.event_type for d in repair] == [DEADLINE_VIOLATED, DEADLINE_MET]
        assert repair[-1].payload["verdict"] == "WITHDRAWN", lifecycle


def _event(
    eid: str, etype: str, when: str, kind: str, code: str, **payload: Any
) -> LedgerEvent:
    return LedgerEvent(
        event_id=eid,
        event_type=etype,
        listing_id="L9",
        occurred_at=datetime.fromisoformat(when).replace(tzinfo=SH),
        actor=Actor(kind=kind, code=code),
        jurisdiction="CN-11",
        payload=payload,
        source_event_id=eid,
        seq=int(eid[1:]),
    )


def test_refold_corrects_an_emitted_sanction_state() -> None:
    measure = {"measure_code": "RAILWAY.TRAIN_RESTRICTION"}
    decided = _event("E1", "LISTING_DECISION_MADE", "2024-03-01T09:00", "COURT", "C")
    applied = _event(
        "E2", "SANCTION_APPLIED", "2024-03-04T09:00", "AGENCY", "RAILWAY", **measure
    )
    suspended = _event(
        "E3", "SANCTION_SUSPENDED", "2024-03-10T09:00", "AGENCY", "RAILWAY", **measure
    )
    released = _event(
        "E4", "SANCTION_RELEASED", "2024-03-20T09:00", "AGENCY", "RAILWAY", **measure
    )
    _, expected = _run([decided, applied, suspended, released])
    _, got = _run([decided, applied, released, suspended])
    ((state, trigger),) = {
        (d.payload["state"], d.payload["trigger_event"])
        for d in got[-1:]
        if d.event_type == SANCTION_STATE_CHANGED
    } or {(None, None)}
    assert (state, trigger) == ("RELEASED", "E4")
    _assert_same_outcomes(got, expected, "suspension arriving after the release")


@pytest.mark.parametrize("order", ["in-order", "agency-first", "shuffled-0"])
def test_redelivered_event_re_emits_exactly_what_it_caused(order: str) -> None:
    arrange = ORDERS.get(order, lambda events: events)
    for record in RECORDS:
        state: ListingState | None = None
        for event in arrange(adapter_events(record)):
            state, out = apply(state, event)
            # the worker crashed after storing the state: the output was lost
            stored = json.loads(json.dumps(state.to_dict(), default=str))
            state = ListingState.from_dict(stored)
            state, again = apply(state, event)
            assert sorted(again, key=_id) == sorted(out, key=_id), (
                record["lifecycle_id"],
                event.event_id,
            )


def test_replaying_the_whole_sample_yields_only_ids_already_seen() -> None:
    seen: dict[str, LedgerEvent] = {}
    reemitted = 0
    for record in RECORDS:
        events = adapter_events(record)
        state, derived = _run(events)
        seen.update((d.event_id, d) for d in derived)
        for event in events:
            state, again = apply(state, event)
            reemitted += len(again)
            for d in again:
                assert seen.get(d.event_id) == d, (record["lifecycle_id"], d)
    assert reemitted > 0


def test_next_due_is_the_earliest_running_deadline() -> None:
    decided = _event("E1", "LISTING_DECISION_MADE", "2024-03-01T09:00", "COURT", "C")
    performed = _event("E2", "PERFORMANCE_COMPLETED", "2024-04-09T10:00", "DEBTOR", "D")
    state, _ = apply(None, decided)
    state, _ = apply(state, performed)
    due = next_due(state)
    # SPC2017 art.10: 3 working days after 2024-04-09 end at 24:00 on 2024-04-12
    assert due == datetime(2024, 4, 13, tzinfo=SH)
    assert has_open(state)
    late = datetime(2024, 6, 1, tzinfo=SH)
    state, _ = advance(state, late, cause=tick("L9", "CN-11", late))
    after = next_due(state)
    assert after is None or after > late


def test_payloads_have_exactly_the_contract_fields() -> None:
    from dataclasses import fields

    from contract.derived import (
        DeadlineMet,
        DeadlineOpened,
        DeadlineViolated,
        Obligation,
        SanctionStateChanged,
    )

    expected = {
        DEADLINE_OPENED: DeadlineOpened,
        DEADLINE_MET: DeadlineMet,
        DEADLINE_VIOLATED: DeadlineViolated,
        SANCTION_STATE_CHANGED: SanctionStateChanged,
    }
    obligation = [f.name for f in fields(Obligation)]
    seen = set()
    for record in RECORDS:
        _, derived = _run(_by_kind("AGENCY")(adapter_events(record)))
        for d in derived:
            assert list(d.payload) == [f.name for f in fields(expected[d.event_type])]
            if "obligation" in d.payload:
                assert list(d.payload["obligation"]) == obligation
            seen.add(d.event_type)
    assert seen == set(expected)


def test_version_1_state_is_read_and_emits_nothing_twice() -> None:
    record = next(r for r in RECORDS if r["lifecycle_id"] == "LC-001")
    events = adapter_events(record)
    state, derived = _run(events[:-3])
    old = json.loads(json.dumps(state.to_dict(), default=str))  # a stored copy
    # what version 1 stored: a flag or signature per emitted outcome, no causes
    v1: dict[str, str] = {}
    for key, slot in old["emitted"].items():
        kind, _, rest = key.partition("|")
        if kind in ("S", "O"):
            v1[key] = "1"
        elif kind in ("V", "A"):
            v1[key] = slot[1]
        elif kind == "M":
            v1[key] = f"{slot[1]}|{slot[2]}"
    loaded = ListingState.from_dict({**old, "v": 1, "emitted": v1})
    for event in events[:-3]:
        loaded, again = apply(loaded, event)
        assert again == [], event.event_id  # causes unknown: nothing re-emitted
    emitted_after = 0
    for event in events[-3:]:
        state, out = apply(state, event)
        loaded, out_v1 = apply(loaded, event)
        assert out_v1 == out
        emitted_after += len(out)
    assert emitted_after > 0
