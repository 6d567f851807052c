"""`shixin rules evaluate` on files that are not all good lifecycles: every bad
record is reported with its line, the rest is still evaluated, the exit status is 1."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shixin.cli import app

REPO = Path(__file__).resolve().parent.parent
FIRST, SECOND = (REPO / "data" / "lifecycles.jsonl").read_text("utf-8").splitlines()[:2]


def _evaluate(path: Path, *extra: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["rules", "evaluate", str(path), *extra])
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return result.exit_code, rows, result.stderr


def test_bad_lines_are_reported_and_the_rest_is_evaluated(tmp_path: Path) -> None:
    far = json.loads(FIRST)
    far["events"][-1]["at"] = "9999-12-31T23:59:59-12:00"
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b"[1, 2, 3]\n"
        + FIRST.encode()
        + b'\n"abc"\n{bad\n\xff\xfe\n'
        + json.dumps(far, ensure_ascii=False).encode()
        + b"\n"
        + SECOND.encode()
        + b"\n"
    )

    code, rows, errors = _evaluate(path)

    assert code == 1
    assert {r["lifecycle_id"] for r in rows} == {
        json.loads(FIRST)["lifecycle_id"],
        json.loads(SECOND)["lifecycle_id"],
    }
    lines = errors.splitlines()
    for number in (1, 3, 4, 5, 6):
        assert any(line.startswith(f"{path}:{number}") for line in lines), errors
    assert f"events.{len(far['events']) - 1}.at" in errors
    assert "between 1950 and 2199" in errors
    assert "5 record(s)" in errors
    assert "Traceback" not in errors


def test_a_good_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "good.jsonl"
    path.write_text(FIRST + "\n", "utf-8")
    code, rows, errors = _evaluate(path)
    assert (code, errors) == (0, "") and rows


def test_an_at_outside_the_ledgers_years_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "good.jsonl"
    path.write_text(FIRST + "\n", "utf-8")
    for at in ("9999-12-31T00:00+08:00", "0001-01-01T00:00+14:00"):
        code, rows, errors = _evaluate(path, "--at", at)
        assert code == 2 and rows == []
        assert "1950" in errors and "2199" in errors  # in a box: lines wrap


def test_at_evaluates_the_lifecycle_as_it_stood_then(tmp_path: Path) -> None:
    """LC-001: performance on 2017-11-23 (E10), shielded the next day (E11). As of
    the 23rd the shielding is still owed: OPEN, no response; the acts after the
    instant are left out and counted on stderr."""
    path = tmp_path / "lc001.jsonl"
    path.write_text(FIRST + "\n", "utf-8")
    shield = "CPC2016.SHIELD_REVOKE_3WD"

    code, rows, errors = _evaluate(path, "--at", "2017-11-23T12:00:00+08:00")
    assert code == 0
    [row] = [r for r in rows if r["rule_id"] == shield]
    assert (row["trigger_event"], row["response_event"]) == ("LC-001-E10", None)
    assert row["verdict"] == "OPEN"
    assert "10 act(s)" in errors and "left out" in errors

    code, rows, errors = _evaluate(path, "--at", "2017-11-30T12:00:00+08:00")
    [row] = [r for r in rows if r["rule_id"] == shield]
    assert (row["response_event"], row["verdict"]) == ("LC-001-E11", "COMPLIANT")

    code, rows, errors = _evaluate(path, "--at", "2016-01-01T00:00:00+08:00")
    assert (code, rows) == (0, [])
    assert "left out" in errors
