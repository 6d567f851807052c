"""The main job, end to end: publish, process, tick, project, replay, compare, report.

Every stage is the product's own: the producers publish the input files the way
courts, agencies and republishers would; a faust worker (`shixin process`, run as a
child process until it has caught up) derives sanction states and deadlines; clock
ticks advance time through the sample period; the projector builds the query tables;
the replayer rebuilds them from the log alone into a scratch schema; the audit
compares their digests. Running it again republishes the same acts with the same
event ids, which every consumer drops, so the report does not change.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row

from shixin.settings import REPO_ROOT, Settings

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SAMPLE_FILES = ("listings.jsonl", "lifecycles.jsonl")


class DemoError(Exception):
    """A stage of the main job failed."""


@dataclass
class Stage:
    name: str
    seconds: float = 0.0
    items: int = 0
    unit: str = "events"
    ok: bool = True
    detail: str = ""

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.name,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "items": self.items,
            "unit": self.unit,
            "rate_per_second": round(self.rate, 1),
            "detail": self.detail,
        }


@dataclass
class Report:
    inputs: list[str]
    stages: list[Stage] = field(default_factory=list)
    listings_by_state: dict[str, int] = field(default_factory=dict)
    active_measures_by_agency: dict[str, int] = field(default_factory=dict)
    violations_by_rule: dict[str, int] = field(default_factory=dict)
    violations_by_responsible: dict[str, int] = field(default_factory=dict)
    violations: list[dict[str, Any]] = field(default_factory=list)
    late_party_acts: dict[str, int] = field(default_factory=dict)
    expected_checks: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            all(s.ok for s in self.stages)
            and bool(self.audit.get("equal"))
            and not self.expected_checks.get("mismatches")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "inputs": self.inputs,
            "listings_by_state": self.listings_by_state,
            "active_measures_by_agency": self.active_measures_by_agency,
            "violations_by_rule": self.violations_by_rule,
            "violations_by_responsible": self.violations_by_responsible,
            "violations": self.violations,
            "late_party_acts": self.late_party_acts,
            "expected_checks": self.expected_checks,
            "audit": self.audit,
            "stages": [s.to_dict() for s in self.stages],
        }


@contextmanager
def _stage(report: Report, name: str, unit: str = "events") -> Iterator[Stage]:
    stage = Stage(name, unit=unit)
    report.stages.append(stage)
    started = time.perf_counter()
    try:
        yield stage
    except Exception as exc:
        stage.ok = False
        stage.detail = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        stage.seconds = time.perf_counter() - started


def tick_instants(inputs: list[Path]) -> list[datetime]:
    """The clock through the sample period: 00:00 Asia/Shanghai on the first day of
    every month from the earliest act to the month after the latest one.

    Derived from the input alone, so a second run ticks the same instants (and the
    ticks, having the same ids, count once)."""
    first: date | None = None
    last: date | None = None
    for path in inputs:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                for event in record.get("events", ()):
                    day = datetime.fromisoformat(event["at"]).date()
                    first = day if first is None or day < first else first
                    last = day if last is None or day > last else last
    if first is None or last is None:
        return []
    instants = []
    month = first.year * 12 + first.month - 1
    stop = last.year * 12 + last.month  # the month after the latest act
    while month <= stop:
        day = date(month // 12, month % 12 + 1, 1)
        instants.append(datetime.combine(day, dtime(0), SHANGHAI))
        month += 1
    return instants


def _publish_ticks(settings: Settings, instants: list[datetime]) -> int:
    """Every instant's tick into every clock partition, acknowledged, in order."""
    from confluent_kafka import Producer

    from processors.clock import tick_messages
    from shixin.topics import Topics

    topic = Topics.for_settings(settings).clock
    producer = Producer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    failures: list[str] = []

    def on_delivery(err: object, msg: object) -> None:
        if err is not None:
            failures.append(str(err))

    count = 0
    for instant in instants:
        for partition, key, value in tick_messages(instant, settings.topic_partitions):
            producer.produce(
                topic, value, key, partition=partition, on_delivery=on_delivery
            )
            count += 1
    left = producer.flush(60)
    if left or failures:
        raise DemoError(f"clock ticks: {left} not delivered, errors {failures[:5]}")
    return count


