"""The main job (`shixin demo`) end to end on the bundled sample, twice.

Runs the README's main job as a new user would, under a topic prefix and schema of
its own, against the real Kafka and PostgreSQL: the first run must reproduce every
verdict the sample carries with equal audit digests, and a second run (which
republishes the same acts) must give the same report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shixin.settings import Settings
from shixin.stack.topics import delete_topics, prefixed_topics

pytestmark = [pytest.mark.services, pytest.mark.slow]

SHIXIN = str(Path(sys.executable).parent / "shixin")
DEMO_TIMEOUT = 900


@pytest.fixture
def demo_settings(stack: Settings) -> Iterator[Settings]:
    name = uuid.uuid4().hex[:8]
    settings = stack.model_copy(
        update={"topic_prefix": f"t-{name}", "ledger_schema": f"t_{name}"}
    )
    yield settings
    delete_topics(settings, prefixed_topics(settings, f"{settings.topic_prefix}."))
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        for schema in (settings.ledger_schema, f"{settings.ledger_schema}_replay"):
            conn.execute(f'drop schema if exists "{schema}" cascade')


def _demo(settings: Settings, report: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        DATABASE_URL=settings.postgres_url,
        TOPIC_PREFIX=settings.topic_prefix,
        LEDGER_SCHEMA=settings.ledger_schema,
    )
    done = subprocess.run(
        [SHIXIN, "demo", "--report", str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return dict(json.loads(report.read_text(encoding="utf-8")))


def _without_timings(report: dict[str, Any]) -> dict[str, Any]:
    same = dict(report)
    same["stages"] = [
        {k: v for k, v in stage.items() if k in ("stage", "ok")}
        for stage in report["stages"]
    ]
    return same


DATA = Path(__file__).parent.parent / "data"


def _sample_lines(name: str) -> int:
    return len((DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines())


def _sample_checks() -> int:
    lines = (DATA / "lifecycles.jsonl").read_text(encoding="utf-8").splitlines()
    return sum(len(json.loads(line).get("checks", ())) for line in lines)


def test_demo_reproduces_the_sample_and_a_second_run_reports_the_same(
    demo_settings: Settings, tmp_path: Path
) -> None:
    first = _demo(demo_settings, tmp_path / "first.json")

    assert first["ok"] is True
    assert first["audit"]["equal"] is True
    assert first["expected_checks"]["expected"] == _sample_checks() > 0
    assert first["expected_checks"]["reproduced"] == _sample_checks()
    assert first["expected_checks"]["mismatches"] == []
    # the 46 lifecycles follow listings of the 300 published ones
    assert sum(first["listings_by_state"].values()) == _sample_lines("listings") == 300
    assert first["violations"], "the sample proves some violations"
    assert sum(first["violations_by_rule"].values()) == len(first["violations"])
    for violation in first["violations"]:
        assert violation["trigger_event"], violation
    stages = {s["stage"]: s for s in first["stages"]}
    assert stages["publish"]["items"] > 0 and stages["process"]["items"] > 0

    second = _demo(demo_settings, tmp_path / "second.json")
    assert _without_timings(second) == _without_timings(first)
