"""Type stubs of the native rules core (rules/native/src, built as rules._native)."""

from datetime import date, datetime
from typing import Any

from contract.event import LedgerEvent
from rules._reference import Check

class ListingState:
    def __init__(
        self,
        listing_id: str,
        jurisdiction: str,
        events: list[list[Any]] | None = None,
        fold: dict[str, Any] | None = None,
        now: int | None = None,
        emitted: dict[str, Any] | None = None,
    ) -> None: ...
    @property
    def listing_id(self) -> str: ...
    @property
    def jurisdiction(self) -> str: ...
    @property
    def now(self) -> int | None: ...
    @property
    def events(self) -> list[list[Any]]: ...
    @property
    def fold(self) -> dict[str, Any]: ...
    @property
    def emitted(self) -> dict[str, Any]: ...
    def has_event(self, event_id: str) -> bool: ...
    def remember(self, event_id: str) -> None: ...
    def to_dict(self) -> dict[str, Any]: ...
    def to_json(self) -> bytes: ...
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ListingState: ...

class Policy:
    def __init__(self, rules: list[dict[str, Any]]) -> None: ...

class Calendar:
    def __init__(
        self,
        version: str,
        national: dict[int, tuple[list[date], list[date]]],
        regions: dict[str, tuple[list[date], list[date]]],
        pkg_first: int,
        pkg_last: int,
        pkg_holidays: list[date],
        pkg_workdays: list[date],
    ) -> None: ...

def apply(
    state: ListingState | None,
    event: LedgerEvent,
    *,
    now: datetime | None = None,
    policy: Any = None,
    calendar: Any = None,
) -> tuple[ListingState, list[LedgerEvent]]: ...
def advance(
    state: ListingState,
    now: datetime,
    *,
    cause: LedgerEvent,
    policy: Any = None,
    calendar: Any = None,
) -> tuple[ListingState, list[LedgerEvent]]: ...
def checks(
    state: ListingState,
    *,
    include_open: bool = False,
    policy: Any = None,
    calendar: Any = None,
) -> list[Check]: ...
def next_due(state: ListingState) -> datetime | None: ...
def has_open(state: ListingState) -> bool: ...
def _panic_for_test(message: str) -> None: ...
def term_expiry(state: ListingState) -> tuple[int, list[Any], date] | None: ...
def uuid5(name: str) -> str: ...
