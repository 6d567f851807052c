"""The auditors' questions (replay/questions.py) on tables projected straight from
events on the real PostgreSQL server (no broker, no rules engine).

`had_to_enforce` must give the answer `shixin check` gives on the same facts: a
listing whose term has ended is not to be enforced from the day after its last day,
whether or not the court has recorded the deletion it owes (SPC2017 art.10 para.2).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest

from contract.event import Actor, LedgerEvent, Position
from projections.check import SHANGHAI, check
from projections.migrate import migrate
from projections.store import apply_batch
from replay.questions import had_to_enforce

pytestmark = pytest.mark.services

COURT = Actor(kind="COURT", code="闽0211", name="厦门市集美区人民法院")
LEDGER = Actor(kind="LEDGER", code="rules-engine")
PERSON_ID = "35020519710324517X"
RAILWAY = "RAILWAY.TRAIN_RESTRICTION"
HOTEL = "CULTURE_TOURISM.STAR_HOTEL"
CREDIT = "PBOC.CREDIT_REPORTING_RECORD"
# decided 2024-02-29T16:30Z = 2024-03-01 00:30 Asia/Shanghai: a 2-year term's last
# day is 2026-03-01 (counted from the UTC date it would be 2026-02-28)
DECIDED = datetime(2024, 2, 29, 16, 30, tzinfo=UTC)
LAST_DAY = date(2026, 3, 1)
RETAINED_UNTIL = date(2026, 6, 30)


@pytest.fixture
def conn(pg_conninfo: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_conninfo, autocommit=True) as connection:
        yield connection


def sanction(measure: str, state: str, since: datetime) -> dict[str, Any]:
    return {
        "agency": measure.split(".")[0], "measure_code": measure, "state": state,
        "previous_state": None, "since": since, "reason": None,
        "legal_basis": None, "retained_until": None,
        "trigger_event": f"E-{measure}",
    }  # fmt: skip


def events(
    acts: list[tuple[str, Actor, datetime, dict[str, Any]]],
) -> list[tuple[LedgerEvent, Position]]:
    return [
        (
            LedgerEvent(
                event_id=f"Q-{n}",
                event_type=event_type,
                listing_id="L-Q",
                occurred_at=when,
                actor=actor,
                jurisdiction="CN-35",
                payload=payload,
                seq=n,
            ),
            Position("court", 0, n, when + timedelta(days=1)),
        )
        for n, (event_type, actor, when, payload) in enumerate(acts)
    ]


def termed_listing(
    *later: tuple[str, Actor, datetime, dict[str, Any]],
) -> list[tuple[LedgerEvent, Position]]:
    """A person listed for 2 years (last day 2026-03-01), under a RAILWAY measure
    applied and a CULTURE_TOURISM one retained on its own basis until 2026-06-30,
    then the acts `later`; the court records neither the deletion nor the term's
    expiry unless `later` does."""
    debtor = {
        "name": "王五", "entity_type": "NATURAL_PERSON", "id_number": PERSON_ID,
        "published_card_number": "3502051971****517X",
    }  # fmt: skip
    retained = sanction(HOTEL, "RETAINED", DECIDED + timedelta(days=6)) | {
        "legal_basis": "《某条例》第十条", "retained_until": RETAINED_UNTIL.isoformat(),
    }  # fmt: skip
    return events(
        [
            ("DEBTOR_IDENTIFIED", COURT, DECIDED - timedelta(days=9),
             {"case_number": "（2024）闽0211执7号", "debtor": debtor}),
            ("LISTING_DECISION_MADE", COURT, DECIDED,
             {"conduct_codes": ["EVADE_EXECUTION"], "listing_term": {"years": 2}}),
            ("LISTING_PUBLISHED", COURT, DECIDED + timedelta(days=2), {}),
            ("SANCTION_STATE_CHANGED", LEDGER, DECIDED + timedelta(days=3),
             sanction(RAILWAY, "APPLIED", DECIDED + timedelta(days=3))),
            ("SANCTION_STATE_CHANGED", LEDGER, DECIDED + timedelta(days=6), retained),
            *later,
        ]
    )  # fmt: skip


def project(
    conn: psycopg.Connection, schema: str, items: list[tuple[LedgerEvent, Position]]
) -> None:
    migrate(conn, schema)
    with conn.transaction():
        apply_batch(conn, schema, items)


def answer(conn: psycopg.Connection, schema: str, day: date) -> dict[str, Any]:
    """had_to_enforce's rows on `day`, by measure."""
    rows = had_to_enforce(conn, schema, PERSON_ID, day)
    return {row["measure_code"]: row for row in rows}


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), SHANGHAI)


def term_reason(last_day: date) -> str:
    return (
        f"the term of listing L-Q ended on {last_day.isoformat()}: its deletion is "
        "due (SPC2017 art.10 para.2, within 3 working days) and its measures are "
        f"not to be enforced from {(last_day + timedelta(days=1)).isoformat()}"
    )


