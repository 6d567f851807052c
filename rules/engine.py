"""The rules engine: what a listing's events mean, as pure functions.

    apply(state, event, now=...)      -> (state, derived events)
    advance(state, now, cause=tick)   -> (state, derived events)
    checks(state)                     -> the check rows (one rule against one trigger)

The engine orders a listing's events itself by (occurred_at, seq, event_id), so the
result is a function of the SET of events seen (duplicates by event_id ignored) and
the latest clock instant, whatever the arrival order. An event that arrives in order
is folded incrementally; one that arrives out of order re-folds the sorted list.
Derived events are the diff between the outcomes before and after. No wall clock, no
host time zone: local dates are Asia/Shanghai, overdue is decided by clock ticks only.

The work is done by the native core `rules._native` (Rust, rules/native/), a port
of the pure-Python engine kept in `rules._reference` function by function; the
differential test (tests/test_rules_native.py) holds them to the same outputs. The
policy and the calendar are loaded and validated in Python (`rules.policy`,
`rules.calendar`) and handed to the core as plain data once (`rules._bridge`).
"""

from __future__ import annotations

from rules import _native
from rules._reference import (
    CLOCK_TICK,
    LEDGER_ACTOR,
    TERM_EXPIRED,
    WITHDRAWN,
    Check,
    RulesError,
    term_last_day,
)
from rules.state import CompactEvent, ListingState

__all__ = [
    "CLOCK_TICK",
    "LEDGER_ACTOR",
    "TERM_EXPIRED",
    "WITHDRAWN",
    "Check",
    "ListingState",
    "RulesError",
    "advance",
    "apply",
    "checks",
    "has_open",
    "next_due",
    "term_last_day",
]

# apply(state, event, *, now=None, policy=None, calendar=None)
apply = _native.apply
# advance(state, now, *, cause, policy=None, calendar=None)
advance = _native.advance
# checks(state, *, include_open=False, policy=None, calendar=None)
checks = _native.checks
# next_due(state) -> datetime | None
next_due = _native.next_due
# has_open(state) -> bool
has_open = _native.has_open


def _term_expiry(state: ListingState) -> tuple[int, CompactEvent, object] | None:
    """(24:00 Asia/Shanghai of the term's last day, the decision, that day): see
    `rules._reference._term_expiry`."""
    return _native.term_expiry(state)
