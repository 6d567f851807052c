"""Per-listing state of the rules engine: the events seen and what they add up to.

`ListingState` (native, `rules._native`; `PyListingState` is the pure-Python one
of the reference engine) keeps the sorted, compact list of a listing's events (so
any arrival order can be re-folded into the same result), the folded facts
(listing lifecycle, sanction state per agency and measure, obligations, act checks),
the latest clock instant, and what has already been emitted (so derived events are
a diff). Every field is a JSON primitive: `to_dict()`/`from_dict()` round-trip exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rules._native import ListingState as ListingState

# Payload keys the rules read; everything else stays in the log, not in the state.
KEPT_PAYLOAD_KEYS = (
    "outcome",
    "document",
    "form",
    "result",
    "found",
    "round",
    "measure_code",
    "refers_to",
    "to_agency",
    "to_court",
    "republisher",
    "legal_basis",
    "retention_until",
    "risk_warning_included",
    "publishable",
    "not_for_publication",
    "debtor",
    "birth_date",
    "id_number",
    "entity_type",
    "reason",
)

# A compact event: [epoch seconds, seq, event_id, type, source id, actor kind,
# actor code, kept payload]
CompactEvent = list[Any]

# Listing lifecycle (失信名单条目): LISTED after a decision; exits below.
LISTED = "LISTED"
SHIELDED = "SHIELDED"
REVOKED = "REVOKED"
DELETED = "DELETED"
EXIT_STATUSES = (SHIELDED, REVOKED, DELETED)

# Sanction state of one agency's measure.
APPLIED = "APPLIED"
SUSPENDED = "SUSPENDED"
RELEASED = "RELEASED"
RETAINED = "RETAINED"


def new_fold() -> dict[str, Any]:
    """The folded facts of a listing with no events."""
    return {
        "status": None,  # None | LISTED | SHIELDED | REVOKED | DELETED
        "court": None,  # executing court code
        "relisted": False,
        "expired": False,
        "served": False,
        "risk_notice": False,
        "term_years": None,
        "term_expires": None,  # ISO date the decision states as the term's last day
        "debtor": None,
        "last_decision": None,  # source id
        "last_exit": None,  # source id of the last shield/revoke/delete
        "published": None,  # source id of a publication since the last decision
        "not_for_publication": False,
        "pending_application": False,
        "applicant_requested": False,
        "applicant_deletion": None,  # [source id, ISO date]
        "procedure_terminated": False,
        "empty_searches": 0,
        # measure_code -> [agency, state, since ts, source id, basis, until]
        "measures": {},
        # [measure, agency, state, previous, ts, source id, reason, basis, until]
        "changes": [],
        "obligations": {},  # obligation id -> dict (see engine)
        "act_checks": {},  # key -> dict (see engine)
    }


@dataclass(slots=True)
class PyListingState:
    """The state as the pure-Python reference engine (rules/_reference.py) keeps it;
    `ListingState` (the native one) gives and takes the same `to_dict()`."""

    listing_id: str
    jurisdiction: str
    events: list[CompactEvent] = field(default_factory=list)
    fold: dict[str, Any] = field(default_factory=new_fold)
    now: int | None = None  # latest clock-tick instant known, epoch seconds
    # what has been emitted, per outcome slot, with the id of its cause (see
    # rules.engine._diff for the slots)
    emitted: dict[str, Any] = field(default_factory=dict)
    _ids: set[str] | None = None  # cache of event ids (not serialised)
    # obligation ids / act-check keys touched by the event being folded; None means
    # "all" (after a re-fold or a clock move). Transient, not serialised.
    touched: list[str] | None = None

    def has_event(self, event_id: str) -> bool:
        if self._ids is None:
            self._ids = {e[2] for e in self.events}
        return event_id in self._ids

    def remember(self, event_id: str) -> None:
        if self._ids is None:
            self._ids = {e[2] for e in self.events}
        self._ids.add(event_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": 2,
            "listing_id": self.listing_id,
            "jurisdiction": self.jurisdiction,
            "events": self.events,
            "fold": self.fold,
            "now": self.now,
            "emitted": self.emitted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PyListingState:
        listing_id, jurisdiction, events, fold, now, emitted = from_dict_parts(data)
        return cls(
            listing_id=listing_id,
            jurisdiction=jurisdiction,
            events=events,
            fold=fold,
            now=now,
            emitted=emitted,
        )


def from_dict_parts(
    data: dict[str, Any],
) -> tuple[str, str, list[CompactEvent], dict[str, Any], int | None, dict[str, Any]]:
    """The fields of a stored state (`to_dict()`), version 1 upgraded: what both
    `ListingState.from_dict` (native) and `PyListingState.from_dict` load."""
    version = data.get("v")
    if version not in (1, 2):
        raise ValueError(
            f"listing state version {version!r} is unknown; expected 1 or 2"
        )
    emitted = dict(data["emitted"])
    if version == 1:
        emitted = _emitted_from_v1(emitted)
    return (
        data["listing_id"],
        data["jurisdiction"],
        [list(e) for e in data["events"]],
        data["fold"],
        data["now"],
        emitted,
    )


def _emitted_from_v1(old: dict[str, str]) -> dict[str, Any]:
    """Version 1 kept a flag or signature per emitted outcome, not its cause: the
    slots are rebuilt with an unknown cause (None), so nothing emitted before the
    upgrade is re-emitted on a redelivery, and nothing is emitted twice."""
    new: dict[str, Any] = {}
    for key, value in old.items():
        kind, _, rest = key.partition("|")
        if kind == "S":
            new[key] = [None]
            new[f"SL|{rest.split('|', 1)[0]}"] = [key, None]
        elif kind == "O":
            new[key] = [None]
            new.setdefault(f"L|{rest}", "O")
        elif kind == "V":
            new[key] = [None, value, "TICK", None, None, None]
            if new.get(f"L|{rest}") != "M":
                new[f"L|{rest}"] = "V"
        elif kind == "M":
            verdict, _, answer = value.partition("|")
            new[key] = [None, verdict, answer]
            new[f"L|{rest}"] = "M"
        elif kind == "A":  # act key: rule | trigger | response ("None" if none)
            rule, _, tail = rest.partition("|")
            trigger, _, response = tail.rpartition("|")
            new[key] = [None, value, 0, rule, trigger, None]
            if response != "None":
                new[key][5] = response
    return new
