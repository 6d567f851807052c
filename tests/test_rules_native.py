"""Differential test: the native core (`rules.engine`, Rust) against the pure-Python
reference (`rules._reference`) over the sample lifecycles and a generated workload,
in order and in shuffled arrival (re-folds), with redeliveries, clock ticks in and
out of order, `now=` moves and state round trips through JSON. Every derived event
(all fields, payload key order and value types: compared by repr), every state
(`to_dict()`), every check row and `next_due` must be identical.

RULES_NATIVE_LISTINGS sets the size of the generated workload (default 3000).
"""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from contract.event import LedgerEvent
from rules import _reference as ref
from rules import engine as nat
from rules.cli import adapter_events, lifecycle_events, tick
from rules.state import ListingState, PyListingState

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_rules import generate  # noqa: E402

LIFECYCLES = ROOT / "data" / "lifecycles.jsonl"
LISTINGS = int(os.environ.get("RULES_NATIVE_LISTINGS", "3000"))
TICKS = [
    datetime.fromisoformat(t)
    for t in (
        "2015-01-01T00:00:00+08:00",
        "2017-06-30T12:00:00+08:00",
        "2019-03-01T00:00:00+08:00",
        "2021-12-31T23:59:59+08:00",
        "2024-02-29T08:00:00+08:00",
        "2026-06-30T12:00:00+08:00",
        "2031-01-01T00:00:00+00:00",
    )
]


def records() -> list[dict[str, Any]]:
    lines = LIFECYCLES.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


class Pair:
    """One listing run through both engines side by side."""

    def __init__(self) -> None:
        self.ref: PyListingState | None = None
        self.nat: ListingState | None = None
        self.steps = 0

    def same(self, a: list[LedgerEvent], b: list[LedgerEvent], what: str) -> None:
        self.steps += 1
        assert repr(b) == repr(a), f"derived events differ after {what}"
        assert b == a

    def apply(self, event: LedgerEvent, now: datetime | None = None) -> None:
        self.ref, a = ref.apply(self.ref, event, now=now)
        self.nat, b = nat.apply(self.nat, event, now=now)
        self.same(a, b, f"apply {event.event_id} {event.event_type} now={now}")

    def advance(self, at: datetime) -> None:
        assert self.ref is not None and self.nat is not None
        cause = tick(self.ref.listing_id, self.ref.jurisdiction, at)
        self.ref, a = ref.advance(self.ref, at, cause=cause)
        self.nat, b = nat.advance(self.nat, at, cause=cause)
        self.same(a, b, f"advance {at}")

    def check_state(self) -> None:
        if self.ref is None:
            assert self.nat is None
            return
        assert self.nat is not None
        r, n = self.ref.to_dict(), self.nat.to_dict()
        assert repr(n) == repr(r)
        assert json.dumps(n, ensure_ascii=False) == json.dumps(r, ensure_ascii=False)
        # what the processor stores
        assert self.nat.to_json() == orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS)
        for include_open in (False, True):
            assert repr(nat.checks(self.nat, include_open=include_open)) == repr(
                ref.checks(self.ref, include_open=include_open)
            )
        assert repr(nat.next_due(self.nat)) == repr(ref.next_due(self.ref))
        assert nat.has_open(self.nat) == ref.has_open(self.ref)
        assert repr(nat._term_expiry(self.nat)) == repr(ref._term_expiry(self.ref))
        assert self.nat.listing_id == self.ref.listing_id
        assert self.nat.now == self.ref.now
        assert repr(self.nat.fold) == repr(self.ref.fold)

    def round_trip(self) -> None:
        if self.ref is None:
            return
        assert self.nat is not None
        data = json.loads(json.dumps(self.ref.to_dict()))
        self.ref = PyListingState.from_dict(data)
        self.nat = ListingState.from_dict(json.loads(json.dumps(self.nat.to_dict())))
        self.check_state()


def run_in_order(events: list[LedgerEvent]) -> Pair:
    pair = Pair()
    for e in events:
        pair.apply(e)
    pair.check_state()
    for at in TICKS:
        pair.advance(at)
    pair.check_state()
    return pair


def run_shuffled(events: list[LedgerEvent], rng: random.Random) -> Pair:
    """Shuffled arrival with redeliveries, ticks (old ones too), `now=` and round
    trips through JSON."""
    pair = Pair()
    order = list(events)
    rng.shuffle(order)
    seen: list[LedgerEvent] = []
    for e in order:
        roll = rng.random()
        now = rng.choice(TICKS) if roll < 0.1 else None
        pair.apply(e, now=now)
        seen.append(e)
        if rng.random() < 0.15:
            pair.apply(rng.choice(seen))  # a redelivery
        if rng.random() < 0.15:
            at = rng.choice(TICKS)
            pair.apply(tick(e.listing_id, e.jurisdiction, at))  # a tick as an event
        if rng.random() < 0.1:
            pair.round_trip()
    pair.check_state()
    for at in rng.sample(TICKS, len(TICKS)):
        pair.advance(at)
    if rng.random() < 0.5:
        pair.apply(rng.choice(events))  # redelivered after the ticks
    pair.round_trip()
    return pair


