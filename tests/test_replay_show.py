"""How the auditors' answers read in a terminal: a table when it fits, otherwise
one block per row, so no id or instant is folded into pieces."""

from __future__ import annotations

import pytest

from replay.cli import _show

EVENT_ID = "0b6f1d3e-8f8a-5c1e-9d7a-2f4b6c8d0e1f"
ROWS = [
    {
        "took_effect": "2021-11-19 01:44:00+00:00",
        "recorded": "2026-12-04 10:00:00.123000+00:00",
        "event_type": "LISTING_SHIELDED",
        "actor_kind": "COURT",
        "actor_code": "闽0206",
        "source_event_id": "LC-035-E11",
        "topic": "shixin.court-events",
        "partition": 3,
        "offset": 1234567,
        "derived": False,
        "event_id": EVENT_ID,
    }
]


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_a_wide_answer_in_a_narrow_terminal_reads_one_block_per_row(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _show("history", ROWS * 2, as_json=False)
    lines = _lines(capsys)
    assert lines[0] == "history (2 rows)"
    assert sum(1 for line in lines if line.split() == ["event_id", EVENT_ID]) == 2
    assert any(line.split() == ["recorded", "2026-12-04", "10:00:00.123000+00:00"]
               for line in lines)  # fmt: skip
    assert all(len(line) <= 80 for line in lines)


def test_an_answer_that_fits_is_a_table(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    _show("history", ROWS, as_json=False)
    lines = _lines(capsys)
    header = next(line for line in lines if "took_effect" in line)
    assert "event_id" in header and "source_event_id" in header
    assert any(EVENT_ID in line and "LISTING_SHIELDED" in line for line in lines)
