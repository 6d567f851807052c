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
        """Whether `state` has open obligations, and the earliest due instant among
        them (None: some open obligation has no due instant a tick could pass)."""
        # TODO: ask the engine for this once its ListingState exposes it; until then
        # every listing counts as open with an unknown due instant (correct, slower)
        return True, None
