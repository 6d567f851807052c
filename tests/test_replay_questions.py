"""The auditors' questions (replay/questions.py) on tables projected straight from
events on the real PostgreSQL server (no broker, no rules engine).

`had_to_enforce` must give the answer `shixin check` gives on the same facts: a
listing whose term has ended is not to be enforced from the day after its last day,
whether or not the court has recorded the deletion it owes (SPC2017 art.10 para.2);
a subject is matched as the check matches it (a USCC also by the organisation code
inside it, a resident ID also as an organisation's legal representative, bound by
its consumption bans only; a masked number never).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest

from contract.event import Actor, LedgerEvent, Position
from projections.check import LEGAL_REPRESENTATIVE, SHANGHAI, SubjectError, check
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


def sanction(measure: str, state: str, since: datetime) -> dict[str, Any]:
    return {
        "agency": measure.split(".")[0], "measure_code": measure, "state": state,
        "previous_state": None, "since": since, "reason": None,
        "legal_basis": None, "retained_until": None,
        "trigger_event": f"E-{measure}",
    }  # fmt: skip


def events(
    acts: list[tuple[str, Actor, datetime, dict[str, Any]]],
    listing_id: str = "L-Q",
) -> list[tuple[LedgerEvent, Position]]:
    return [
        (
            LedgerEvent(
                event_id=f"{listing_id}-{n}",
                event_type=event_type,
                listing_id=listing_id,
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
    assert gone["stale_reason"] == (
        "listing L-Q is DELETED: not to be enforced, its release is owed"
    )
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


# --- organisations: legal representatives, organisation codes, masked numbers -------

USCC = "91350211MA3H4AUT51"
ORG_CODE = "MA3H4AUT5"
REP_ID = "350211196912234297"
ORG_NAME = "厦门市珀璟房地产开发有限责任公司"
PROCUREMENT = "FINANCE.GOV_PROCUREMENT"
PLATFORM = Actor(kind="PLATFORM", code=None, name="中国执行信息公开网")
ORG_LISTED = datetime(2024, 3, 4, 2, tzinfo=UTC)
IN_FORCE = date(2024, 6, 1)
SHIELDED_ON = date(2024, 9, 2)


def org_listing(
    *later: tuple[str, Actor, datetime, dict[str, Any]],
) -> list[tuple[LedgerEvent, Position]]:
    """An organisation whose court pushed its USCC and its legal representative's
    resident ID, under two consumption bans (RAILWAY, CULTURE_TOURISM) and a
    procurement ban, which binds the organisation alone; then the acts `later`."""
    debtor = {
        "name": ORG_NAME, "entity_type": "LEGAL_PERSON", "id_number": USCC,
        "published_card_number": ORG_CODE, "legal_representative": "吴龙聪",
        "legal_rep_id_number": REP_ID,
    }  # fmt: skip
    return events(
        [
            ("DEBTOR_IDENTIFIED", COURT, ORG_LISTED - timedelta(days=9),
             {"case_number": "（2024）闽0211执9号", "debtor": debtor}),
            ("LISTING_DECISION_MADE", COURT, ORG_LISTED,
             {"conduct_codes": ["ABILITY_REFUSAL"]}),
            ("LISTING_PUBLISHED", COURT, ORG_LISTED + timedelta(days=2), {}),
            *(
                ("SANCTION_STATE_CHANGED", LEDGER, ORG_LISTED + timedelta(days=3),
                 sanction(code, "APPLIED", ORG_LISTED + timedelta(days=3)))
                for code in (RAILWAY, HOTEL, PROCUREMENT)
            ),
            *later,
        ],
        "L-ORG",
    )  # fmt: skip


def shielded() -> tuple[str, Actor, datetime, dict[str, Any]]:
    return ("LISTING_SHIELDED", COURT, noon(SHIELDED_ON) - timedelta(days=1), {})


def platform_listing() -> list[tuple[LedgerEvent, Position]]:
    """The same organisation known only from the published list: the platform shows
    its organisation code (organisation numbers are published whole), never the
    USCC nor the legal representative's ID."""
    record = {
        "platform_record_id": 990000777, "debtor_name": ORG_NAME,
        "entity_type": "LEGAL_PERSON", "card_number": ORG_CODE,
        "legal_representative": "吴龙聪", "case_number": "（2024）闽0211执9号",
        "executing_court": COURT.name, "conduct_codes": ["ABILITY_REFUSAL"],
    }  # fmt: skip
    return events(
        [
            ("LISTING_RECORD_PUBLISHED", PLATFORM, ORG_LISTED, record),
            ("SANCTION_STATE_CHANGED", LEDGER, ORG_LISTED + timedelta(days=3),
             sanction(RAILWAY, "APPLIED", ORG_LISTED + timedelta(days=3))),
            ("SANCTION_STATE_CHANGED", LEDGER, ORG_LISTED + timedelta(days=3),
             sanction(PROCUREMENT, "APPLIED", ORG_LISTED + timedelta(days=3))),
        ],
        "L-PLATFORM",
    )  # fmt: skip