def test_native_is_the_engine() -> None:
    assert nat.apply is not ref.apply
    assert type(nat.apply).__module__ != "rules._reference"
    state, _ = nat.apply(None, adapter_events(records()[0])[0])
    assert isinstance(state, ListingState)


@pytest.mark.parametrize("converter", ["adapter", "converter"])
def test_samples_identical(converter: str) -> None:
    rng = random.Random(7)
    for record in records():
        if converter == "adapter":
            events = adapter_events(record)
        else:
            events = lifecycle_events(record)
        run_in_order(events)
        for _ in range(6):
            run_shuffled(events, rng)


def test_generated_workload_identical() -> None:
    rng = random.Random(11)
    steps = 0
    for batch in generate(LISTINGS, 3):
        for events in batch:
            steps += run_in_order(events).steps
            if rng.random() < 0.5:
                steps += run_shuffled(events, rng).steps
    assert steps > LISTINGS * 10


def to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """The state as version 1 stored it (a flag or signature per emitted
    outcome)."""
    v1: dict[str, str] = {}
    for key, slot in data["emitted"].items():
        kind = key.split("|", 1)[0]
        if kind in ("S", "O"):
            v1[key] = "1"
        elif kind == "V":
            v1[key] = slot[1]
        elif kind == "M":
            v1[key] = f"{slot[1]}|{slot[2]}"
    return {**data, "v": 1, "emitted": v1}


def test_version_1_state_loads_identically() -> None:
    events = adapter_events(records()[0])
    pair = run_in_order(events)
    assert pair.ref is not None
    data = to_v1(pair.ref.to_dict())
    a = PyListingState.from_dict(json.loads(json.dumps(data)))
    b = ListingState.from_dict(json.loads(json.dumps(data)))
    assert repr(b.to_dict()) == repr(a.to_dict())
    later = datetime.fromisoformat("2040-01-01T00:00:00+08:00")
    cause = tick(a.listing_id, a.jurisdiction, later)
    _, da = ref.advance(a, later, cause=cause)
    _, db = nat.advance(b, later, cause=cause)
    assert repr(db) == repr(da)
    for e in events:
        _, da = ref.apply(a, e)
        _, db = nat.apply(b, e)
        assert repr(db) == repr(da)
    assert repr(b.to_dict()) == repr(a.to_dict())


def test_errors_match() -> None:
    events = adapter_events(records()[0])
    state, _ = nat.apply(None, events[0])
    other = LedgerEvent(
        event_id="X",
        event_type="LISTING_PUBLISHED",
        listing_id="other",
        occurred_at=events[0].occurred_at,
        actor=events[0].actor,
        jurisdiction="CN",
    )
    with pytest.raises(nat.RulesError) as native_error:
        nat.apply(state, other)
    ref_state, _ = ref.apply(None, events[0])
    with pytest.raises(ref.RulesError) as ref_error:
        ref.apply(ref_state, other)
    assert str(native_error.value) == str(ref_error.value)
    naive = LedgerEvent(
        event_id="N",
        event_type="LISTING_PUBLISHED",
        listing_id=state.listing_id,
        occurred_at=datetime(2020, 1, 1),  # noqa: DTZ001 - naive on purpose
        actor=events[0].actor,
        jurisdiction="CN",
    )
    with pytest.raises(nat.RulesError) as native_error:
        nat.apply(state, naive)
    with pytest.raises(ref.RulesError) as ref_error:
        ref.apply(ref_state, naive)
    assert str(native_error.value) == str(ref_error.value)


def test_a_panic_of_the_core_is_a_rules_error_and_the_core_goes_on() -> None:
    """A defect of the core (a Rust panic) must not be pyo3's PanicException, a
    BaseException that `except Exception` in a worker lets through: it is a
    RulesError naming it, the worker parks the event, and the next one is judged."""
    from rules import _native

    with pytest.raises(nat.RulesError, match=r"internal error of the rules core in "
                       r"_panic_for_test: index 7 out of range"):  # fmt: skip
        _native._panic_for_test("index 7 out of range")
    assert issubclass(nat.RulesError, Exception)
    pair = run_in_order(adapter_events(records()[0]))
    assert pair.steps > 0


