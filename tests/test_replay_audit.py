"""Replay and audit against the real broker and PostgreSQL.

The sample lifecycles are published, ticked and processed by a live faust worker, then
projected; a replay from the log alone must give the same tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from contract import codec
from producers.publish import publish_files
from projections.projector import run as project
from projections.query import as_of
from replay.audit import PROCESSING_COLUMNS, diff_schemas, digest_schema
from replay.replayer import ReplayError, replay
from shixin.settings import REPO_ROOT, Settings
from shixin.stack.topics import LedgerTopics
from shixin.topics import Topics

pytestmark = [pytest.mark.services, pytest.mark.slow]

SHANGHAI = ZoneInfo("Asia/Shanghai")
TICKS = [
    datetime(2018, 1, 1, tzinfo=SHANGHAI),
    datetime(2021, 1, 1, tzinfo=SHANGHAI),
    datetime(2024, 1, 1, tzinfo=SHANGHAI),
    datetime(2026, 12, 1, tzinfo=SHANGHAI),
]
MIDDLE = TICKS[1]  # a tick instant in the middle of the sample history


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TOPIC_PREFIX=settings.topic_prefix,
        KAFKA_BOOTSTRAP_SERVERS=settings.bootstrap_servers,
        DATABASE_URL=settings.postgres_url,
        **extra,
    )
    return env


def _shixin(settings: Settings, *args: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shixin", *args],
        env=_env(settings, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"shixin {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


def _drop(settings: Settings, *schemas: str) -> None:
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def live(ledger_topics: LedgerTopics, pg_schema: str, tmp_path: Path) -> Iterator[Any]:
    """The sample lifecycles published, ticked, processed live and projected."""
    settings = ledger_topics.settings
    sample = tmp_path / "lifecycles.jsonl"
    sample.write_bytes((REPO_ROOT / "data" / "lifecycles.jsonl").read_bytes())
    reports = publish_files([sample], settings=settings)
    assert sum(r.rejected for r in reports) == 0
    for tick in TICKS:
        _shixin(settings, "clock", "tick", "--at", tick.isoformat())
    _shixin(settings, "process", "--until-caught-up", "--no-timekeeper")
    project(settings, schema=pg_schema, until_caught_up=True)
    scratch: list[str] = []
    yield settings, pg_schema, scratch
    _drop(settings, *scratch)


def test_a_replay_of_the_live_log_has_the_live_tables_digests(live: Any) -> None:
    settings, schema, scratch = live
    rebuilt = f"{schema}_replay"
    scratch.append(rebuilt)

    stats = replay(settings, rebuilt, fresh=True)

    assert stats.records > 700
    assert stats.dead_letters == 0
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        a, b = digest_schema(conn, schema), digest_schema(conn, rebuilt)
        differing = [
            d.table for d in diff_schemas(conn, schema, rebuilt) if not d.equal
        ]
    assert differing == []
    assert a.sha256 == b.sha256
    assert {t.table: t.rows for t in a.tables}["violations"] > 0


def test_a_replay_never_writes_into_or_drops_a_projected_schema(live: Any) -> None:
    settings, schema, scratch = live
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        before = digest_schema(conn, schema).sha256

    for fresh in (True, False):
        with pytest.raises(ReplayError, match="no replay made"):
            replay(settings, schema, fresh=fresh)
    with pytest.raises(ReplayError, match="scratch schema of its own"):
        replay(settings.model_copy(update={"ledger_schema": "mine"}), "mine")

    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        assert digest_schema(conn, schema).sha256 == before

    # a replay's own schema, once someone added a table or a sequence beside its
    # tables, or a schema holding only a sequence, is not dropped either
    rebuilt, only_sequence = f"{schema}_replay", f"{schema}_seq"
    scratch.extend([rebuilt, only_sequence])
    replay(settings, rebuilt, fresh=True)
    replay(settings, rebuilt, fresh=True)  # its own: rebuilt again
    # and the projector never writes into a replay's schema
    from projections.projector import ProjectorError

    with pytest.raises(ProjectorError, match="a replay built it"):
        project(settings, schema=rebuilt, until_caught_up=True)
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{rebuilt}".auditor_notes (note text)')
        conn.execute(f'CREATE SCHEMA "{only_sequence}"')
        conn.execute(f'CREATE SEQUENCE "{only_sequence}".s')
    with pytest.raises(ReplayError, match=r"auditor_notes \(r\)"):
        replay(settings, rebuilt, fresh=True)
    with pytest.raises(ReplayError, match=r"s \(S\)"):
        replay(settings, only_sequence, fresh=True)
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        conn.execute(f'SELECT count(*) FROM "{rebuilt}".auditor_notes')
        conn.execute(f"SELECT nextval('\"{only_sequence}\".s')")


def test_replays_under_different_time_zones_give_identical_raw_digests(
    live: Any,
) -> None:
    settings, schema, scratch = live
    digests = []
    for zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
        target = f"{schema}_tz_{zone.split('/')[-1].lower()}"
        scratch.append(target)
        _shixin(settings, "replay", "--into", target, "--fresh", TZ=zone)
        out = _shixin(settings, "audit", "digest", target, "--raw", "--json", TZ=zone)
        digests.append(json.loads(out)["tables"])

    assert digests[0] == digests[1] == digests[2]
    assert digests[0]["events"]["rows"] > 0


def _content(row: dict[str, Any]) -> dict[str, Any]:
    skip = PROCESSING_COLUMNS | {"valid_from", "valid_to", "subject_id", "legal_rep_id"}
    return {k: v for k, v in row.items() if k not in skip}


def _differences(
    live: list[dict[str, Any]], replayed: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """The (row number, column, live value, replayed value) of rows that differ."""
    out: list[tuple[Any, ...]] = [("rows", len(live), len(replayed))]
    for i, (a, b) in enumerate(zip(live, replayed, strict=False)):
        out += [(i, k, a.get(k), b.get(k)) for k in sorted(a) if a.get(k) != b.get(k)]
    return out


@pytest.mark.parametrize(
    "until",
    [
        MIDDLE,  # a clock tick of the live run
        # between LC-024's missed day (04-12) and its late shielding (04-15)
        datetime(2024, 4, 13, 12, tzinfo=SHANGHAI),
        # after LC-038's expiry deletion fell due (2020-10-09), before the next tick
        datetime(2020, 10, 20, tzinfo=SHANGHAI),
        # after LC-035's flight ban was due for release (2021-11-26), before the
        # enforcement after shielding that revealed the miss (12-09), no tick between
        datetime(2021, 12, 1, 12, tzinfo=SHANGHAI),
        # after LC-045's debtor's 10 days to ask for correction ended (2021-08-16),
        # before the late application (08-20)
        datetime(2021, 8, 17, tzinfo=SHANGHAI),
    ],
    ids=[
        "at-a-tick",
        "between-ticks-2024",
        "between-ticks-2020",
        "before-the-act",
        "a-lapsed-party-period",
    ],  # fmt: skip
)
def test_replay_until_an_instant_equals_the_live_as_of_view(
    live: Any, until: datetime
) -> None:
    settings, schema, scratch = live
    rebuilt = f"{schema}_until"
    scratch.append(rebuilt)

    replay(settings, rebuilt, until=until, fresh=True)

    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        for table in ("listings", "sanctions", "obligations", "violations"):
            live_rows = [
                _content(r) for r in as_of(conn, table, at=until, schema=schema)
            ]
            replay_rows = [
                _content(r) for r in as_of(conn, table, at=until, schema=rebuilt)
            ]
            differences = _differences(live_rows, replay_rows)
            assert live_rows == replay_rows, (table, differences)
            assert live_rows or table == "violations"
        # and the cut is real: the live tables know more than the replay until MIDDLE
        count = "SELECT count(*) FROM {}.obligations"
        live_n = conn.execute(count.format(f'"{schema}"')).fetchone()
        until_n = conn.execute(count.format(f'"{rebuilt}"')).fetchone()
        assert live_n is not None and until_n is not None
        assert until_n[0] < live_n[0]


def test_an_altered_log_gives_another_digest_and_a_diff_naming_its_rows(
    live: Any, topic_prefix: str
) -> None:
    """Copy the log to another prefix with one act's date moved, replay both."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    from shixin.stack.topics import delete_topics, ensure_topics, prefixed_topics
    from shixin.topics import Topics

    settings, schema, scratch = live
    forged = settings.model_copy(update={"topic_prefix": f"{topic_prefix}-forged"})
    ensure_topics(forged)
    source, target = Topics.for_settings(settings), Topics.for_settings(forged)
    altered_listing = None
    try:
        consumer = Consumer(
            {"bootstrap.servers": settings.bootstrap_servers, "group.id": "forge"}
        )
        log = []  # (broker time, topic rank, partition, offset, name, key, value)
        for rank, name in enumerate(("court", "agency", "publisher", "clock")):
            src = getattr(source, name)
            for partition in range(settings.topic_partitions):
                tp = TopicPartition(src, partition, 0)
                _, high = consumer.get_watermark_offsets(tp, timeout=10)
                consumer.assign([tp])
                got = 0
                while got < high:
                    # ask for no more than is left: consume() waits for the count
                    for message in consumer.consume(min(500, high - got), timeout=5):
                        got += 1
                        log.append(
                            (
                                message.timestamp()[1],
                                rank,
                                partition,
                                message.offset(),
                                name,
                                message.key(),
                                message.value(),
                            )
                        )
        consumer.close()

        # the copy keeps the original's order across topics (broker time, then rank)
        producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
        for _, _, partition, _, name, key, value in sorted(log, key=lambda r: r[:4]):
            event = codec.decode(value)
            if altered_listing is None and event.event_type == "LISTING_SHIELDED":
                # the court shielded a month later than it did
                moved = event.occurred_at.replace(
                    day=1, month=(event.occurred_at.month % 12) + 1
                )
                value = codec.encode(replace(event, occurred_at=moved))
                altered_listing = event.listing_id
            producer.produce(getattr(target, name), value, key, partition=partition)
            # one at a time: each copy gets a broker time of its own, in this order
            assert producer.flush(30) == 0
        assert altered_listing is not None

        honest, altered = f"{schema}_honest", f"{schema}_forged"
        scratch.extend([honest, altered])
        replay(settings, honest, fresh=True)
        replay(forged, altered, fresh=True)

        with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
            assert (
                digest_schema(conn, honest).sha256
                != digest_schema(conn, altered).sha256
            )
            diffs = [d for d in diff_schemas(conn, honest, altered) if not d.equal]
        assert diffs, "an altered event must show in the diff"

        # the copy was recorded anew under another prefix, so every event's broker
        # time and topic name differ: only rows that still differ without them are
        # what the altered act changed
        def fact(row: dict[str, Any]) -> str:
            same = {k: v for k, v in row.items() if k != "broker_time"}
            if "topic" in same:
                same["topic"] = str(same["topic"]).split(".", 1)[-1]
            return json.dumps(same, sort_keys=True, default=str)

        touched = set()
        for d in diffs:
            honest_facts = {fact(row) for row in d.only_a}
            altered_facts = {fact(row) for row in d.only_b}
            for row in (*d.only_a, *d.only_b):
                if (fact(row) in honest_facts) != (fact(row) in altered_facts):
                    touched.add(row.get("listing_id"))
        assert touched == {altered_listing}
    finally:
        delete_topics(forged, prefixed_topics(forged, f"{forged.topic_prefix}."))