def test_on_the_terms_last_day_the_measure_must_be_enforced(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    project(conn, pg_schema, termed_listing())
    on_last_day = answer(conn, pg_schema, LAST_DAY)
    railway = on_last_day[RAILWAY]
    assert (railway["listing_state"], railway["term_expires"]) == (
        "PUBLISHED",
        LAST_DAY,
    )
    assert railway["must_enforce"] is True
    assert railway["stale_reason"] is None


def test_from_the_day_after_the_terms_last_day_it_is_not_to_be_enforced(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    project(conn, pg_schema, termed_listing())
    day_after = answer(conn, pg_schema, LAST_DAY + timedelta(days=1))
    railway = day_after[RAILWAY]
    # the court has recorded no deletion: the listing is still PUBLISHED
    assert (railway["listing_state"], railway["measure_state"]) == (
        "PUBLISHED",
        "APPLIED",
    )
    assert railway["must_enforce"] is False
    assert railway["stale_reason"] == term_reason(LAST_DAY)


def test_a_measure_retained_on_its_own_basis_outlives_the_term(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    project(conn, pg_schema, termed_listing())
    for day in (LAST_DAY, LAST_DAY + timedelta(days=1), RETAINED_UNTIL):
        hotel = answer(conn, pg_schema, day)[HOTEL]
        assert (hotel["measure_state"], hotel["must_enforce"]) == ("RETAINED", True)
        assert hotel["stale_reason"] is None
    after = answer(conn, pg_schema, RETAINED_UNTIL + timedelta(days=1))[HOTEL]
    assert after["must_enforce"] is False


def test_the_term_is_the_one_in_force_on_the_day_asked_about(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    """The court deletes late (2026-03-10) and lists the debtor again for a new act
    (2026-05-01, 2 years): the listing's current term ends in 2028, but on
    2026-03-02 the term then in force had ended."""
    deleted = datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)
    relisted = datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)
    project(
        conn,
        pg_schema,
        termed_listing(
            ("LISTING_DELETED", COURT, deleted, {}),
            (
                "LISTING_DECISION_MADE",
                COURT,
                relisted,
                {"conduct_codes": ["EVADE_EXECUTION"], "listing_term": {"years": 2}},
            ),
        ),
    )
    current = conn.execute(
        f'SELECT term_expires FROM "{pg_schema}".listings WHERE listing_id = %s',
        ("L-Q",),
    ).fetchone()
    assert current == (date(2028, 5, 1),)

    ended = answer(conn, pg_schema, date(2026, 3, 2))[RAILWAY]
    assert (ended["term_expires"], ended["must_enforce"]) == (LAST_DAY, False)
    assert ended["stale_reason"] == term_reason(LAST_DAY)
    gone = answer(conn, pg_schema, date(2026, 3, 10))[RAILWAY]
    assert gone["must_enforce"] is False
    assert gone["stale_reason"] == "listing L-Q is DELETED: release overdue"
    again = answer(conn, pg_schema, date(2026, 5, 2))[RAILWAY]
    assert (again["listing_state"], again["term_expires"]) == (
        "RELISTED",
        date(2028, 5, 1),
    )
    assert again["must_enforce"] is True
    assert again["stale_reason"] is None


@pytest.mark.parametrize(
    "retention",
    [
        {"retained_until": RETAINED_UNTIL.isoformat()},  # no legal basis
        {"legal_basis": "《某条例》第十条"},  # no period
    ],
)
def test_a_retention_without_its_basis_is_not_to_be_enforced(
    conn: psycopg.Connection, pg_schema: str, retention: dict[str, Any]
) -> None:
    """Retained without a legal basis or without a period (LC-034): the check never
    intercepts on it, and the audit does not say it had to be enforced."""
    since = DECIDED + timedelta(days=8)
    retained = sanction(CREDIT, "RETAINED", since) | retention
    project(
        conn,
        pg_schema,
        termed_listing(("SANCTION_STATE_CHANGED", LEDGER, since, retained)),
    )
    assert not check(
        conn, PERSON_ID, "PBOC", schema=pg_schema, at=noon(date(2025, 1, 1))
    ).intercept
    credit = answer(conn, pg_schema, date(2025, 1, 1))[CREDIT]
    assert (credit["measure_state"], credit["must_enforce"]) == ("RETAINED", False)


@pytest.mark.parametrize(
    "day",
    [
        LAST_DAY - timedelta(days=1),
        LAST_DAY,
        LAST_DAY + timedelta(days=1),
        RETAINED_UNTIL,
        RETAINED_UNTIL + timedelta(days=1),
    ],
)
def test_the_audit_and_the_check_agree(
    conn: psycopg.Connection, pg_schema: str, day: date
) -> None:
    project(conn, pg_schema, termed_listing())
    found = check(conn, PERSON_ID, schema=pg_schema, at=noon(day))
    rows = answer(conn, pg_schema, day)
    assert {m for m, r in rows.items() if r["must_enforce"]} == {
        m.measure_code for m in found.active
    }
    assert {m: r["stale_reason"] for m, r in rows.items() if r["stale_reason"]} == {
        m.measure_code: m.stale_reason for m in found.stale
    }
