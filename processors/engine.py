"""The rules engine as the processors call it: `rules.engine` behind a small adapter."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
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
        """Whether a later clock tick can change `state`, and from which instant.

        Only an unanswered obligation with a due date can become overdue at a tick
        (`rules.engine._obligation_verdict`); the instant is 24:00 Asia/Shanghai of
        its due date, computed by the engine's own helper.
        """
        # TODO: this reads the engine's fold layout; ask rules.engine for a public
        # `next_due(state)` so the index cannot drift from the verdict logic
        now = state.now
        earliest: int | None = None
        for obligation in state.fold["obligations"].values():
            if obligation["answer"] is not None or obligation["due"] is None:
                continue
            if obligation["state_violation"] is not None:
                continue
            due_at = self._core._end_of_day(date.fromisoformat(obligation["due"]))
            if now is not None and now >= due_at:
                continue  # already overdue at the latest tick: reported already
            earliest = due_at if earliest is None else min(earliest, due_at)
        if earliest is None:
            return False, None
        return True, datetime.fromtimestamp(earliest, UTC)
