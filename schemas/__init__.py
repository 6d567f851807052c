"""Avro schemas of the ledger's events, one `.avsc` per event type (package data).

`SCHEMA_DIR/<family>/<event_type>.avsc` holds the current schema of each type;
`HISTORY_DIR` keeps the earlier versions a reader must still decode.
"""

from __future__ import annotations

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
HISTORY_DIR = SCHEMA_DIR / "history"
