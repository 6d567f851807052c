"""The query tables built from the sample data, on the real PostgreSQL server."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract.event import LedgerEvent, Position
from projections.check import check
from projections.migrate import MigrationError, migrate
from projections.query import as_of
from projections.store import apply_batch
from projections.synthetic import sample_items

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent
FULL_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
TABLES = (
    "events", "listings", "sanctions", "obligations", "violations", "listings_history",
    "sanctions_history", "obligations_history", "violations_history",
)  # fmt: skip


@pytest.fixture(scope="module")
def items() -> list[tuple[LedgerEvent, Position]]:
    return sample_items(ROOT)


@pytest.fixture(scope="module")
def lifecycles() -> dict[str, dict[str, Any]]:
    with (ROOT / "data" / "lifecycles.jsonl").open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    return {r["lifecycle_id"]: r for r in records}


def project(
    conn: psycopg.Connection,
    schema: str,
    items: list[tuple[LedgerEvent, Position]],
    batch: int,
) -> None:
    migrate(conn, schema)
    for start in range(0, len(items), batch):
        with conn.transaction():
            apply_batch(conn, schema, items[start : start + batch])
    conn.execute(f'SET search_path TO "{schema}"')


def listing_of(conn: psycopg.Connection, lifecycle: dict[str, Any]) -> dict[str, Any]:
    cur = conn.execute(
        "SELECT * FROM listings WHERE subject_id = %s AND case_number = %s",
        (lifecycle["debtor"]["id_number"], lifecycle["case_number"]),
    )
    columns = [d.name for d in cur.description or ()]
    found = cur.fetchall()
    assert len(found) == 1, f"listing of {lifecycle['lifecycle_id']}: {found}"
    return dict(zip(columns, found[0], strict=True))


def test_sample_listings_reach_their_final_states(
    conn: psycopg.Connection, pg_schema: str, items: Any, lifecycles: Any
) -> None:
    project(conn, pg_schema, items, 500)

    assert conn.execute("SELECT count(*) FROM listings").fetchone() == (300,)
    expected = {
        "LC-001": "SHIELDED",
        "LC-013": "REVOKED",
        "LC-043": "DELETED",
        "LC-057": "RELISTED",
        "LC-039": "NOT_FOR_PUBLICATION",
        "LC-053": "PUBLISHED",
    }
    got = {lc: listing_of(conn, lifecycles[lc])["state"] for lc in expected}
    assert got == expected
    lc001 = listing_of(conn, lifecycles["LC-001"])
    assert lc001["masked_id"] == lifecycles["LC-001"]["debtor"]["published_card_number"]
    assert lc001["court_code"] == "闽01"


def test_sample_sanction_states_follow_the_agencies(
    conn: psycopg.Connection, pg_schema: str, items: Any, lifecycles: Any
) -> None:
    project(conn, pg_schema, items, 500)

    listing = listing_of(conn, lifecycles["LC-034"])["listing_id"]
    states: dict[str, str] = dict(
        conn.execute(
            "SELECT measure_code, state FROM sanctions WHERE listing_id = %s",
            (listing,),
        ).fetchall()
    )
    assert states == {
        "FINANCIAL_REGULATION.CREDIT_GRANTING": "RELEASED",
        "TAX.TAX_CREDIT_DOWNGRADE": "RELEASED",
        "NDRC.PUBLIC_BIDDING": "RETAINED",
    }


def test_violations_match_the_sample_verdicts(
    conn: psycopg.Connection, pg_schema: str, items: Any, lifecycles: Any
) -> None:
    project(conn, pg_schema, items, 500)

    expected = {
        (c["rule_id"], c["trigger_event"])
        for record in lifecycles.values()
        for c in record["checks"]
        if c["verdict"] in ("VIOLATION", "OUT_OF_TIME")
    }
    got = set(conn.execute("SELECT rule_id, trigger_event FROM violations").fetchall())
    assert got == expected
    figures = conn.execute("SELECT sum(violated + late) FROM accountability").fetchone()
    assert figures is not None and figures[0] >= len(expected)


def test_public_view_never_shows_a_full_id_or_an_ended_listing(
    conn: psycopg.Connection, pg_schema: str, items: Any
) -> None:
    project(conn, pg_schema, items, 500)

    public = conn.execute(
        "SELECT p.card_number, l.state, l.subject_id FROM public_listings p "
        "JOIN listings l USING (listing_id)"
    ).fetchall()
    assert public
    for card_number, state, subject_id in public:
        assert not FULL_RESIDENT_ID.match(card_number or "")
        assert state == "PUBLISHED"
        if subject_id and subject_id[:17].isdigit():
            assert card_number != subject_id
    ended = conn.execute(
        "SELECT count(*) FROM public_listings JOIN listings USING (listing_id) "
        "WHERE listings.state IN ('SHIELDED', 'REVOKED', 'DELETED', 'EXPIRED')"
    ).fetchone()
    assert ended == (0,)
    shielded = conn.execute(
        "SELECT count(*) FROM listings WHERE state = 'SHIELDED'"
    ).fetchone()
    assert shielded is not None and shielded[0] > 0


def digest(conn: psycopg.Connection, schema: str, table: str) -> str:
    row = conn.execute(
        f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f'FROM "{schema}"."{table}" t'
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_projecting_twice_in_different_batches_and_orders_gives_identical_tables(
    conn: psycopg.Connection, pg_schema: str, items: Any
) -> None:
    other = f"{pg_schema}_b"
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    try:
        project(conn, pg_schema, items, 500)
        project(conn, other, shuffled, 97)
        project(conn, other, items[:300], 50)  # seen before: skipped
        for table in TABLES:
            assert digest(conn, pg_schema, table) == digest(conn, other, table), table
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')


def test_as_of_answers_before_during_and_after_shielding(
    conn: psycopg.Connection, pg_schema: str, items: Any, lifecycles: Any
) -> None:
    project(conn, pg_schema, items, 500)
    listing = listing_of(conn, lifecycles["LC-001"])
    shield_known = conn.execute(
        "SELECT broker_time FROM events WHERE source_event_id = 'LC-001-E11'"
    ).fetchone()
    assert shield_known is not None

    def state(at: str, known_at: datetime | None = None) -> list[str]:
        found = as_of(
            conn,
            "listings",
            datetime.fromisoformat(at),
            known_at,
            listing["listing_id"],
            schema=pg_schema,
        )
        return [r["state"] for r in found]

    assert state("2016-12-01T00:00:00+08:00") == []  # before the case was filed
    assert state("2017-10-01T00:00:00+08:00") == ["PENDING"]  # filed, not listed
    assert state("2017-11-01T00:00:00+08:00") == ["PUBLISHED"]
    assert state("2017-11-24T09:06:00+08:00") == ["PUBLISHED"]
    assert state("2017-11-24T09:08:00+08:00") == ["SHIELDED"]
    assert state("2025-01-01T00:00:00+08:00") == ["SHIELDED"]
    # as the ledger knew it just before it recorded the shielding
    before = shield_known[0] - timedelta(milliseconds=1)
    assert state("2025-01-01T00:00:00+08:00", before) == ["PUBLISHED"]
    assert state("2025-01-01T00:00:00+08:00", datetime(2000, 1, 1, tzinfo=UTC)) == []


def test_check_intercepts_only_enforceable_measures(
    conn: psycopg.Connection, pg_schema: str, items: Any, lifecycles: Any
) -> None:
    project(conn, pg_schema, items, 500)

    listed = check(conn, lifecycles["LC-053"]["debtor"]["id_number"], schema=pg_schema)
    assert listed.intercept
    assert {m.measure_code for m in listed.active} == {
        "CULTURE_TOURISM.OUTBOUND_GROUP_TRAVEL",
        "RAILWAY.TRAIN_RESTRICTION",
    }
    railway = check(
        conn,
        lifecycles["LC-053"]["debtor"]["id_number"],
        agency="RAILWAY",
        schema=pg_schema,
    )
    assert [m.agency for m in railway.active] == ["RAILWAY"]

    shielded = check(
        conn, lifecycles["LC-001"]["debtor"]["id_number"], schema=pg_schema
    )
    assert not shielded.intercept

    # retained with a legal basis until 2019-07-17 (LC-033): active until then
    retained = lifecycles["LC-033"]["debtor"]["id_number"]
    last_day = datetime(2019, 7, 17, 12, tzinfo=UTC)
    day_after = datetime(2019, 7, 18, 12, tzinfo=UTC)
    during = check(conn, retained, schema=pg_schema, at=last_day)
    after = check(conn, retained, schema=pg_schema, at=day_after)
    assert [m.measure_code for m in during.active] == ["PBOC.CREDIT_REPORTING_RECORD"]
    assert not after.intercept
    # retained without a legal basis (LC-034): never enforceable
    unfounded = lifecycles["LC-034"]["debtor"]["id_number"]
    at = datetime(2020, 6, 1, tzinfo=UTC)
    assert not check(conn, unfounded, schema=pg_schema, at=at).intercept


def test_check_lookup_uses_the_subject_index(
    conn: psycopg.Connection, pg_schema: str, items: Any
) -> None:
    from projections.check import LOOKUP

    project(conn, pg_schema, items, 500)
    conn.execute("ANALYZE listings")
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN " + LOOKUP,
                {"subject": "35010219850315041X", "org_code": None, "agency": None,
                 "measure": None},
            )
        )  # fmt: skip
    assert "listings_subject_idx" in plan


def test_a_changed_migration_is_an_error(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    assert migrate(conn, pg_schema) == [1, 2, 3]
    assert migrate(conn, pg_schema) == []
    conn.execute(
        f'UPDATE "{pg_schema}".schema_migrations SET checksum = %s WHERE version = 1',
        ("0" * 64,),
    )
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(conn, pg_schema)


def test_a_fold_cache_across_batches_gives_identical_tables(
    conn: psycopg.Connection, pg_schema: str, items: Any
) -> None:
    from projections.store import FoldCache

    other = f"{pg_schema}_c"
    shuffled = items[:]
    random.Random(11).shuffle(shuffled)
    try:
        project(conn, pg_schema, items, 500)
        migrate(conn, other)
        cache = FoldCache(limit=50)  # small: entities are also forgotten and reread
        for start in range(0, len(shuffled), 113):
            with conn.transaction():
                apply_batch(conn, other, shuffled[start : start + 113], cache)
        assert cache.hits > 0 and cache.misses > 0 and len(cache) == 50
        for table in TABLES:
            assert digest(conn, pg_schema, table) == digest(conn, other, table), table
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')


@pytest.mark.parametrize("fact_limit", [5_000, 7])
def test_facts_kept_from_an_empty_schema_give_identical_tables(
    conn: psycopg.Connection,
    pg_schema: str,
    items: Any,
    fact_limit: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A recompute reads the listing's facts from the cache when the schema was
    empty at the start (all its facts passed through the cache), from the events
    table only for listings whose facts were forgotten."""
    from projections import store
    from projections.store import FoldCache

    read_back: list[str] = []
    load_facts = store._load_facts

    def counting(conn: psycopg.Connection, listing_ids: list[str]) -> Any:
        read_back.extend(listing_ids)
        return load_facts(conn, listing_ids)

    other = f"{pg_schema}_f"
    shuffled = items[:]
    random.Random(5).shuffle(shuffled)  # out of order: entities are recomputed
    try:
        project(conn, pg_schema, items, 500)
        migrate(conn, other)
        monkeypatch.setattr(store, "_load_facts", counting)
        predicted: dict[Any, bool] = {}
        rebuilt: dict[Any, bool] = {}
        foresee, plan = store.rows.needs_recompute, store.rows.plan

        def foreseeing(kind: str, prior: Any, facts: Any) -> bool:
            predicted[(kind, facts[0].event_id)] = answer = foresee(kind, prior, facts)
            return answer

        def planning(kind: str, key: Any, prior: Any, facts: Any, every: Any) -> Any:
            change = plan(kind, key, prior, facts, every)
            rebuilt[(kind, facts[0].event_id)] = change.recompute
            return change

        monkeypatch.setattr(store.rows, "needs_recompute", foreseeing)
        monkeypatch.setattr(store.rows, "plan", planning)
        cache = FoldCache(fact_limit=fact_limit, empty=True)
        recomputed = 0
        for start in range(0, len(shuffled), 97):
            with conn.transaction():
                result = apply_batch(conn, other, shuffled[start : start + 97], cache)
            recomputed += result.recomputed
        assert recomputed > 0
        assert predicted == rebuilt  # the facts read up front are the ones needed
        if fact_limit == 5_000:
            assert read_back == []
        else:
            assert read_back  # forgotten listings are read back, then kept again
        for table in TABLES:
            assert digest(conn, pg_schema, table) == digest(conn, other, table), table
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')