def _run_worker(settings: Settings, metrics_file: Path) -> dict[str, Any]:
    """One processor worker until it has caught up with every input partition."""
    env = dict(os.environ)
    env["TOPIC_PREFIX"] = settings.topic_prefix
    env["KAFKA_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers
    command = [
        sys.executable,
        "-m",
        "shixin",
        "process",
        "--until-caught-up",
        "--no-timekeeper",
        "--metrics-file",
        str(metrics_file),
        "--metrics-interval",
        "2",
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=3600
    )
    if done.returncode != 0:
        raise DemoError(
            f"processor worker exited with {done.returncode}: "
            f"{(done.stderr or done.stdout)[-2000:]}"
        )
    try:
        return dict(json.loads(metrics_file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _rows(conn: psycopg.Connection[Any], query: str) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query)  # type: ignore[arg-type]
        return list(cur.fetchall())


def _expected_checks(
    conn: psycopg.Connection[Any], schema: str, inputs: list[Path]
) -> dict[str, Any]:
    """Compare the projected verdicts with the `checks` the lifecycle files carry."""
    expected = []
    for path in inputs:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                for check in record.get("checks", ()):
                    expected.append(check)
    if not expected:
        return {}
    got = {
        (r["rule_id"], r["trigger_event"]): r
        for r in _rows(
            conn,
            f"SELECT rule_id, trigger_event, response_event, verdict, status "
            f'FROM "{schema}".obligations',
        )
    }
    mismatches = []
    for check in expected:
        row = got.get((check["rule_id"], check["trigger_event"]))
        if row is None or row["verdict"] != check["verdict"]:
            mismatches.append(
                {
                    "rule_id": check["rule_id"],
                    "trigger_event": check["trigger_event"],
                    "expected": check["verdict"],
                    "got": None if row is None else row["verdict"],
                }
            )
    return {
        "expected": len(expected),
        "reproduced": len(expected) - len(mismatches),
        "mismatches": mismatches,
    }


def _summaries(conn: psycopg.Connection[Any], schema: str, report: Report) -> None:
    s = f'"{schema}"'
    report.listings_by_state = {
        r["state"]: r["n"]
        for r in _rows(
            conn,
            f"SELECT state, count(*)::int AS n FROM {s}.listings "
            "GROUP BY state ORDER BY state",
        )
    }
    report.active_measures_by_agency = {
        r["agency"]: r["n"]
        for r in _rows(
            conn,
            f"SELECT agency, count(*)::int AS n FROM {s}.sanctions "
            "WHERE state IN ('APPLIED', 'RETAINED') GROUP BY agency ORDER BY agency",
        )
    }
    violations = _rows(
        conn,
        f"SELECT rule_id, rule_source, responsible_kind, responsible_code, "
        f"listing_id, trigger_event, response_event, due_date, actual_date, "
        f"verdict, detected_by, reason FROM {s}.violations "
        "WHERE NOT withdrawn AND obligor = 'AUTHORITY' "
        "ORDER BY rule_id, responsible_kind, responsible_code, listing_id, "
        "trigger_event",
    )
    # a party's late act (a debtor's correction request after its period: verdict
    # OUT_OF_TIME) is a lapsed right, not a violation of a court's or agency's duty
    report.late_party_acts = {
        f"{r['rule_id']} {r['verdict']}": r["n"]
        for r in _rows(
            conn,
            f"SELECT rule_id, verdict, count(*)::int AS n FROM {s}.violations "
            "WHERE NOT withdrawn AND obligor <> 'AUTHORITY' "
            "GROUP BY rule_id, verdict ORDER BY rule_id, verdict",
        )
    }
    report.violations = [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in violations
    ]
    by_rule: dict[str, int] = {}
    by_party: dict[str, int] = {}
    for row in violations:
        by_rule[row["rule_id"]] = by_rule.get(row["rule_id"], 0) + 1
        party = f"{row['responsible_kind']} {row['responsible_code'] or '-'}"
        by_party[party] = by_party.get(party, 0) + 1
    report.violations_by_rule = dict(sorted(by_rule.items()))
    report.violations_by_responsible = dict(sorted(by_party.items()))


def run_demo(
    settings: Settings,
    inputs: list[Path],
    *,
    on_stage: Callable[[Stage], None] | None = None,
) -> Report:
    """Run the main job on `inputs` and return its report (also on failure)."""
    from producers.publish import publish_files
    from projections.projector import run as project
    from replay.audit import diff_schemas, digest_schema
    from replay.replayer import replay
    from shixin.stack import up

    report = Report([str(p) for p in inputs])
    live_schema = settings.ledger_schema
    replay_schema = f"{live_schema}_replay"

    def done(stage: Stage) -> None:
        if on_stage is not None:
            on_stage(stage)

    try:
        with _stage(report, "stack up", unit="services") as stage:
            settings = up(settings, topics=True)
            stage.items = 2
        done(stage)

        with _stage(report, "publish") as stage:
            files = publish_files(inputs, settings=settings)
            stage.items = sum(f.events for f in files)
            rejected = sum(f.rejected for f in files)
            stage.detail = (
                f"{sum(f.records for f in files)} records, {rejected} rejected"
            )
            if rejected or any(f.exit_code for f in files):
                stage.ok = False
                raise DemoError(f"publishing failed: {stage.detail}")
        done(stage)

        with _stage(report, "clock ticks", unit="ticks") as stage:
            # ticks go into the log after the acts, so their broker time orders them
            # after every act, for the live worker as for a replay
            instants = tick_instants(inputs)
            stage.items = _publish_ticks(settings, instants)
            stage.detail = (
                f"{len(instants)} instants, "
                f"{instants[0].date()} .. {instants[-1].date()}"
                if instants
                else "no lifecycle events"
            )
        done(stage)

        with tempfile.TemporaryDirectory(prefix="shixin-demo-") as tmp:
            with _stage(report, "process") as stage:
                metrics = _run_worker(settings, Path(tmp) / "metrics.json")
                stage.items = int(metrics.get("events_processed", 0))
                stage.detail = (
                    f"{sum(metrics.get('derived_by_type', {}).values())} derived, "
                    f"{metrics.get('violations_emitted', 0)} violations, "
                    f"{metrics.get('dead_letters', 0)} dead-lettered"
                )
            done(stage)

        with _stage(report, "project") as stage:
            stats = project(settings, schema=live_schema, until_caught_up=True)
            stage.items = stats.applied + stats.skipped
            stage.detail = f"{stats.applied} new, {stats.skipped} seen before"
        done(stage)

        with _stage(report, "replay") as stage:
            replayed = replay(settings, replay_schema, fresh=True)
            stage.items = replayed.records
            stage.detail = f"{replayed.applied} events applied"
        done(stage)

        with _stage(report, "audit", unit="tables") as stage:
            with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
                live = digest_schema(conn, live_schema)
                rebuilt = digest_schema(conn, replay_schema)
                stage.items = len(live.tables)
                report.audit = {
                    "live": live.to_dict(),
                    "replay": rebuilt.to_dict(),
                    "equal": live.sha256 == rebuilt.sha256,
                }
                if not report.audit["equal"]:
                    report.audit["diff"] = {
                        d.table: {
                            "only_live": d.only_a[:20],
                            "only_replay": d.only_b[:20],
                        }
                        for d in diff_schemas(conn, live_schema, replay_schema)
                        if not d.equal
                    }
                    stage.ok = False
                _summaries(conn, live_schema, report)
                report.expected_checks = _expected_checks(conn, live_schema, inputs)
        done(stage)
    except Exception as exc:
        logger.error("demo stopped: %s", exc)
        if report.stages and report.stages[-1].ok:
            report.stages.append(Stage("error", ok=False, detail=str(exc)))
    return report


def sample_inputs() -> list[Path]:
    return [REPO_ROOT / "data" / name for name in SAMPLE_FILES]
