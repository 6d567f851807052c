"""Counters of one processor worker, logged periodically and written as JSON."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class Metrics:
    """What one worker did since it started (not persisted: a restart starts at 0)."""

    started: float = field(default_factory=time.monotonic)
    events: Counter[str] = field(default_factory=Counter)  # consumed, per topic
    derived: Counter[str] = field(default_factory=Counter)  # emitted, per event type
    violations: int = 0
    dead_letters: int = 0
    ticks: int = 0
    listings_advanced: int = 0
    # next offset to process per "topic/partition" (Kafka's position convention)
    positions: dict[str, int] = field(default_factory=dict)

    @property
    def processed(self) -> int:
        return sum(self.events.values())

    def snapshot(self, lag: dict[str, int] | None = None) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        return {
            "uptime_seconds": round(elapsed, 3),
            "events_processed": self.processed,
            "events_per_second": round(self.processed / elapsed, 1) if elapsed else 0.0,
            "events_by_topic": dict(self.events),
            "derived_by_type": dict(self.derived),
            "violations_emitted": self.violations,
            "dead_letters": self.dead_letters,
            "ticks": self.ticks,
            "listings_advanced": self.listings_advanced,
            "positions": dict(sorted(self.positions.items())),
            "lag": dict(sorted((lag or {}).items())),
        }

    def write(self, path: Path, lag: dict[str, int] | None = None) -> None:
        """Replace `path` atomically with the current snapshot."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(self.snapshot(lag), indent=2, sort_keys=True))
        partial.replace(path)

    def log(self, lag: dict[str, int] | None = None) -> None:
        total_lag = sum((lag or {}).values())
        logger.info(
            "progress processed=%d derived=%d violations=%d dead_letters=%d "
            "ticks=%d lag=%d",
            self.processed,
            sum(self.derived.values()),
            self.violations,
            self.dead_letters,
            self.ticks,
            total_lag,
        )
