"""Interception check on the real PostgreSQL server: legal representatives, plans."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

import psycopg
import pytest

from contract.event import Actor, LedgerEvent, Position
from projections.check import (
    LEGAL_REPRESENTATIVE,
    LOOKUP,
    SHANGHAI,
    CodeError,
    NotProjected,
    as_of_statement,
    check,
    lookup_params,
    projected_as_of,
)
from projections.migrate import migrate
from projections.store import apply_batch

pytestmark = pytest.mark.services

COURT = Actor(kind="COURT", code="闽0211", name="厦门市集美区人民法院")
LEDGER = Actor(kind="LEDGER", code="rules-engine")
T0 = datetime(2021, 3, 1, 2, 0, tzinfo=UTC)
USCC = "91350211MA3H4AUT51"
ORG_CODE = "MA3H4AUT5"
REP_ID = "350211196912234297"
ORG_NAME = "厦门市珀璟房地产开发有限责任公司"
RAILWAY = "RAILWAY.TRAIN_RESTRICTION"
PROCUREMENT = "FINANCE.GOV_PROCUREMENT"


def sanction(measure: str, state: str, day: int) -> dict[str, Any]:
    return {
        "agency": measure.split(".")[0], "measure_code": measure, "state": state,
        "previous_state": None, "since": T0 + timedelta(days=day), "reason": None,
        "legal_basis": None, "retained_until": None, "trigger_event": f"E-{day}",
    }  # fmt: skip


def org_listing(shielded: bool) -> list[tuple[LedgerEvent, Position]]:
    debtor = {
        "name": ORG_NAME, "entity_type": "LEGAL_PERSON", "id_number": USCC,
        "published_card_number": ORG_CODE, "legal_representative": "吴龙聪",
        "legal_rep_id_number": REP_ID,
    }  # fmt: skip
    acts: list[tuple[str, Actor, int, dict[str, Any]]] = [
        ("DEBTOR_IDENTIFIED", COURT, 0, {"case_number": "（2021）闽0211执9号",
                                         "debtor": debtor}),
        ("LISTING_DECISION_MADE", COURT, 1, {"conduct_codes": ["ABILITY_REFUSAL"]}),
        ("LISTING_PUBLISHED", COURT, 2, {}),
        ("SANCTION_STATE_CHANGED", LEDGER, 3, sanction(RAILWAY, "APPLIED", 3)),
        ("SANCTION_STATE_CHANGED", LEDGER, 4, sanction(PROCUREMENT, "APPLIED", 4)),
    ]  # fmt: skip
    if shielded:
        acts.append(("LISTING_SHIELDED", COURT, 9, {}))
    items = []
    for n, (event_type, actor, day, payload) in enumerate(acts):
        event = LedgerEvent(
            event_id=f"ORG-{n}",
            event_type=event_type,
            listing_id="L-ORG",
            occurred_at=T0 + timedelta(days=day),
            actor=actor,
            jurisdiction="CN-35",
            payload=payload,
            seq=n,
        )
        items.append((event, Position("court", 0, n, T0 + timedelta(days=30 + n))))
    return items


def test_legal_representative_is_bound_by_the_consumption_bans_only(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=False))

    as_org = check(conn, USCC, schema=pg_schema, at=T0 + timedelta(days=20))
    assert {m.measure_code for m in as_org.active} == {RAILWAY, PROCUREMENT}
    assert {m.role for m in as_org.active} == {"DEBTOR"}
    by_code = check(conn, ORG_CODE, schema=pg_schema, at=T0 + timedelta(days=20))
    assert {m.measure_code for m in by_code.active} == {RAILWAY, PROCUREMENT}

    rep = check(conn, REP_ID, schema=pg_schema, at=T0 + timedelta(days=20))
    assert rep.intercept
    assert [(m.measure_code, m.role) for m in rep.active] == [
        (RAILWAY, LEGAL_REPRESENTATIVE)
    ]
    assert rep.active[0].bound_as == (
        f"bound as legal representative of {ORG_NAME} ({ORG_CODE})"
    )
    assert rep.as_dict()["active"][0]["bound_as"].startswith("bound as legal rep")
    assert not check(conn, REP_ID, agency="FINANCE", schema=pg_schema).intercept


def test_legal_representative_is_clear_once_the_listing_ends(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=True))

    rep = check(conn, REP_ID, schema=pg_schema, at=T0 + timedelta(days=20))
    assert not rep.intercept
    assert [m.measure_code for m in rep.stale] == [RAILWAY]


def test_each_identifier_role_is_one_index_scan(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=False))
    conn.execute(f'SET search_path TO "{pg_schema}"')
    conn.execute("ANALYZE listings")
    conn.execute("ANALYZE sanctions")
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN " + LOOKUP, lookup_params(USCC, ORG_CODE, None, None)
            )
        )
    for index in (
        "listings_subject_idx",
        "listings_org_code_idx",
        "listings_legal_rep_idx",
        "sanctions_pkey",
    ):
        assert index in plan, plan
    assert "Bitmap" not in plan, plan


def test_agency_and_measure_are_matched_in_any_case(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=False))
    at = T0 + timedelta(days=20)

    for agency, measure in (
        ("railway", None),
        ("Railway", None),
        (" ＲＡＩＬＷＡＹ ", None),  # full width, with the spaces of a paste
        (None, "railway.train_restriction"),
        ("RAILWAY", "Railway.Train_Restriction"),
    ):
        found = check(conn, USCC, agency, measure, schema=pg_schema, at=at)
        assert found.intercept, (agency, measure)
        assert [m.measure_code for m in found.active] == [RAILWAY]
    # the legal representative too: the ban binds them whatever the spelling
    assert check(conn, REP_ID, "railway", schema=pg_schema, at=at).intercept


@pytest.mark.parametrize(
    ("agency", "measure", "message"),
    [
        ("NOPE", None, r"agency 'NOPE' is not an agency code: expected one of .*PBOC"),
        ("", None, r"agency '' is not an agency code"),
        (
            None,
            "credit",
            r"measure 'credit' is not a measure code.*: expected "
            r"AGENCY.MEASURE.*PBOC.CREDIT_REPORTING_RECORD",
        ),
        (None, "NOPE.CREDIT", r"measure 'NOPE.CREDIT' is not a measure code"),
        (None, "PBOC", r"measure 'PBOC' is not a measure code"),
    ],
)
def test_codes_outside_the_catalogue_are_refused_not_clear(
    conn: psycopg.Connection,
    pg_schema: str,
    agency: str | None,
    measure: str | None,
    message: str,
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=False))

    with pytest.raises(CodeError, match=message):
        check(conn, USCC, agency, measure, schema=pg_schema)


def test_a_measure_outside_the_catalogue_is_refused() -> None:
    from contract import vocab
    from projections.check import normalized_measure

    assert normalized_measure("pboc.credit_reporting_record") == (
        "PBOC.CREDIT_REPORTING_RECORD"
    )
    if getattr(vocab, "MEASURES", None) is None:
        pytest.skip("contract.vocab has no closed list of measures")
    with pytest.raises(CodeError, match=r"expected one of PBOC's: PBOC\.CREDIT_REP"):
        normalized_measure("PBOC.NO_SUCH_MEASURE")


def test_tables_never_projected_into_have_no_as_of(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with pytest.raises(NotProjected, match=f"schema '{pg_schema}' is migrated but"):
        projected_as_of(conn, pg_schema)
    # the lookup itself cannot tell: it finds nothing, as for a clear subject
    assert not check(conn, USCC, schema=pg_schema).intercept

    items = org_listing(shielded=False)
    with conn.transaction():
        apply_batch(conn, pg_schema, items[:3])
    assert projected_as_of(conn, pg_schema) == T0 + timedelta(days=32)
    with conn.transaction():
        apply_batch(conn, pg_schema, items)  # the first three are seen before
    assert projected_as_of(conn, pg_schema) == T0 + timedelta(days=34)
    answer = check(conn, USCC, schema=pg_schema).with_data_as_of(T0)
    assert answer.as_dict()["data_as_of"] == T0


def test_the_as_of_is_one_index_probe(conn: psycopg.Connection, pg_schema: str) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=False))
    conn.execute(f'ANALYZE "{pg_schema}".events')
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            r[0] for r in conn.execute("EXPLAIN " + as_of_statement(pg_schema))
        )
    assert "events_broker_time_idx" in plan, plan
    assert "Sort" not in plan, plan


# --- a listing whose term has ended (SPC2017 art.10 para.2) -------------------------

PERSON_ID = "35020519710324517X"
HOTEL = "CULTURE_TOURISM.STAR_HOTEL"
# decided 2024-02-29T16:30Z = 2024-03-01 00:30 Asia/Shanghai: a 2-year term's last
# day is 2026-03-01 (counted from the UTC date it would be 2026-02-28)
DECIDED = datetime(2024, 2, 29, 16, 30, tzinfo=UTC)


def termed_listing(term: dict[str, Any]) -> list[tuple[LedgerEvent, Position]]:
    """A person listed with `term`, under a RAILWAY measure applied and a
    CULTURE_TOURISM one retained on its own basis until 2026-06-30; the court
    records neither the deletion nor the term's expiry."""
    debtor = {
        "name": "王五", "entity_type": "NATURAL_PERSON", "id_number": PERSON_ID,
        "published_card_number": "3502051971****517X",
    }  # fmt: skip
    retained = sanction(HOTEL, "RETAINED", 6) | {
        "legal_basis": "《某条例》第十条", "retained_until": "2026-06-30",
    }  # fmt: skip
    acts: list[tuple[str, Actor, timedelta, dict[str, Any]]] = [
        ("DEBTOR_IDENTIFIED", COURT, timedelta(days=-9),
         {"case_number": "（2024）闽0211执7号", "debtor": debtor}),
        ("LISTING_DECISION_MADE", COURT, timedelta(0),
         {"conduct_codes": ["EVADE_EXECUTION"], "listing_term": term}),
        ("LISTING_PUBLISHED", COURT, timedelta(days=2), {}),
        ("SANCTION_STATE_CHANGED", LEDGER, timedelta(days=3),
         sanction(RAILWAY, "APPLIED", 3) | {"since": DECIDED + timedelta(days=3)}),
        ("SANCTION_STATE_CHANGED", LEDGER, timedelta(days=6),
         retained | {"since": DECIDED + timedelta(days=6)}),
    ]  # fmt: skip
    items = []
    for n, (event_type, actor, offset, payload) in enumerate(acts):
        event = LedgerEvent(
            event_id=f"TERM-{n}",
            event_type=event_type,
            listing_id="L-TERM",
            occurred_at=DECIDED + offset,
            actor=actor,
            jurisdiction="CN-35",
            payload=payload,
            seq=n,
        )
        when = DECIDED + timedelta(days=30 + n)
        items.append((event, Position("court", 0, n, when)))
    return items


