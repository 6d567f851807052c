"""Benchmark: `shixin publish` end to end against a bare confluent-kafka producer.

Generates a lifecycle file (default about 1,000,000 events), publishes it through
the whole path (read, validate, convert, encode, produce, every message
acknowledged) to a fresh ledger, then produces the same number of messages of the
same key and value sizes with a bare producer of the same configuration. Prints
both rates, their ratio and the peak RSS.

Run: `.venv/bin/python bench/bench_publish.py [--listings N]`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Producer

from producers.generate import generate_files
from producers.publish import publish_files
from producers.publisher import Publisher, producer_config
from shixin.settings import Settings
from shixin.stack.topics import delete_topics, ensure_topics, prefixed_topics
from shixin.topics import Topics


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=70_000, help="≈14 events each")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    settings = Settings(topic_prefix=f"bench-{uuid.uuid4().hex[:8]}")
    ensure_topics(settings)
    topics = Topics.for_settings(settings)
    sizes: list[tuple[str, int, int]] = []
    produce = Publisher.produce

    def recording(self, topic, key, value, headers=None):  # type: ignore[no-untyped-def]
        sizes.append((topic, len(key), len(value)))
        produce(self, topic, key, value, headers)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            counts = generate_files(Path(tmp), listings=args.listings, seed=args.seed)
            print(
                f"generated {counts.events:,} lifecycle events"
                f" in {time.perf_counter() - started:.1f}s"
            )

            Publisher.produce = recording  # type: ignore[method-assign]
            started = time.perf_counter()
            (report,) = publish_files(
                [Path(tmp) / "lifecycles.jsonl"], settings=settings
            )
            ours = time.perf_counter() - started
            Publisher.produce = produce  # type: ignore[method-assign]
        assert report.delivery_error is None, report.delivery_error
        rss_ours = peak_rss_mib()

        # baseline: same count, same sizes, pre-encoded, bare producer
        blob = bytes(range(256)) * 64
        messages = [(t, blob[:k], blob[:v]) for t, k, v in sizes]
        failures = 0

        def on_delivery(err, msg):  # type: ignore[no-untyped-def]
            nonlocal failures
            failures += err is not None

        bare = Producer(producer_config(settings, {"on_delivery": on_delivery}))
        started = time.perf_counter()
        for i, (topic, key, value) in enumerate(messages):
            key = key[:-1] + bytes([i % 251]) if key else b"k"
            while True:
                try:
                    bare.produce(topic, value, key)
                    break
                except BufferError:
                    bare.poll(0.1)
            if i % 1000 == 0:
                bare.poll(0)
        remaining = bare.flush(120)
        baseline = time.perf_counter() - started
        assert remaining == 0 and failures == 0, (remaining, failures)
    finally:
        Publisher.produce = produce  # type: ignore[method-assign]
        delete_topics(settings, prefixed_topics(settings, f"{settings.topic_prefix}."))

    n = len(sizes)
    ours_rate, base_rate = n / ours, n / baseline
    mean = sum(v for _, _, v in sizes) / max(n, 1)
    print(f"messages: {n:,} (mean value {mean:.0f} bytes) topics={topics.court}, …")
    print(f"shixin publish (end to end): {ours:.1f}s  {ours_rate:,.0f} events/s")
    print(f"bare confluent-kafka baseline: {baseline:.1f}s  {base_rate:,.0f} events/s")
    print(f"ratio ours/baseline: {ours_rate / base_rate:.3f} (target ≥ 0.5)")
    print(f"target ≥ 50,000 events/s: {'met' if ours_rate >= 50_000 else 'NOT met'}")
    print(f"peak RSS: {peak_rss_mib():,.0f} MiB (after publish: {rss_ours:,.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