@pytest.fixture
def published(ledger_topics: LedgerTopics, tmp_path: Path) -> Settings:
    """The sample lifecycles published to a fresh ledger (no worker: a replay runs
    the rules engine itself)."""
    settings = ledger_topics.settings
    sample = tmp_path / "lifecycles.jsonl"
    sample.write_bytes((REPO_ROOT / "data" / "lifecycles.jsonl").read_bytes())
    reports = publish_files([sample], settings=settings)
    assert sum(r.rejected for r in reports) == 0
    return settings


def _latest_act(settings: Settings, schema: str) -> datetime:
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        row = conn.execute(
            f'SELECT max(occurred_at) FROM "{schema}".events WHERE NOT derived'
        ).fetchone()
    assert row is not None and row[0] is not None
    return row[0]


def test_a_schema_resumes_only_with_the_cut_off_it_was_built_with(
    published: Settings, pg_schema: str
) -> None:
    settings, schema = published, pg_schema
    july = datetime(2024, 7, 1, tzinfo=SHANGHAI)
    earlier = datetime(2020, 1, 1, tzinfo=SHANGHAI)
    built = replay(settings, schema, until=july, fresh=True)
    assert built.records > 0 and built.filtered > 0
    assert _latest_act(settings, schema) <= july

    with pytest.raises(ReplayError) as refused:
        replay(settings, schema, until=earlier)
    message = str(refused.value)
    assert "--until 2024-07-01T00:00:00+08:00" in message
    assert "--until 2020-01-01T00:00:00+08:00" in message
    assert "--fresh" in message
    with pytest.raises(ReplayError, match=r"asks for the whole log .*--fresh"):
        replay(settings, schema)
    with pytest.raises(ReplayError, match="already holds"):
        replay(settings, schema, until=july, until_offsets={})
    assert _latest_act(settings, schema) > earlier  # nothing was taken back

    # the same instant (in any offset) resumes: nothing new to read
    again = replay(settings, schema, until=july.astimezone(UTC))
    assert again.records == 0 and again.resumed

    # the command line says so too, with the usage exit status
    done = subprocess.run(
        [sys.executable, "-m", "shixin", "replay", "--into", schema, "--until",
         earlier.isoformat()],
        env=_env(settings), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "built from --until 2024-07-01" in done.stderr
    assert "--fresh" in done.stderr
    assert "Traceback" not in done.stderr

    # --fresh rebuilds with the new cut-off
    rebuilt = replay(settings, schema, until=earlier, fresh=True)
    assert rebuilt.records < built.records
    assert _latest_act(settings, schema) <= earlier


def test_an_interrupted_replay_stops_at_a_batch_end_and_resumes_to_the_same_tables(
    published: Settings, pg_schema: str
) -> None:
    """Ctrl-C (SIGINT) during a replay whose records are all fetched already: it
    stops after the batch in hand, checkpointed; resuming gives the tables of an
    uninterrupted replay, raw digest for raw digest."""
    import signal

    settings, schema, whole = published, pg_schema, f"{pg_schema}_whole"
    calls: list[int] = []

    def interrupt_once(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    try:
        stopped = replay(
            settings, schema, fresh=True, batch_size=50, on_progress=interrupt_once
        )
        assert stopped.interrupted
        assert 0 < stopped.records < 200  # a few batches at most, not the whole log
        resumed = replay(settings, schema, batch_size=50)
        assert resumed.resumed and not resumed.interrupted
        full = replay(settings, whole, fresh=True)
        assert stopped.records + resumed.records == full.records
        with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
            assert (
                digest_schema(conn, schema, "raw").tables
                == digest_schema(conn, whole, "raw").tables
            )
    finally:
        _drop(settings, whole)


def test_until_offsets_stops_every_partition_where_the_file_says(
    published: Settings, pg_schema: str, tmp_path: Path
) -> None:
    """Stop offsets at half of each partition: exactly those records are replayed.
    A file without the clock topic is refused (it would drop every tick)."""
    from confluent_kafka import Consumer, TopicPartition

    settings = published
    topics = Topics.for_settings(settings)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.bootstrap_servers,
            "group.id": f"{settings.topic_prefix}.offsets-test",
        }
    )
    half: dict[str, dict[str, int]] = {}
    expected = 0
    try:
        for topic in (topics.court, topics.agency, topics.publisher, topics.clock):
            for partition in range(settings.topic_partitions):
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=30
                )
                stop = low + (high - low) // 2
                half.setdefault(topic, {})[str(partition)] = stop
                expected += stop - low
    finally:
        consumer.close()
    path = tmp_path / "half.json"
    path.write_text(json.dumps(half), "utf-8")

    out = _shixin(settings, "replay", "--into", pg_schema, "--fresh",
                  "--until-offsets", str(path))  # fmt: skip
    assert expected > 0 and f"replayed {expected:,} records" in out

    del half[topics.clock]
    path.write_text(json.dumps(half), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "shixin", "replay", "--into", f"{pg_schema}_x",
         "--until-offsets", str(path)],
        env=_env(settings), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"no stop offset for {topics.clock} partition 0" in done.stderr
    _drop(settings, f"{pg_schema}_x")


