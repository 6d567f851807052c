"""The rules engine as the processors call it: `rules.engine` behind a small adapter."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from contract.event import LedgerEvent

logger = logging.getLogger(__name__)


class RulesEngine:
    """Forwards to `rules.engine`; adds how to load a state and where its next due
    instant lies (for the open-obligation index). No rule logic of its own."""

    def __init__(self) -> None:
        from rules import engine as core

        self._core = core
        self._state_type = core.ListingState

    def apply(
        self, state: Any, event: LedgerEvent, *, now: datetime | None = None
    ) -> tuple[Any, list[LedgerEvent]]:
        return self._core.apply(state, event, now=now)

    def advance(
        self, state: Any, now: datetime, *, cause: LedgerEvent
    ) -> tuple[Any, list[LedgerEvent]]:
        return self._core.advance(state, now, cause=cause)

    def load(self, data: dict[str, Any]) -> Any:
        return self._state_type.from_dict(data)

    def open_due(self, state: Any) -> tuple[bool, datetime | None]:
        """Whether a later clock tick can change `state`, and from which instant
        (`rules.engine.next_due`: the engine decides, not this adapter)."""
        due_at = self._core.next_due(state)
        return due_at is not None, due_at