def test_a_cleared_fact_cache_reads_facts_back() -> None:
    """After a failed batch (`clear()`), facts committed before are no longer
    assumed absent: a listing new to the cache is read back, not started empty."""
    from projections.rows import Fact, Knowledge
    from projections.store import FoldCache

    def fact(event_id: str) -> Fact:
        return Fact(
            event_id, "LISTING_DECISION_MADE", "L-1", False, "2024-01-01", "COURT",
            None, None, "CN", None, None, None, None, {},
            Knowledge("2024-01-01", "t", 0, 0),
        )  # fmt: skip

    cache = FoldCache(empty=True)
    cache.add_facts("s", [fact("e1")])
    assert [f.event_id for f in cache.facts("s", "L-1") or []] == ["e1"]
    cache.clear()
    cache.add_facts("s", [fact("e2")])
    assert cache.facts("s", "L-1") is None


def test_an_entry_decided_but_not_publishable_stays_off_the_public_list(
    conn: psycopg.Connection, pg_schema: str, items: Any, lifecycles: Any
) -> None:
    project(conn, pg_schema, items, 500)

    snapshot = [
        e
        for e, _ in items
        if e.event_type == "LISTING_RECORD_PUBLISHED"
        and e.payload.get("published") is False
    ]
    assert len(snapshot) == 1  # LC-038 in data/listings.jsonl
    lc038 = listing_of(conn, lifecycles["LC-038"])
    assert lc038["listing_id"] == snapshot[0].listing_id
    assert lc038["publishable"] is False
    assert lc038["state"] != "PUBLISHED"
    shown = conn.execute(
        "SELECT count(*) FROM public_listings WHERE listing_id = %s",
        (lc038["listing_id"],),
    ).fetchone()
    assert shown == (0,)