def test_figures_count_the_obligations_due_in_the_period_exactly(
    published: Settings, pg_schema: str
) -> None:
    """LC-024: 闽0203's three shield/revoke deadlines fall on 2024-04-12 (answered
    late on the 15th). They count on that day and on no other day of April; the
    days of a month add up to the month; a debtor's periods are not counted, nor
    listed as missed deadlines."""
    from datetime import date, timedelta

    from replay.questions import accountability, missed_deadlines

    replay(published, pg_schema, fresh=True)

    def court(rows: list[dict[str, Any]]) -> dict[str, Any]:
        found = [r for r in rows if r["responsible_code"] == "闽0203"]
        return found[0] if found else {"obligations_due": 0, "late": 0}

    with psycopg.connect(published.postgres_url, autocommit=True) as conn:
        day = date(2024, 4, 12)
        on_the_day = court(accountability(conn, pg_schema, day, day))
        assert (on_the_day["obligations_due"], on_the_day["late"]) == (3, 3)
        after = day + timedelta(days=1)
        assert court(accountability(conn, pg_schema, after, after))["late"] == 0
        april = [court(accountability(conn, pg_schema, d, d)) for d in (
            date(2024, 4, 1) + timedelta(days=n) for n in range(30))]  # fmt: skip
        month = court(
            accountability(conn, pg_schema, date(2024, 4, 1), date(2024, 4, 30))
        )
        assert sum(r["obligations_due"] for r in april) == month["obligations_due"]
        every = accountability(conn, pg_schema, date(2014, 1, 1), date(2026, 12, 31))
        assert every and all(r["responsible_kind"] != "DEBTOR" for r in every)
        # nor are they missed deadlines, though the debtor's late objection is a
        # check of the sample (OUT_OF_TIME) with its row in violations
        missed = missed_deadlines(conn, pg_schema, date(2014, 1, 1), date(2026, 12, 31))
        assert missed and all(r["responsible_kind"] != "DEBTOR" for r in missed)
        party = "SELECT count(*) FROM {}.violations WHERE obligor = 'PARTY'"
        late_objections = conn.execute(party.format(f'"{pg_schema}"')).fetchone()
        assert late_objections is not None and late_objections[0] > 0