def rep_bound_as() -> str:
    return f"bound as legal representative of {ORG_NAME} ({ORG_CODE})"


def test_a_legal_representative_had_to_enforce_the_consumption_bans_only(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    project(conn, pg_schema, org_listing())
    rows = had_to_enforce(conn, pg_schema, REP_ID, IN_FORCE)
    assert [(r["measure_code"], r["role"], r["must_enforce"]) for r in rows] == [
        (HOTEL, LEGAL_REPRESENTATIVE, True),
        (RAILWAY, LEGAL_REPRESENTATIVE, True),
    ]
    assert {r["bound_as"] for r in rows} == {rep_bound_as()}
    assert {r["listing_id"] for r in rows} == {"L-ORG"}
    # the procurement ban binds the organisation alone
    assert had_to_enforce(conn, pg_schema, REP_ID, IN_FORCE, "FINANCE") == []
    # as the organisation, every measure, bound as debtor
    as_org = had_to_enforce(conn, pg_schema, USCC, IN_FORCE)
    assert [(r["measure_code"], r["role"], r["bound_as"]) for r in as_org] == [
        (HOTEL, "DEBTOR", "bound as debtor"),
        (PROCUREMENT, "DEBTOR", "bound as debtor"),
        (RAILWAY, "DEBTOR", "bound as debtor"),
    ]


def test_a_legal_representative_of_a_shielded_listing_need_not_be_enforced(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    project(conn, pg_schema, org_listing(shielded()))
    before = had_to_enforce(conn, pg_schema, REP_ID, SHIELDED_ON - timedelta(days=2))
    assert [r["must_enforce"] for r in before] == [True, True]
    rows = had_to_enforce(conn, pg_schema, REP_ID, SHIELDED_ON)
    assert [(r["measure_code"], r["role"], r["must_enforce"]) for r in rows] == [
        (HOTEL, LEGAL_REPRESENTATIVE, False),
        (RAILWAY, LEGAL_REPRESENTATIVE, False),
    ]
    assert {r["stale_reason"] for r in rows} == {
        "listing L-ORG is SHIELDED: not to be enforced, its release is owed"
    }


@pytest.mark.parametrize("subject", [USCC, USCC.lower(), f" {USCC[:9]}-{USCC[9:]} "])
def test_a_full_uscc_finds_the_listing_recorded_by_its_organisation_code(
    conn: psycopg.Connection, pg_schema: str, subject: str
) -> None:
    project(conn, pg_schema, platform_listing())
    rows = had_to_enforce(conn, pg_schema, subject, IN_FORCE)
    assert [(r["listing_id"], r["measure_code"], r["role"]) for r in rows] == [
        ("L-PLATFORM", PROCUREMENT, "DEBTOR"),
        ("L-PLATFORM", RAILWAY, "DEBTOR"),
    ]
    assert all(r["must_enforce"] for r in rows)
    # and by the code itself, as before
    by_code = had_to_enforce(conn, pg_schema, ORG_CODE, IN_FORCE)
    assert [r["measure_code"] for r in by_code] == [PROCUREMENT, RAILWAY]
    # the platform never shows the legal representative's ID: nothing binds them
    assert had_to_enforce(conn, pg_schema, REP_ID, IN_FORCE) == []


def test_a_masked_number_matches_nothing(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    """A person known only from the published list has no full ID: neither the
    check nor the audit finds the listing by the person's ID, and the masked
    number the platform shows is refused as a subject by both."""
    masked = "3502051971****517X"
    record = {
        "platform_record_id": 990000778, "debtor_name": "王五",
        "entity_type": "NATURAL_PERSON", "card_number": masked,
        "case_number": "（2024）闽0211执8号", "executing_court": COURT.name,
    }  # fmt: skip
    project(
        conn,
        pg_schema,
        events(
            [
                ("LISTING_RECORD_PUBLISHED", PLATFORM, ORG_LISTED, record),
                ("SANCTION_STATE_CHANGED", LEDGER, ORG_LISTED + timedelta(days=3),
                 sanction(RAILWAY, "APPLIED", ORG_LISTED + timedelta(days=3))),
            ],
            "L-MASKED",
        ),
    )  # fmt: skip
    assert had_to_enforce(conn, pg_schema, PERSON_ID, IN_FORCE) == []
    assert not check(conn, PERSON_ID, schema=pg_schema, at=noon(IN_FORCE)).active
    for subject in (masked, USCC[:10] + "****" + USCC[14:]):
        with pytest.raises(SubjectError, match="is a masked number"):
            check(conn, subject, schema=pg_schema, at=noon(IN_FORCE))
        with pytest.raises(SubjectError, match="is a masked number"):
            had_to_enforce(conn, pg_schema, subject, IN_FORCE)


@pytest.mark.parametrize("subject", [USCC, ORG_CODE, REP_ID])
@pytest.mark.parametrize("ended", [False, True], ids=["in-force", "shielded"])
def test_the_audit_and_the_check_agree_on_organisations(
    conn: psycopg.Connection, pg_schema: str, subject: str, ended: bool
) -> None:
    """On the same facts (the check reads the current tables, so the day asked
    about is after every act), each measure of the audit's answer is one the check
    answers, with the same listing, role, wording of the binding and reason; the
    platform's record of the organisation counts for its USCC and code, not for
    the representative."""
    later = [shielded()] if ended else []
    project(conn, pg_schema, org_listing(*later) + platform_listing())
    day = SHIELDED_ON if ended else IN_FORCE
    found = check(conn, subject, schema=pg_schema, at=noon(day))
    rows = had_to_enforce(conn, pg_schema, subject, day)

    def key(listing: str, measure: str, role: str, bound: str) -> tuple[str, ...]:
        return (listing, measure, role, bound)

    assert rows, "the subject is matched"
    assert found.stale if ended else found.active, "the check finds it too"
    assert [
        key(r["listing_id"], r["measure_code"], r["role"], r["bound_as"])
        for r in rows
        if r["must_enforce"]
    ] == [key(m.listing_id, m.measure_code, m.role, m.bound_as) for m in found.active]
    assert [
        (*key(r["listing_id"], r["measure_code"], r["role"], r["bound_as"]),
         r["stale_reason"])
        for r in rows
        if r["stale_reason"]
    ] == [
        (*key(m.listing_id, m.measure_code, m.role, m.bound_as), m.stale_reason)
        for m in found.stale
    ]  # fmt: skip


def test_the_history_of_a_listing_and_of_an_unknown_id(
    conn: psycopg.Connection, pg_schema: str
) -> None:
    from replay.questions import listing_history

    project(conn, pg_schema, termed_listing())
    history = listing_history(conn, pg_schema, "L-Q")
    took_effect = [row["took_effect"] for row in history]
    assert history and took_effect == sorted(took_effect)
    assert not any(row["derived"] for row in history)
    with pytest.raises(LookupError) as raised:
        listing_history(conn, pg_schema, "L-NOSUCH")
    assert "'L-NOSUCH'" in str(raised.value)
    assert "case number|masked id" in str(raised.value)