@pytest.fixture(params=["UTC", "Asia/Shanghai", "America/Los_Angeles"])
def host_tz(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The process time zone (TZ) for one test; it must not change any answer."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("term", "last_day"),
    [
        ({"years": 2}, date(2026, 3, 1)),  # counted as the rules engine counts it
        ({"years": 2, "expires": "2026-02-26"}, date(2026, 2, 26)),  # stated
    ],
)
def test_a_listing_whose_term_has_ended_is_not_intercepted_on(
    conn: psycopg.Connection,
    pg_schema: str,
    host_tz: str,
    term: dict[str, Any],
    last_day: date,
) -> None:
    conn.execute(f"SET TIME ZONE '{host_tz}'")  # the session's zone does not matter
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, termed_listing(term))
    # 23:59 and 00:01 Asia/Shanghai around the end of the last day, as UTC instants
    midnight = datetime.combine(last_day + timedelta(days=1), dt_time(0), SHANGHAI)
    last_minute = (midnight - timedelta(minutes=1)).astimezone(UTC)
    next_minute = (midnight + timedelta(minutes=1)).astimezone(UTC)

    on_last_day = check(conn, PERSON_ID, schema=pg_schema, at=last_minute)
    assert on_last_day.intercept
    assert [m.measure_code for m in on_last_day.active] == [HOTEL, RAILWAY]
    assert on_last_day.stale == []
    assert {m.term_expires for m in on_last_day.active} == {last_day}

    after = check(conn, PERSON_ID, schema=pg_schema, at=next_minute)
    (ended,) = after.stale
    assert (ended.measure_code, ended.listing_state) == (RAILWAY, "PUBLISHED")
    assert ended.stale_reason == (
        f"the term of listing L-TERM ended on {last_day.isoformat()}: its deletion "
        "is due (SPC2017 art.10 para.2, within 3 working days) and its measures are "
        f"not to be enforced from {(last_day + timedelta(days=1)).isoformat()}"
    )
    assert after.as_dict()["stale"][0]["stale_reason"] == ended.stale_reason
    # the retained measure stands on its own basis until its retained_until
    assert [m.measure_code for m in after.active] == [HOTEL]
    railway = check(conn, PERSON_ID, "RAILWAY", schema=pg_schema, at=next_minute)
    assert not railway.intercept
    assert [m.measure_code for m in railway.stale] == [RAILWAY]
    retained_end = datetime(2026, 7, 1, 0, 1, tzinfo=SHANGHAI)
    assert not check(conn, PERSON_ID, schema=pg_schema, at=retained_end).intercept


def test_a_listing_without_a_term_stays_active(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, termed_listing({"years": None}))
    years_later = datetime(2031, 1, 1, tzinfo=UTC)
    found = check(conn, PERSON_ID, "RAILWAY", schema=pg_schema, at=years_later)
    assert found.intercept and found.stale == []
    assert found.active[0].term_expires is None


def test_a_shielded_listing_is_stale_with_its_reason(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    migrate(conn, pg_schema)
    with conn.transaction():
        apply_batch(conn, pg_schema, org_listing(shielded=True))
    found = check(conn, USCC, schema=pg_schema, at=T0 + timedelta(days=20))
    assert [m.stale_reason for m in found.stale] == [
        "listing L-ORG is SHIELDED: not to be enforced, its release is owed"
    ] * 2