def test_what_the_worker_would_dead_letter_is_kept_in_the_replays_schema(
    published: Settings, pg_schema: str
) -> None:
    """A replay produces to no topic: a record it cannot use is named in its own
    schema's projector_rejects (topic, partition, offset, stage and reason)."""
    from confluent_kafka import Producer

    settings = published
    court = Topics.for_settings(settings).court
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    producer.produce(court, b"\xc3\x01not avro", b"POISON-R", partition=0)
    assert producer.flush(30) == 0

    stats = replay(settings, pg_schema, fresh=True)
    assert stats.dead_letters == 1
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        rows = conn.execute(
            f'SELECT projector, topic, "partition", error '
            f'FROM "{pg_schema}".projector_rejects'
        ).fetchall()
    assert len(rows) == 1
    projector, topic, partition, error = rows[0]
    assert (projector, topic, partition) == ("replay", court, 0)
    assert error.startswith("decode: ")


def test_the_content_digest_covers_the_history_the_as_of_views_read(
    published: Settings, pg_schema: str
) -> None:
    """Removing believed versions of a history table (what `query --as-of` and the
    audit read) changes the content digest, and the diff names that table; versions
    no longer believed (known_to set) are not content."""
    other = f"{pg_schema}_h"
    replay(published, pg_schema, fresh=True)
    replay(published, other, fresh=True)
    try:
        with psycopg.connect(published.postgres_url, autocommit=True) as conn:
            assert (
                digest_schema(conn, pg_schema).sha256
                == digest_schema(conn, other).sha256
            )
            gone = conn.execute(
                f'DELETE FROM "{other}".violations_history WHERE obligation_id IN '
                f'(SELECT obligation_id FROM "{other}".violations_history '
                "WHERE known_to IS NULL AND NOT withdrawn LIMIT 1)"
            ).rowcount
            assert gone > 0
            assert (
                digest_schema(conn, pg_schema).sha256
                != digest_schema(conn, other).sha256
            )
            differing = [d.table for d in diff_schemas(conn, pg_schema, other)
                         if not d.equal]  # fmt: skip
            assert differing == ["violations_history"]
    finally:
        _drop(published, other)


