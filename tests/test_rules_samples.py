"""Every check of data/lifecycles.jsonl is reproduced by the rules engine."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from rules.cli import check_json, evaluate_record

LIFECYCLES = Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl"
RECORDS = [
    json.loads(line) for line in LIFECYCLES.read_text("utf-8").splitlines() if line
]
SAMPLE_CHECKS = [
    pytest.param(
        record["lifecycle_id"],
        check,
        id=f"{record['lifecycle_id']}#{i}:{check['rule_id']}",
    )
    for record in RECORDS
    for i, check in enumerate(record["checks"])
]
# Rows the engine adds that the sample omits; each is right by RULES.md §2 (the court
# decided the re-application within 15 days: art.5 applies to a rejection too).
EXPECTED_EXTRAS = {
    ("LC-055", "SPC2017.ART5.DECIDE_APPLICATION_15D", "LC-055-E11", "LC-055-E12")
}


@cache
def _rows(lifecycle_id: str, use_converter: bool) -> tuple[str, ...]:
    record = next(r for r in RECORDS if r["lifecycle_id"] == lifecycle_id)
    _, checks = evaluate_record(record, use_converter=use_converter)
    return tuple(
        json.dumps(check_json(lifecycle_id, c), sort_keys=True) for c in checks
    )


def _decoded(lifecycle_id: str, use_converter: bool = False) -> list[dict[str, Any]]:
    return [json.loads(row) for row in _rows(lifecycle_id, use_converter)]


def test_sample_has_142_checks() -> None:
    assert len(SAMPLE_CHECKS) == 142


@pytest.mark.parametrize(("lifecycle_id", "expected"), SAMPLE_CHECKS)
def test_sample_check_reproduced(lifecycle_id: str, expected: dict[str, Any]) -> None:
    matches = [
        row
        for row in _decoded(lifecycle_id)
        if row["rule_id"] == expected["rule_id"]
        and row["trigger_event"] == expected["trigger_event"]
        and row["response_event"] == expected.get("response_event")
    ]
    assert len(matches) == 1, f"engine rows: {_decoded(lifecycle_id)}"
    row = matches[0]
    assert row["verdict"] == expected["verdict"]
    if expected.get("deadline"):
        assert row["deadline"] == expected["deadline"]


def test_engine_adds_no_rows_beyond_the_listed_extras() -> None:
    expected = {
        (r["lifecycle_id"], c["rule_id"], c["trigger_event"], c.get("response_event"))
        for r in RECORDS
        for c in r["checks"]
    }
    got = {
        (r["lifecycle_id"], row["rule_id"], row["trigger_event"], row["response_event"])
        for r in RECORDS
        for row in _decoded(r["lifecycle_id"])
    }
    assert got - expected == EXPECTED_EXTRAS
    assert expected - got == set()


def test_shared_converter_gives_the_same_rows_as_the_adapter() -> None:
    pytest.importorskip("contract.convert")
    for record in RECORDS:
        lifecycle_id = record["lifecycle_id"]
        assert _rows(lifecycle_id, True) == _rows(lifecycle_id, False), lifecycle_id