def _violation(obligation: str, withdrawn: bool) -> dict[str, Any]:
    at = datetime(2024, 4, 9, 2, tzinfo=UTC)
    return {
        "obligation_id": obligation, "listing_id": "L-V", "rule_id": "R.1",
        "rule_source": "test", "policy_version": "R/v1", "obligor": "AUTHORITY",
        "responsible_kind": "COURT", "responsible_code": "闽0203",
        "trigger_event": f"{obligation}-T", "triggered_at": at,
        "due_date": date(2024, 4, 12), "due_at": None, "provisional": False,
        "verdict": "VIOLATION", "detected_by": "TICK", "response_event": None,
        "actual_date": None, "reason": "late", "violated_event": f"{obligation}-V",
        "answer_event": None, "answered_at": None, "withdrawn": withdrawn,
        "last_event": f"{obligation}-L", "valid_from": at, "valid_to": None,
        "known_from": at, "known_to": None, "known_topic": "court",
        "known_partition": 0, "known_offset": 1,
    }  # fmt: skip


@pytest.fixture
def violations(conn: psycopg.Connection, pg_schema: str) -> str:
    """A schema whose violations at 2024-04-20 are one standing, one withdrawn."""
    migrate(conn, pg_schema)
    for row in (_violation("O-STANDING", False), _violation("O-WITHDRAWN", True)):
        conn.execute(
            f'INSERT INTO "{pg_schema}".violations_history ({", ".join(row)}) '
            f"VALUES ({', '.join(['%s'] * len(row))})",
            list(row.values()),
        )
    # the event the violations were projected from: the schema is built
    conn.execute(
        f'INSERT INTO "{pg_schema}".events (event_id, event_type, listing_id, '
        'derived, occurred_at, broker_time, topic, partition, "offset", '
        "actor_kind, jurisdiction, payload) VALUES ('E-1', 'CLOCK_TICK', 'L-1', "
        "false, '2024-04-19T16:00:00Z', '2024-04-19T16:00:00Z', 'clock', 0, 0, "
        "'SYSTEM', 'CN-35', '{}')"
    )
    return pg_schema


