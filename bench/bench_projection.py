"""Benchmark of the projections: events/s through `apply_batch` against raw COPY of
the same rows into the same tables, and `check` latency against many listings.

    .venv/bin/python bench/bench_projection.py         # 100,000 events and listings
    .venv/bin/python bench/bench_projection.py --full  # 1,000,000 of each

Needs PostgreSQL (`shixin stack up`); builds scratch schemas and drops them.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from contract.event import Actor, LedgerEvent, Position  # noqa: E402
from projections.check import check, lookup_statement  # noqa: E402
from projections.migrate import migrate  # noqa: E402
from projections.store import FoldCache, apply_batch  # noqa: E402
from shixin.settings import Settings  # noqa: E402

COURT = Actor(kind="COURT", code="闽0203", name="厦门市思明区人民法院")
AGENCY = Actor(kind="AGENCY", code="RAILWAY", name="国铁集团")
LEDGER = Actor(kind="LEDGER", code="rules-engine")
START = datetime(2020, 1, 1, tzinfo=UTC)
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(i: int) -> str:
    """A distinct valid resident ID per i < 18,000,000 (birth date, then sequence)."""
    born = date(1950, 1, 1) + timedelta(days=(i // 1000) % 18_000)
    body = f"350203{born:%Y%m%d}{i % 1000:03d}"
    check_char = "10X98765432"[
        sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11
    ]
    return body + check_char


def masked(rid: str) -> str:
    return rid[:10] + "****" + rid[14:]


def listing_events(i: int) -> list[tuple[str, Actor, int, dict[str, object]]]:
    """(event type, actor, day offset, payload) of one synthetic listing."""
    rid = resident_id(i)
    sanction: dict[str, object] = {
        "agency": "RAILWAY", "measure_code": "RAILWAY.TRAIN_RESTRICTION",
        "state": "APPLIED", "previous_state": None, "since": START + timedelta(days=5),
        "reason": None, "legal_basis": None, "retained_until": None,
        "trigger_event": f"S{i}-E4",
    }  # fmt: skip
    events: list[tuple[str, Actor, int, dict[str, object]]] = [
        ("DEBTOR_IDENTIFIED", COURT, 0, {"case_number": f"（2020）闽0203执{i}号",
         "debtor": {"name": f"债务人{i}", "entity_type": "NATURAL_PERSON",
                    "id_number": rid, "published_card_number": masked(rid)}}),
        ("LISTING_DECISION_MADE", COURT, 1, {"conduct_codes": ["ABILITY_REFUSAL"]}),
        ("LISTING_PUBLISHED", COURT, 2, {"platform_record_id": 990_000_000 + i}),
        ("SANCTION_STATE_CHANGED", LEDGER, 5, sanction),
        ("LISTING_SHIELDED", COURT, 30, {"reason": "PERFORMANCE_COMPLETED"}),
        ("SANCTION_STATE_CHANGED", LEDGER, 32, sanction | {
            "state": "RELEASED", "previous_state": "APPLIED",
            "since": START + timedelta(days=32), "trigger_event": f"S{i}-E6"}),
        ("LISTING_CORRECTED", COURT, 40, {"field": "name"}),
        ("LISTING_DELETED", COURT, 60, {"reason": "term"}),
    ]  # fmt: skip
    return events


def stream(n_events: int, window: int = 2000) -> Iterator[tuple[LedgerEvent, Position]]:
    """Events of many listings interleaved (a window of listings in flight), in
    broker order, so that each batch touches listings of earlier batches."""
    per_listing = len(listing_events(0))
    n_listings = n_events // per_listing
    offset = 0
    for base in range(0, n_listings, window):
        ids = range(base, min(base + window, n_listings))
        for step in range(per_listing):
            for i in ids:
                event_type, actor, day, payload = listing_events(i)[step]
                listing = f"L{i:08d}"
                yield (
                    LedgerEvent(
                        event_id=f"{listing}-{step}",
                        event_type=event_type,
                        listing_id=listing,
                        occurred_at=START + timedelta(days=day, seconds=i % 3600),
                        actor=actor,
                        jurisdiction="CN-35",
                        payload=payload,
                        seq=step,
                    ),
                    Position(
                        "bench.court",
                        i % 6,
                        offset,
                        START + timedelta(days=400, milliseconds=offset),
                    ),
                )
                offset += 1


def project(
    conn: psycopg.Connection, schema: str, n_events: int, batch: int
) -> tuple[int, float]:
    migrate(conn, schema)
    conn.autocommit = False
    items = list(stream(n_events))
    cache = FoldCache()  # as the projector keeps it during one run
    started = time.perf_counter()
    for start in range(0, len(items), batch):
        with conn.transaction():
            apply_batch(conn, schema, items[start : start + batch], cache)
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.autocommit = True
    return len(items), elapsed


def raw_copy(conn: psycopg.Connection, source: str, target: str) -> tuple[int, float]:
    """COPY every row the projection wrote into empty tables of `target`."""
    migrate(conn, target)
    tables = (
        "events",
        "listings",
        "sanctions",
        "listings_history",
        "sanctions_history",
    )
    dumps: dict[str, bytes] = {}
    total = 0
    for table in tables:
        buffer = io.BytesIO()
        with (
            conn.cursor() as cur,
            cur.copy(f'COPY "{source}"."{table}" TO STDOUT') as copy,
        ):
            for data in copy:
                buffer.write(data)
        dumps[table] = buffer.getvalue()
        total += dumps[table].count(b"\n")
    conn.autocommit = False
    started = time.perf_counter()
    with conn.transaction():
        for table in tables:
            with (
                conn.cursor() as cur,
                cur.copy(f'COPY "{target}"."{table}" FROM STDIN') as copy,
            ):
                copy.write(dumps[table])
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.autocommit = True
    return total, elapsed


def check_latency(
    conn: psycopg.Connection, schema: str, n_listings: int, lookups: int
) -> None:
    migrate(conn, schema)
    conn.execute(f'SET search_path TO "{schema}"')
    started = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY listings (listing_id, subject_id, org_code, masked_id, entity_type, "
            "debtor_name, legal_rep_id, state, last_event, valid_from, known_from, "
            "known_topic, known_partition, known_offset, fold_state) FROM STDIN"
        ) as copy,
    ):
        for i in range(n_listings):
            if i % 10 == 9:  # an organisation whose legal representative is a person
                uscc = f"91350203MA{i:07d}X"  # check character not needed here
                copy.write_row((f"L{i:08d}", uscc, uscc[8:17], uscc, "LEGAL_PERSON",
                                f"公司{i}", resident_id(i + 1), "PUBLISHED", "e",
                                START, START, "t", 0, i, "{}"))  # fmt: skip
                continue
            rid = resident_id(i)
            copy.write_row((f"L{i:08d}", rid, None, masked(rid), "NATURAL_PERSON",
                            f"债务人{i}", None, "PUBLISHED", "e", START, START, "t", 0,
                            i, "{}"))  # fmt: skip
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY sanctions (listing_id, agency, measure_code, state, since, "
            "trigger_event, last_event, valid_from, known_from, known_topic, "
            "known_partition, known_offset, fold_state) FROM STDIN"
        ) as copy,
    ):
        for i in range(0, n_listings, 3):
            copy.write_row((f"L{i:08d}", "RAILWAY", "RAILWAY.TRAIN_RESTRICTION",
                            "APPLIED", START, "x", "x", START, START, "t", 0, i,
                            "{}"))  # fmt: skip
    loaded = time.perf_counter() - started
    # steady state, as autovacuum leaves it: statistics and visibility map
    conn.execute("VACUUM (ANALYZE) listings")
    conn.execute("VACUUM (ANALYZE) sanctions")
    conn.execute("RESET search_path")
    print(
        f"loaded {n_listings:,} listings in {loaded:.1f} s, "
        f"then VACUUM (ANALYZE) in {time.perf_counter() - started - loaded:.1f} s"
    )

    rng = random.Random(1)
    subjects = [resident_id(rng.randrange(n_listings)) for _ in range(lookups)]
    client: list[float] = []
    hits = 0
    for subject in subjects:
        t = time.perf_counter()
        result = check(conn, subject, schema=schema, at=START)
        client.append((time.perf_counter() - t) * 1000)
        hits += result.intercept

    # the same statement, prepared server-side, timed by the server itself
    numbered = lookup_statement(schema)
    for n, name in enumerate(("subject", "org_code", "agency", "measure"), 1):
        numbered = numbered.replace(f"%({name})s", f"${n}")
    conn.execute("DEALLOCATE ALL")
    conn.execute(f"PREPARE bench_check (text, text, text, text) AS {numbered}")
    server: list[float] = []
    buffers: list[int] = []
    shown = ""
    for subject in subjects:
        plan = conn.execute(
            sql.SQL(
                "EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) "
                "EXECUTE bench_check ({}, NULL, NULL, NULL)"
            ).format(sql.Literal(subject))
        ).fetchone()
        assert plan is not None
        top = plan[0][0]
        server.append(float(top["Execution Time"]) + float(top["Planning Time"]))
        node = top["Plan"]
        hit, read = node.get("Shared Hit Blocks", 0), node.get("Shared Read Blocks", 0)
        buffers.append(int(hit) + int(read))
        shown = str(top)
    indexes = [
        name
        for name in ("listings_subject_idx", "listings_org_code_idx",
                     "listings_legal_rep_idx", "sanctions_pkey")
        if name in shown
    ]  # fmt: skip
    q = statistics.quantiles
    print(
        f"check over {lookups:,} lookups, {n_listings:,} listings "
        f"({hits:,} intercepts): client (one round trip, prepared) "
        f"p50 {q(client, n=100)[49]:.3f} ms p99 {q(client, n=100)[98]:.3f} ms; "
        f"database (EXPLAIN ANALYZE EXECUTE, planning + execution, "
        f"{len(server):,} lookups) p50 {q(server, n=100)[49]:.3f} ms "
        f"p99 {q(server, n=100)[98]:.3f} ms max {max(server):.3f} ms; "
        f"buffers p50 {q(buffers, n=100)[49]:.0f}; bitmap scans: "
        f"{'Bitmap' in shown}; indexes: {', '.join(indexes)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--full", action="store_true", help="1,000,000 events and listings"
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    if args.full:
        args.events = args.listings = 1_000_000

    settings = Settings()
    schemas = ("bench_projection", "bench_copy", "bench_check")
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        try:
            n, projected_s = project(conn, "bench_projection", args.events, args.batch)
            rows, copy_s = raw_copy(conn, "bench_projection", "bench_copy")
            rate, copy_rate = n / projected_s, n / copy_s
            print(
                f"projected {n:,} events in {projected_s:.1f} s: {rate:,.0f} events/s; "
                f"raw COPY of the same {rows:,} rows: {copy_s:.1f} s "
                f"({copy_rate:,.0f} events/s equivalent); ratio {rate / copy_rate:.2f}"
            )
            check_latency(conn, "bench_check", args.listings, args.lookups)
        finally:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
