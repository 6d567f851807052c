"""`shixin rules evaluate` gives the same answer whatever the host time zone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
LIFECYCLES = REPO / "data" / "lifecycles.jsonl"
ZONES = ("UTC", "Asia/Shanghai", "America/Los_Angeles")


def _evaluate(tz: str, *extra: str) -> str:
    env = {**os.environ, "TZ": tz}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shixin.cli import app; app()",
            "rules",
            "evaluate",
            str(LIFECYCLES),
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    return {tz: _evaluate(tz, "--at", "2026-03-03T23:00:00+08:00") for tz in ZONES}


def test_same_rows_in_every_time_zone(outputs: dict[str, str]) -> None:
    baseline = outputs["Asia/Shanghai"]
    assert baseline.count("\n") > 142
    for tz in ZONES:
        assert outputs[tz] == baseline, tz


def test_evaluate_rows_have_the_documented_keys(outputs: dict[str, str]) -> None:
    row = json.loads(outputs["UTC"].splitlines()[0])
    assert {
        "lifecycle_id",
        "rule_id",
        "trigger_event",
        "response_event",
        "verdict",
        "deadline",
        "why",
    } <= set(row)


def test_at_reports_obligations_still_open(outputs: dict[str, str]) -> None:
    rows = [json.loads(line) for line in outputs["UTC"].splitlines()]
    # LC-012 shielded 2026-02-27; its IMMIGRATION release came the next day, the
    # others on 2026-03-03: nothing left open there, but LC-021's 10-day window lapsed
    assert not [
        r for r in rows if r["lifecycle_id"] == "LC-012" and r["verdict"] == "OPEN"
    ]
    assert not [
        r
        for r in rows
        if r["rule_id"] == "SPC2017.ART12.RECON_APPLY_10D"
        and r["verdict"] not in ("IN_TIME", "OUT_OF_TIME")
    ]


def test_at_without_time_zone_is_refused() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shixin.cli import app; app()",
            "rules",
            "evaluate",
            str(LIFECYCLES),
            "--at",
            "2026-03-03T23:00",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "no time zone" in result.stderr