def test_old_instants_use_the_zone_rules() -> None:
    """Before 1992 Asia/Shanghai had summer time: the core leaves those to zoneinfo."""
    events = adapter_events(records()[0])
    shift = timedelta(days=-365 * 30 - 100)
    old = [
        LedgerEvent(
            event_id=e.event_id,
            event_type=e.event_type,
            listing_id=e.listing_id,
            occurred_at=e.occurred_at + shift,
            actor=e.actor,
            jurisdiction=e.jurisdiction,
            payload=e.payload,
            source_event_id=e.source_event_id,
            seq=e.seq,
            correlation_id=e.correlation_id,
        )
        for e in events
    ]
    run_in_order(old)
    run_shuffled(old, random.Random(3))


def test_state_stored_before_term_expires_existed() -> None:
    """States stored before `fold["term_expires"]` existed load and go on the same
    way (the key comes back at the end of the fold with the next decision)."""
    rng = random.Random(5)
    for record in records():
        events = adapter_events(record)
        cut = rng.randrange(1, len(events))
        pair = Pair()
        for e in events[:cut]:
            pair.apply(e)
        assert pair.ref is not None
        data = json.loads(json.dumps(pair.ref.to_dict()))
        del data["fold"]["term_expires"]
        pair.ref = PyListingState.from_dict(json.loads(json.dumps(data)))
        pair.nat = ListingState.from_dict(json.loads(json.dumps(data)))
        pair.check_state()
        for e in events[cut:]:
            pair.apply(e)
            pair.check_state()
        for at in TICKS:
            pair.advance(at)
        pair.round_trip()


def test_to_json_escapes_and_falls_back_as_orjson() -> None:
    """`ListingState.to_json` writes what orjson writes: every escape, non-ASCII
    text as UTF-8, and (through orjson itself) floats and other non-plain values."""
    base = adapter_events(records()[0])
    odd = 'q"b\\s/\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f é中😀\u2028'
    for extra in ({"reason": odd, "round": 2}, {"reason": odd, "round": 1.5}):
        events = [
            LedgerEvent(
                event_id=f"{e.event_id}{odd}",
                event_type=e.event_type,
                listing_id=e.listing_id,
                occurred_at=e.occurred_at,
                actor=e.actor,
                jurisdiction=e.jurisdiction,
                payload={**e.payload, **extra},
                source_event_id=f"{e.source_event_id}{odd}",
                seq=e.seq,
                correlation_id=e.correlation_id,
            )
            for e in base
        ]
        pair = run_in_order(events)
        assert pair.nat is not None
        assert orjson.dumps(odd)[1:-1] in pair.nat.to_json()


def test_explicit_policy_and_calendar_identical() -> None:
    """A policy and a calendar given as arguments are handed to the core as data
    (rules._bridge) and give what the reference gives with the same objects: a
    regional layer with extra rest days, a national layer for a year the package
    does not cover, the years nothing covers (provisional deadlines)."""
    from rules.calendar import LegalCalendar
    from rules.policy import default_policy

    days = [
        (date(2016, 1, 1) + timedelta(days=d)).isoformat() for d in range(0, 4000, 3)
    ]
    cal = LegalCalendar(
        {
            "version": "test-layers",
            "regions": {"CN-35": {"holidays": days[::2], "workdays": days[1::4]}},
            "national": {2027: {"holidays": ["2027-01-01", "2027-01-04"]}},
        },
        "x",
    )
    policy = default_policy()
    rng = random.Random(13)
    batch = next(generate(400, 9))
    for events in [adapter_events(r) for r in records()] + batch:
        late = [
            LedgerEvent(
                event_id=e.event_id,
                event_type=e.event_type,
                listing_id=e.listing_id,
                occurred_at=e.occurred_at + timedelta(days=365 * 12),  # uncovered
                actor=e.actor,
                jurisdiction=e.jurisdiction,
                payload=e.payload,
                source_event_id=e.source_event_id,
                seq=e.seq,
            )
            for e in events
        ]
        for run in (events, late):
            order = list(run)
            if rng.random() < 0.5:
                rng.shuffle(order)
            a_state = b_state = None
            for e in order:
                a_state, a = ref.apply(a_state, e, policy=policy, calendar=cal)
                b_state, b = nat.apply(b_state, e, policy=policy, calendar=cal)
                assert repr(b) == repr(a)
            assert a_state is not None and b_state is not None
            for at in TICKS + [datetime.fromisoformat("2045-01-01T00:00:00+08:00")]:
                cause = tick(a_state.listing_id, a_state.jurisdiction, at)
                _, a = ref.advance(
                    a_state, at, cause=cause, policy=policy, calendar=cal
                )
                _, b = nat.advance(
                    b_state, at, cause=cause, policy=policy, calendar=cal
                )
                assert repr(b) == repr(a)
            assert repr(b_state.to_dict()) == repr(a_state.to_dict())
            for include_open in (False, True):
                assert repr(
                    nat.checks(
                        b_state, include_open=include_open, policy=policy, calendar=cal
                    )
                ) == repr(
                    ref.checks(
                        a_state, include_open=include_open, policy=policy, calendar=cal
                    )
                )