def test_the_same_acts_recorded_after_a_later_tick_give_the_same_violations(
    ledger_topics: LedgerTopics, pg_schema: str, tmp_path: Path
) -> None:
    """LC-024 (shielded on 2024-04-15, three days late) recorded before any tick,
    and a copy of it recorded only after the clock reached 2026-04-01: the copy's
    violations read the same (answered late by the shielding on 2024-04-15, not
    "no answer by the clock tick" of 2026-04-01), in the tables and in the
    `--as-of` history between the missed day and the late answer."""
    from processors.clock import publish_ticks
    from projections.query import as_of

    settings = ledger_topics.settings
    record = next(
        line
        for line in (REPO_ROOT / "data" / "lifecycles.jsonl").read_text().splitlines()
        if '"LC-024"' in line
    )
    copy = record.replace("LC-024", "LC-924").replace("执6497号", "执9497号")
    copy = copy.replace("990000241", "990000941")
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text(record + "\n", "utf-8")
    second.write_text(copy + "\n", "utf-8")
    assert sum(r.rejected for r in publish_files([first], settings=settings)) == 0
    publish_ticks(settings, datetime(2026, 4, 1, tzinfo=SHANGHAI))
    assert sum(r.rejected for r in publish_files([second], settings=settings)) == 0
    replay(settings, pg_schema, fresh=True)

    def told(at: datetime | None) -> dict[str, list[tuple[Any, ...]]]:
        with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
            rows = as_of(conn, "violations", at, schema=pg_schema)
        by_case: dict[str, list[tuple[Any, ...]]] = {}
        for r in rows:
            case = "copy" if "9497" in r["listing_id"] else "original"
            by_case.setdefault(case, []).append(
                (r["rule_id"], str(r["due_date"]), r["detected_by"],
                 (r["response_event"] or "").replace("LC-924", "LC-024"),
                 str(r["actual_date"]), r["valid_from"])
            )  # fmt: skip
        return {case: sorted(found) for case, found in by_case.items()}

    now = told(None)
    assert len(now["original"]) == 3 and now["copy"] == now["original"]
    assert {row[2:5] for row in now["copy"]} == {("ANSWER", "LC-024-E10", "2024-04-15")}
    missed = told(datetime(2024, 4, 14, 12, tzinfo=SHANGHAI))  # due 04-12, not yet
    assert missed["copy"] == missed["original"]
    assert {row[2:5] for row in missed["copy"]} == {("TICK", "", "None")}

    # and the obligations: the agencies' releases (on time) were judged overdue for
    # a moment in the copy (the clock was past their due day when the acts came);
    # taken back, they leave no obligation row, as in the original
    with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
        cur = conn.execute(f'SELECT * FROM "{pg_schema}".obligations')
        names = [c.name for c in cur.description or []]
        found = [dict(zip(names, r, strict=True)) for r in cur]
    skip = PROCESSING_COLUMNS | {"valid_to"}
    by_case: dict[str, set[str]] = {"copy": set(), "original": set()}
    for r in found:
        case = "copy" if "9497" in r["listing_id"] else "original"
        text = json.dumps({k: v for k, v in r.items() if k not in skip}, default=str)
        by_case[case].add(text.replace("LC-924", "LC-024").replace("9497", "6497"))
    assert by_case["copy"] == by_case["original"] and len(by_case["copy"]) == 4


def test_a_piped_replay_reports_its_progress_in_lines(
    published: Settings, pg_schema: str
) -> None:
    """No terminal, no bar: the rate and the time left come as lines on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "shixin", "replay", "--into", pg_schema, "--fresh",
         "--batch", "50"],
        env=_env(published), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("replay: ")]
    assert lines and "records/s" in lines[-1] and "s left" in lines[-1]
    last = lines[-1].split()[1].replace(",", "")
    assert last.split("/")[0] == last.split("/")[1]  # the last one: all done