AT = datetime.fromisoformat("2024-04-20T00:00:00+08:00")


def test_as_of_leaves_withdrawn_violations_out_unless_asked(
    conn: psycopg.Connection, violations: str
) -> None:
    standing = as_of(conn, "violations", AT, schema=violations)
    assert [(r["obligation_id"], r["withdrawn"]) for r in standing] == [
        ("O-STANDING", False)
    ]
    every = as_of(conn, "violations", AT, schema=violations, include_withdrawn=True)
    assert [(r["obligation_id"], r["withdrawn"]) for r in every] == [
        ("O-STANDING", False),
        ("O-WITHDRAWN", True),
    ]


def test_query_command_marks_withdrawn_violations(
    conn: psycopg.Connection,
    violations: str,
    pg_conninfo: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from shixin.cli import app
    from shixin.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pg_conninfo)
    get_settings.cache_clear()
    try:
        args = ["query", "violations", "--as-of", AT.isoformat(), "--schema",
                violations]  # fmt: skip
        plain = CliRunner().invoke(app, args)
        shown = CliRunner().invoke(app, [*args, "--include-withdrawn"])
        as_json = CliRunner().invoke(app, [*args, "--include-withdrawn", "--json"])
    finally:
        get_settings.cache_clear()

    assert plain.exit_code == 0, plain.output
    assert "O-STANDING" in plain.stdout and "O-WITHDRAWN" not in plain.stdout
    assert plain.stdout.splitlines()[-1] == "(1 rows)"
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == [
        "obligation_id=O-STANDING",
        "WITHDRAWN",
    ]
    assert "obligation_id=O-WITHDRAWN" in lines[1]
    assert lines[-1] == "(2 rows, 1 withdrawn)"
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["withdrawn"] for r in rows] == [False, True]
    assert all(r["valid_from"].endswith("+00:00") for r in rows)  # UTC, any host TZ


