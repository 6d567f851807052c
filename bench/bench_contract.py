"""Throughput of the contract: validate + convert + encode, against raw fastavro.

    .venv/bin/python bench/bench_contract.py [--events 100000]

The sample lifecycles are repeated until at least --events events; the baseline is
fastavro's `schemaless_writer` on the same already-validated records, in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

from fastavro import schemaless_writer

from contract import codec
from contract.convert import parse_line

DATA = Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()

    lifecycles = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    per_pass = sum(len(lc["events"]) + 1 for lc in lifecycles)
    passes = -(-args.events // per_pass)
    inputs = lifecycles * passes

    # Warm up: schemas parsed, payload validators built.
    for lc in lifecycles:
        for event in parse_line("lifecycle", lc, "warmup")[0]:
            codec.encode(event)

    start = time.perf_counter()
    count = 0
    size = 0
    for number, lc in enumerate(inputs):
        events, errors = parse_line("lifecycle", lc, f"lifecycles.jsonl:{number}")
        if errors:
            raise SystemExit(f"unexpected rejection: {errors[0]}")
        for event in events:
            size += len(codec.encode(event))
        count += len(events)
    ours = time.perf_counter() - start

    # Same events, validated once, as records; raw fastavro only.
    prepared = []
    for lc in lifecycles:
        for event in parse_line("lifecycle", lc, "prepare")[0]:
            version = codec.schema_for(event.event_type)
            prepared.append((version.parsed, codec.to_record(event, version)))
    prepared = prepared * passes
    start = time.perf_counter()
    for parsed, record in prepared:
        buf = io.BytesIO()
        schemaless_writer(buf, parsed, record)
    raw = time.perf_counter() - start

    encoded = [
        codec.encode(e)
        for lc in lifecycles
        for e in parse_line("lifecycle", lc, "d")[0]
    ]
    encoded = encoded * passes
    start = time.perf_counter()
    for data in encoded:
        codec.decode(data)
    decode = time.perf_counter() - start

    print(
        f"events: {count} ({len(inputs)} lifecycles), "
        f"mean size {size / count:.0f} bytes"
    )
    print(f"validate+convert+encode: {count / ours:,.0f} events/s")
    print(
        "raw fastavro schemaless_writer (already-validated records): "
        f"{len(prepared) / raw:,.0f} events/s"
    )
    print(f"ratio ours/raw: {raw / ours:.2f}")
    print(f"decode (with schema lookup): {len(encoded) / decode:,.0f} events/s")


if __name__ == "__main__":
    main()
