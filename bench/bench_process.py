"""Benchmark: the processor worker against a pass-through faust agent, same topics.

Generates lifecycles (`producers.generate.generate_files`, about 14 events per
listing), publishes them to a fresh ledger with `producers`, ticks the clock once,
then consumes every ledger message twice, each time in a fresh consumer group:

1. pass-through: a faust agent on the same four topics with the same consumer
   settings (raw bytes, earliest, at-least-once), no engine, no tables, no output;
2. the processor worker (`shixin process --until-caught-up --no-timekeeper`).

Both run as subprocesses and are timed from start to exit (faust start-up and
shutdown included in both). Prints both rates, their ratio and the worker's peak
RSS (`wait4` rusage of that child) with the number of listings it held.

Run: `.venv/bin/python bench/bench_process.py [--listings N]` (default 15,000
listings ≈ 200,000 events; use --listings 72000 for ≈ 1,000,000 events and
--listings 100000 for the peak RSS with 100,000 active listings).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from shixin.settings import Settings
from shixin.stack.topics import delete_topics, ensure_topics, prefixed_topics
from shixin.topics import Topics

SHIXIN = [sys.executable, "-m", "shixin"]


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        TOPIC_PREFIX=settings.topic_prefix,
        TOPIC_PARTITIONS=str(settings.topic_partitions),
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def _run(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run `command`; returns (seconds, peak RSS MiB of that child)."""
    with log.open("w") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(
            f"{command[2:]} exited {child.returncode}; log:\n{log.read_text()[-3000:]}"
        )
    return elapsed, usage.ru_maxrss / 1024  # Linux: KiB


def passthrough(expected: int) -> None:
    """The baseline agent: consume the ledger topics raw, count, stop at `expected`."""
    import faust

    from shixin.settings import get_settings

    settings = get_settings()
    topics = Topics.for_settings(settings)
    app = faust.App(
        f"{settings.topic_prefix}.passthrough",
        broker=[f"kafka://{h}" for h in settings.bootstrap_servers.split(",")],
        store="memory://",
        topic_partitions=settings.topic_partitions,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
    )
    ledger = app.topic(
        *topics.ledger,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.topic_partitions,
    )
    seen = 0

    @app.agent(ledger)
    async def count(stream: faust.StreamT) -> None:
        nonlocal seen
        async for _value in stream:
            seen += 1
            if seen == expected:
                await app.consumer.commit()
                os.kill(os.getpid(), signal.SIGTERM)

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=15_000, help="≈14 events each")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--passthrough", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.passthrough is not None:
        passthrough(args.passthrough)
        return 0

    from processors.clock import publish_ticks
    from producers.generate import generate_files
    from producers.publish import publish_files

    settings = Settings(topic_prefix=f"bench-{uuid.uuid4().hex[:8]}")
    ensure_topics(settings)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            counts = generate_files(work, listings=args.listings, seed=args.seed)
            started = time.perf_counter()
            (report,) = publish_files([work / "lifecycles.jsonl"], settings=settings)
            assert report.delivery_error is None, report.delivery_error
            ticks = publish_ticks(settings, datetime(2026, 1, 1, tzinfo=UTC))
            published = counts.events + ticks
            print(
                f"published {counts.events:,} events + {ticks} ticks "
                f"({args.listings:,} listings) in {time.perf_counter() - started:.1f}s"
            )
            print(f"load average before: {os.getloadavg()}")

            base_s, base_rss = _run(
                [sys.executable, __file__, "--passthrough", str(published)],
                _env(settings),
                work / "passthrough.log",
            )
            metrics_file = work / "metrics.json"
            ours_s, ours_rss = _run(
                [
                    *SHIXIN,
                    "process",
                    "--until-caught-up",
                    "--no-timekeeper",
                    "--metrics-file",
                    str(metrics_file),
                ],
                _env(settings),
                work / "worker.log",
            )
            metrics = json.loads(metrics_file.read_text())
            print(f"load average after: {os.getloadavg()}")
    finally:
        delete_topics(settings, prefixed_topics(settings, f"{settings.topic_prefix}."))

    processed = int(metrics["events_processed"])
    assert processed >= published, (processed, published)
    ours_rate, base_rate = processed / ours_s, published / base_s
    print(f"pass-through faust agent: {base_s:.1f}s  {base_rate:,.0f} events/s")
    print(
        f"processor worker: {ours_s:.1f}s  {ours_rate:,.0f} events/s "
        f"(own count {metrics['events_per_second']:,.0f}/s over its uptime; "
        f"{sum(metrics['derived_by_type'].values()):,} derived, "
        f"{metrics['violations_emitted']:,} violations)"
    )
    print(f"ratio worker/pass-through: {ours_rate / base_rate:.3f} (target ≥ 0.5)")
    print(f"target ≥ 20,000 events/s: {'met' if ours_rate >= 20_000 else 'NOT met'}")
    print(
        f"peak RSS: worker {ours_rss:,.0f} MiB with {args.listings:,} listings; "
        f"pass-through {base_rss:,.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
