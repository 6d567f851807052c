"""The rejects file next to an input: one row per reason a record was not published."""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType
from typing import IO

from producers.inputs import Reject

COLUMNS = ("line", "record_id", "field", "value", "reason")


def rejects_path(input_path: Path) -> Path:
    """`<input>.rejects.csv`, beside the input."""
    return input_path.with_name(input_path.name + ".rejects.csv")


class RejectsFile:
    """Writes rejects as they come; the file exists only if something was rejected.

    A stale file from an earlier run is removed on entry, so the file beside an
    input always describes the latest run.
    """

    def __init__(self, input_path: Path) -> None:
        self.path = rejects_path(input_path)
        self.count = 0
        self._file: IO[str] | None = None
        self._writer: csv.writer | None = None  # type: ignore[valid-type]

    def __enter__(self) -> RejectsFile:
        self.path.unlink(missing_ok=True)
        return self

    def write(self, reject: Reject) -> None:
        if self._file is None:
            # errors="replace": a reject shows what it can of text that is not UTF-8
            self._file = self.path.open(
                "w", encoding="utf-8", errors="replace", newline=""
            )
            self._writer = csv.writer(self._file)
            self._writer.writerow(COLUMNS)
        assert self._writer is not None
        self._writer.writerow(
            (reject.line, reject.record_id, reject.field, reject.value, reject.reason)
        )
        self.count += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
