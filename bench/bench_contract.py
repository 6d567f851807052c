"""Throughput of the contract: validate + convert + encode, against raw fastavro.

    .venv/bin/python bench/bench_contract.py [--events 100000]

The sample lifecycles are repeated until at least --events events; the baselines are
fastavro's `schemaless_writer` (parsed schema, one BytesIO per record) on the same
already-validated records and fastavro's `schemaless_reader` (parsed writer schema, no
resolution) on the same messages, in the same run. Each figure is the best of
--repeat timed passes (the machine is shared), with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from fastavro import schemaless_reader, schemaless_writer

from contract import codec
from contract.convert import parse_line

DATA = Path(__file__).resolve().parent.parent / "data" / "lifecycles.jsonl"


def best(repeat: int, run: Callable[[], None]) -> float:
    """Shortest wall time of `repeat` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    lifecycles = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    per_pass = sum(len(lc["events"]) + 1 for lc in lifecycles)
    passes = -(-args.events // per_pass)
    inputs = lifecycles * passes

    # Warm up: schemas parsed, payload validators built.
    for lc in lifecycles:
        for event in parse_line("lifecycle", lc, "warmup")[0]:
            codec.decode(codec.encode(event))
    load_before = os.getloadavg()[0]

    count = sum(len(lc["events"]) + 1 for lc in inputs)
    size = 0

    def full_path() -> None:
        nonlocal size
        size = 0
        for number, lc in enumerate(inputs):
            events, errors = parse_line("lifecycle", lc, f"lifecycles.jsonl:{number}")
            if errors:
                raise SystemExit(f"unexpected rejection: {errors[0]}")
            for event in events:
                size += len(codec.encode(event))

    ours = best(args.repeat, full_path)

    built = [e for lc in lifecycles for e in parse_line("lifecycle", lc, "b")[0]]
    built = built * passes

    def encode_only() -> None:
        for event in built:
            codec.encode(event)

    encode = best(args.repeat, encode_only)

    # Same events, validated once, as records; raw fastavro only.
    prepared = [
        (codec.schema_for(e.event_type).parsed, codec.to_record(e)) for e in built
    ]

    def raw_writer() -> None:
        for parsed, record in prepared:
            buf = io.BytesIO()
            schemaless_writer(buf, parsed, record)

    raw = best(args.repeat, raw_writer)

    encoded = [codec.encode(e) for e in built]

    def decode_all() -> None:
        for data in encoded:
            codec.decode(data)

    decode = best(args.repeat, decode_all)

    writers = [codec.writer_of(data).parsed for data in encoded]

    def raw_reader() -> None:
        for data, parsed in zip(encoded, writers, strict=True):
            buf = io.BytesIO(data)
            buf.seek(codec.HEADER_SIZE)
            schemaless_reader(buf, parsed, None)

    raw_read = best(args.repeat, raw_reader)

    print(
        f"events: {count} ({len(inputs)} lifecycles), mean size {size / count:.0f} "
        f"bytes, best of {args.repeat}, load average {load_before:.2f} -> "
        f"{os.getloadavg()[0]:.2f}"
    )
    print(f"validate+convert+encode: {count / ours:,.0f} events/s")
    print(f"encode only (codec.encode of built events): {len(built) / encode:,.0f}/s")
    print(
        "raw fastavro schemaless_writer (already-validated records): "
        f"{len(prepared) / raw:,.0f} events/s"
    )
    print(f"ratio full path / raw writer: {raw / ours:.2f}")
    print(f"ratio encode only / raw writer: {raw / encode:.2f}")
    print(f"decode (with schema lookup): {len(encoded) / decode:,.0f} events/s")
    print(
        "raw fastavro schemaless_reader (parsed writer schema): "
        f"{len(encoded) / raw_read:,.0f} events/s"
    )
    print(f"ratio decode / raw reader: {raw_read / decode:.2f}")


if __name__ == "__main__":
    main()
