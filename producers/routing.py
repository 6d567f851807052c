"""Which ledger topic an event belongs on, decided by who performed the act.

Courts' own acts and everything a court acts upon (the platform publishing the
court's decision, the debtor's and the applicant's filings with the court, the
listing-term clock, the court's supervision) go on the court topic; agencies and
complainants who address an agency go on the agency topic; republishers (转载方) on
the publisher topic. A kind not listed here is an error, never a silent default.
"""

from __future__ import annotations

from contract.event import LedgerEvent
from shixin.topics import Topics

COURT_KINDS = frozenset(
    {"COURT", "PLATFORM", "DEBTOR", "APPLICANT", "SYSTEM", "COURT_SUPERVISION"}
)
AGENCY_KINDS = frozenset({"AGENCY", "COMPLAINANT"})
PUBLISHER_KINDS = frozenset({"REPUBLISHER"})


class RoutingError(ValueError):
    """The event's actor kind names no ledger topic."""


def topic_for(event: LedgerEvent, topics: Topics) -> str:
    """The topic `event` is produced to; raise `RoutingError` for an unknown kind."""
    kind = event.actor.kind
    if kind in COURT_KINDS:
        return topics.court
    if kind in AGENCY_KINDS:
        return topics.agency
    if kind in PUBLISHER_KINDS:
        return topics.publisher
    raise RoutingError(
        f"event {event.event_id!r}: actor.kind {kind!r} names no ledger topic;"
        f" expected one of {sorted(COURT_KINDS | AGENCY_KINDS | PUBLISHER_KINDS)}"
    )
