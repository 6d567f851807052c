"""Names of the ledger's topics; every part of the product takes them from here."""

from __future__ import annotations

from dataclasses import dataclass

from shixin.settings import Settings


@dataclass(frozen=True)
class Topics:
    """The topics of one ledger. Ledger topics are keyed by listing id and
    co-partitioned; derived topics are written by the processors."""

    court: str
    agency: str
    publisher: str
    clock: str
    sanction_state: str
    deadlines: str
    dead_letter: str
    schemas: str

    @classmethod
    def for_settings(cls, settings: Settings) -> Topics:
        p = settings.topic_prefix
        return cls(
            court=f"{p}.court-events",
            agency=f"{p}.agency-events",
            publisher=f"{p}.publisher-events",
            clock=f"{p}.clock",
            sanction_state=f"{p}.derived.sanction-state",
            deadlines=f"{p}.derived.deadlines",
            dead_letter=f"{p}.dead-letter",
            schemas=f"{p}.schemas",
        )

    @property
    def ledger(self) -> tuple[str, str, str, str]:
        """Input of the processors: co-partitioned, keyed by listing id."""
        return (self.court, self.agency, self.publisher, self.clock)

    @property
    def derived(self) -> tuple[str, str]:
        return (self.sanction_state, self.deadlines)