def test_query_of_a_listing_the_schema_does_not_know_is_refused(
    violations: str, pg_conninfo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty answer is given for a listing the schema knows (by an event or a
    row version); an unknown id is a mistyped one, exit 2 naming it."""
    from typer.testing import CliRunner

    from shixin.cli import app
    from shixin.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pg_conninfo)
    get_settings.cache_clear()
    args = ["query", "violations", "--schema", violations, "--as-of", AT.isoformat()]
    try:
        answers = {
            listing: CliRunner().invoke(app, [*args, "--listing", listing])
            for listing in ("L-V", "L-1", "L-NOSUCH")
        }
    finally:
        get_settings.cache_clear()
    assert answers["L-V"].exit_code == 0, answers["L-V"].output
    assert "O-STANDING" in answers["L-V"].stdout
    assert answers["L-1"].exit_code == 0, answers["L-1"].output
    assert answers["L-1"].stdout.splitlines()[-1] == "(0 rows)"
    refused = answers["L-NOSUCH"]
    assert refused.exit_code == 2
    assert "--listing 'L-NOSUCH': no event of that listing" in refused.output


@pytest.mark.parametrize(
    ("given", "refused"),
    [
        ("2024-04-20", "has no time zone"),
        ("2024-04-20T00:00:00", "has no time zone"),
        ("2024-04-20T25:00:00+08:00", "not an ISO-8601"),
        ("9999-01-01T00:00:00+08:00", "1950"),
    ],
)
def test_query_instants_need_an_offset_as_replay_until_does(
    violations: str, pg_conninfo: str, monkeypatch: pytest.MonkeyPatch,
    given: str, refused: str,
) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from shixin.cli import app
    from shixin.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pg_conninfo)
    get_settings.cache_clear()
    try:
        args = ["query", "violations", "--schema", violations, "--as-of"]
        bad = CliRunner().invoke(app, [*args, given])
        fine = CliRunner().invoke(app, [*args, "2024-04-20T00:00:00.5+08:00"])
    finally:
        get_settings.cache_clear()
    assert bad.exit_code == 2 and refused in bad.output.replace("\n", " ")
    assert fine.exit_code == 0, fine.output


def test_an_event_id_met_again_with_other_content_is_named_and_the_first_stands(
    conn: psycopg.Connection, pg_schema: str, items: Any
) -> None:
    """A redelivery (same id, same content) is skipped quietly; the same id with
    another payload or instant, later or in the same batch, is a contradiction
    naming what differs; the tables keep the first."""
    from dataclasses import replace

    project(conn, pg_schema, items, 500)
    before = {t: digest(conn, pg_schema, t) for t in TABLES}
    event, position = next(
        (e, p) for e, p in items if e.event_type == "LISTING_DECISION_MADE"
    )
    other = replace(event, payload={**event.payload, "document": "另一份决定书"})
    later = replace(event, occurred_at=event.occurred_at + timedelta(days=1))

    with conn.transaction():
        again = apply_batch(conn, pg_schema, [(event, position)])
    assert (again.skipped, again.contradictions) == (1, ())
    with conn.transaction():
        result = apply_batch(conn, pg_schema, [(other, position), (later, position)])
    # in the batch, `later` differs from `other` (met first); `other` from the table
    assert [c.fields for c in result.contradictions] == [
        ("occurred_at", "payload"),
        ("payload",),
    ]
    assert {c.event_id for c in result.contradictions} == {event.event_id}
    assert "applied before with other payload" in result.contradictions[1].error
    with conn.transaction():
        result = apply_batch(conn, pg_schema, [(later, position)])
    assert [c.fields for c in result.contradictions] == [("occurred_at",)]
    assert {t: digest(conn, pg_schema, t) for t in TABLES} == before
