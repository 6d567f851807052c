"""Bad input and an unavailable database at the command line: one clear line and a
documented exit status, never a traceback, and never CLEAR when nothing was checked.

The commands run in-process (`typer.testing.CliRunner`) against the session's
PostgreSQL server; the "database down" cases point DATABASE_URL at a closed port.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from contract.event import Actor, LedgerEvent, Position
from projections.cli import (
    EXIT_CLEAR,
    EXIT_INTERCEPT,
    EXIT_LISTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from projections.migrate import migrate
from projections.store import apply_batch
from shixin.cli import app
from shixin.settings import REPO_ROOT, get_settings

PERSON = "35020519710324517X"  # a valid resident ID (GB 11643 check digit)
USCC = "91350211MA3H4AUT51"
DOWN = "postgresql://postgres:secret@127.0.0.1:1/postgres"  # nothing listens there
T0 = datetime(2021, 3, 1, 2, 0, tzinfo=UTC)
COURT = Actor(kind="COURT", code="闽0211", name="厦门市集美区人民法院")
LEDGER = Actor(kind="LEDGER", code="rules-engine")


def org_listing(
    term: dict[str, Any] | None = None,
) -> list[tuple[LedgerEvent, Position]]:
    """An organisation listed and published, under a RAILWAY and a FINANCE measure
    (with the listing term `term`, if given)."""

    def sanction(measure: str, day: int) -> dict[str, Any]:
        return {
            "agency": measure.split(".")[0], "measure_code": measure,
            "state": "APPLIED", "previous_state": None,
            "since": T0 + timedelta(days=day), "reason": None, "legal_basis": None,
            "retained_until": None, "trigger_event": f"E-{day}",
        }  # fmt: skip

    debtor = {
        "name": "厦门市珀璟房地产开发有限责任公司", "entity_type": "LEGAL_PERSON",
        "id_number": USCC, "published_card_number": "MA3H4AUT5",
        "legal_representative": "吴龙聪", "legal_rep_id_number": "350211196912234297",
    }  # fmt: skip
    acts: list[tuple[str, Actor, int, dict[str, Any]]] = [
        ("DEBTOR_IDENTIFIED", COURT, 0, {"case_number": "（2021）闽0211执9号",
                                         "debtor": debtor}),
        ("LISTING_DECISION_MADE", COURT, 1, {"conduct_codes": ["ABILITY_REFUSAL"]}
         | ({} if term is None else {"listing_term": term})),
        ("LISTING_PUBLISHED", COURT, 2, {}),
        ("SANCTION_STATE_CHANGED", LEDGER, 3,
         sanction("RAILWAY.TRAIN_RESTRICTION", 3)),
        ("SANCTION_STATE_CHANGED", LEDGER, 4, sanction("FINANCE.GOV_PROCUREMENT", 4)),
    ]  # fmt: skip
    return [
        (
            LedgerEvent(
                event_id=f"CLI-{n}",
                event_type=event_type,
                listing_id="L-CLI",
                occurred_at=T0 + timedelta(days=day),
                actor=actor,
                jurisdiction="CN-35",
                payload=payload,
                seq=n,
            ),
            Position("court", 0, n, T0 + timedelta(days=30 + n)),
        )
        for n, (event_type, actor, day, payload) in enumerate(acts)
    ]


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    # a traceback (an uncaught exception) is a defect whatever the exit status
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output
    )
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def database(pg_conninfo: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session's PostgreSQL, as the commands' settings see it."""
    monkeypatch.setenv("DATABASE_URL", pg_conninfo)
    get_settings.cache_clear()
    yield pg_conninfo
    get_settings.cache_clear()


@pytest.fixture
def listed(database: str, pg_schema: str) -> str:
    """A schema holding an organisation under RAILWAY and FINANCE measures."""
    with psycopg.connect(database, autocommit=True) as conn:
        migrate(conn, pg_schema)
        with conn.transaction():
            apply_batch(conn, pg_schema, org_listing())
    return pg_schema


@pytest.fixture
def down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", DOWN)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# 1. agency and measure codes


@pytest.mark.services
@pytest.mark.parametrize(
    "option",
    [
        ["--agency", "railway"],
        ["--agency", "Railway"],
        ["--agency", "ＲＡＩＬＷＡＹ"],  # full width, as an input method types it
        ["--measure", "railway.train_restriction"],
        ["--agency", "finance", "--measure", "finance.gov_procurement"],
    ],
)
def test_check_matches_agency_and_measure_in_any_case(
    listed: str, option: list[str]
) -> None:
    result = run("check", USCC, *option, "--schema", listed)
    assert result.exit_code == EXIT_INTERCEPT, result.output
    assert result.stdout.startswith("INTERCEPT")


@pytest.mark.services
@pytest.mark.parametrize(
    ("option", "named"),
    [
        (["--agency", "NOPE"], "--agency 'NOPE' is not an agency code"),
        (["--measure", "credit"], "--measure 'credit' is not a measure code"),
        (["--measure", "NOPE.CREDIT"], "--measure 'NOPE.CREDIT' is not a measure"),
    ],
)
def test_check_rejects_codes_outside_the_catalogue(
    listed: str, option: list[str], named: str
) -> None:
    result = run("check", USCC, *option, "--schema", listed)
    assert result.exit_code == EXIT_USAGE, result.output
    assert named in result.stderr
    assert "PBOC" in result.stderr and "RAILWAY" in result.stderr  # the valid codes
    assert "CLEAR" not in result.stdout


@pytest.mark.services
def test_check_rejects_a_measure_of_another_agency(listed: str) -> None:
    # such a filter can match nothing: CLEAR would be an answer never checked
    result = run(
        "check",
        USCC,
        "--measure",
        "pboc.credit_reporting_record",
        "--agency",
        "railway",
        "--schema",
        listed,
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert "not a measure of agency RAILWAY" in result.stderr
    assert "RAILWAY.TRAIN_RESTRICTION" in result.stderr
    assert "CLEAR" not in result.stdout


@pytest.mark.services
def test_check_says_listed_when_no_measure_of_the_agency_is_recorded(
    listed: str,
) -> None:
    # the organisation is listed and published; PBOC never recorded its measure:
    # not an interception (nothing to enforce on record), and never CLEAR
    result = run("check", USCC, "--agency", "pboc", "--schema", listed)
    assert result.exit_code == EXIT_LISTED, result.output
    assert result.stdout.startswith(f"LISTED USCC {USCC}")
    assert "listing=L-CLI (PUBLISHED) is in force" in result.stdout
    assert "no measure of PBOC stands on it" in result.stdout
    as_json = json.loads(
        run("check", USCC, "--agency", "pboc", "--schema", listed, "--json").stdout
    )
    assert as_json["intercept"] is False
    assert [e["listing_id"] for e in as_json["listed"]] == ["L-CLI"]

    # a recorded measure intercepts as before
    assert run("check", USCC, "--agency", "railway", "--schema", listed).exit_code == (
        EXIT_INTERCEPT
    )
    # its legal representative is not the listed debtor: procurement does not
    # bind them, and they are not "listed"
    rep = run("check", "350211196912234297", "--agency", "finance", "--schema", listed)
    assert rep.exit_code == EXIT_CLEAR, rep.output


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "enforce", "--subject", PERSON, "--on", "9999-12-31"],
        ["audit", "figures", "--from", "1900-01-01", "--to", "2018-01-01"],
        ["replay", "--into", "t_cli_years", "--until", "9999-12-31T00:00:00+08:00"],
    ],
)
def test_days_outside_the_ledgers_years_are_usage_errors(command: list[str]) -> None:
    result = run(*command)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "1950" in result.output and "2199" in result.output


@pytest.mark.services
def test_check_says_listed_when_the_agencys_measure_was_released(
    database: str, pg_schema: str
) -> None:
    # RAILWAY released its measure (as it must when a listing ends) while the
    # listing is in force: nothing to intercept on, and not CLEAR either
    acts = org_listing()
    released = {
        "agency": "RAILWAY", "measure_code": "RAILWAY.TRAIN_RESTRICTION",
        "state": "RELEASED", "previous_state": "APPLIED",
        "since": T0 + timedelta(days=9), "reason": "listing shielded/revoked",
        "legal_basis": None, "retained_until": None, "trigger_event": "E-9",
    }  # fmt: skip
    acts.append(
        (
            LedgerEvent(
                event_id="CLI-9",
                event_type="SANCTION_STATE_CHANGED",
                listing_id="L-CLI",
                occurred_at=T0 + timedelta(days=9),
                actor=LEDGER,
                jurisdiction="CN-35",
                payload=released,
                seq=9,
            ),
            Position("court", 0, 9, T0 + timedelta(days=39)),
        )
    )
    with psycopg.connect(database, autocommit=True) as conn:
        migrate(conn, pg_schema)
        with conn.transaction():
            apply_batch(conn, pg_schema, acts)

    railway = run("check", USCC, "--agency", "railway", "--schema", pg_schema)
    assert railway.exit_code == EXIT_LISTED, railway.output
    assert "no measure of RAILWAY stands on it" in railway.stdout
    # FINANCE's measure still stands: an interception, as before
    finance = run("check", USCC, "--agency", "finance", "--schema", pg_schema)
    assert finance.exit_code == EXIT_INTERCEPT, finance.output


@pytest.mark.parametrize(
    "command",
    [
        ["check", PERSON],
        ["query", "listings"],
        ["audit", "figures", "--from", "2017-01-01", "--to", "2018-01-01"],
    ],
)
def test_an_empty_schema_name_is_a_usage_error(command: list[str]) -> None:
    result = run(*command, "--schema", "")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "is not a schema" in " ".join(result.output.split())


# 2. a schema that is not there, a database that cannot be reached


@pytest.mark.services
def test_check_on_a_missing_schema_is_could_not_check(database: str) -> None:
    result = run("check", PERSON, "--schema", "t_cli_nosuch")
    assert result.exit_code == EXIT_UNAVAILABLE
    assert result.exit_code not in (EXIT_CLEAR, EXIT_INTERCEPT)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "could not check" in lines[0]
    assert "schema 't_cli_nosuch' does not exist" in lines[0]


@pytest.mark.services
def test_check_on_a_schema_without_tables_is_could_not_check(database: str) -> None:
    result = run("check", PERSON, "--schema", "public")
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "listings" in result.stderr and "projected" in result.stderr


@pytest.mark.services
@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_check_on_a_schema_never_projected_into_is_could_not_check(
    database: str, pg_schema: str, as_json: list[str]
) -> None:
    # migrated (as `shixin db migrate` or a projector's start leaves it), but no
    # event was ever applied: the empty tables would make every answer CLEAR
    with psycopg.connect(database, autocommit=True) as conn:
        migrate(conn, pg_schema)
    result = run("check", PERSON, "--schema", pg_schema, *as_json)
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "could not check" in lines[0]
    never = f"schema {pg_schema!r} is migrated but no event has been projected"
    assert never in lines[0]
    assert "query tables are not built" in lines[0]
    assert "shixin project" in lines[0] and "shixin demo" in lines[0]


@pytest.mark.services
@pytest.mark.parametrize(
    "command",
    [
        ["audit", "history", "L-1"],
        ["audit", "enforce", "--subject", PERSON, "--on", "2018-01-01"],
        [
            "audit",
            "missed",
            "--court",
            "闽01",
            "--from",
            "2017-01-01",
            "--to",
            "2018-01-01",
        ],
        ["audit", "figures", "--from", "2017-01-01", "--to", "2018-01-01"],
        ["query", "violations"],
    ],
)
def test_questions_on_a_schema_never_projected_into_could_not_be_answered(
    database: str, pg_schema: str, command: list[str]
) -> None:
    # "no rows" from tables nothing was ever projected into is no answer
    with psycopg.connect(database, autocommit=True) as conn:
        migrate(conn, pg_schema)
    result = run(*command, "--schema", pg_schema)
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert "no event has been projected" in result.stderr
    assert "no rows" not in result.stdout and "0 rows" not in result.stdout


@pytest.mark.services
def test_check_answers_say_how_current_the_tables_are(listed: str) -> None:
    newest = T0 + timedelta(days=34)  # broker time of the listing's last event
    intercept = run("check", USCC, "--schema", listed)
    assert intercept.exit_code == EXIT_INTERCEPT, intercept.output
    assert intercept.stdout.startswith("INTERCEPT USCC")
    assert f"data as of {newest.isoformat()}" in intercept.stdout
    clear = run("check", PERSON, "--schema", listed, "--json")
    assert clear.exit_code == EXIT_CLEAR, clear.output
    answer = json.loads(clear.stdout)
    assert answer["intercept"] is False
    assert answer["data_as_of"] == newest.isoformat()
    assert datetime.fromisoformat(answer["data_as_of"]) == newest


@pytest.mark.services
def test_check_is_clear_once_the_listing_term_has_ended(
    database: str, pg_schema: str
) -> None:
    """Decided 2021-03-02 for one year: the term ended on 2022-03-02, the court
    recorded no deletion; the measures are not enforceable, and say why."""
    with psycopg.connect(database, autocommit=True) as conn:
        migrate(conn, pg_schema)
        with conn.transaction():
            apply_batch(conn, pg_schema, org_listing({"years": 1}))
    clear = run("check", USCC, "--schema", pg_schema)
    assert clear.exit_code == EXIT_CLEAR, clear.output
    assert clear.stdout.startswith("CLEAR USCC")
    assert (
        "  not enforceable: RAILWAY RAILWAY.TRAIN_RESTRICTION still APPLIED but the "
        "term of listing L-CLI ended on 2022-03-02: its deletion is due (SPC2017 "
        "art.10 para.2, within 3 working days)"
    ) in clear.stdout
    answer = json.loads(run("check", USCC, "--schema", pg_schema, "--json").stdout)
    assert answer["active"] == []
    assert [m["term_expires"] for m in answer["stale"]] == ["2022-03-02"] * 2

    # the audit answers the same for those days: enforce on the last day, not after
    def audit(day: str) -> list[dict[str, Any]]:
        result = run(
            "audit", "enforce", "--subject", USCC, "--on", day,
            "--schema", pg_schema, "--json",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    last_day = audit("2022-03-02")
    assert [(r["must_enforce"], r["stale_reason"]) for r in last_day] == [
        (True, None)
    ] * 2
    assert [r["term_expires"] for r in last_day] == ["2022-03-02"] * 2
    day_after = audit("2022-03-03")
    assert [r["must_enforce"] for r in day_after] == [False] * 2
    assert [r["stale_reason"] for r in day_after] == [
        "the term of listing L-CLI ended on 2022-03-02: its deletion is due (SPC2017 "
        "art.10 para.2, within 3 working days) and its measures are not to be "
        "enforced from 2022-03-03"
    ] * 2


def test_check_refuses_a_bad_subject_before_connecting(down: None) -> None:
    # with the database down: the usage error wins over "could not check", as it
    # does for --agency and --measure; the input is wrong either way
    result = run("check", "123")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "subject '123' is not valid" in result.stderr
    assert "unreachable" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["check", PERSON],
        ["check", PERSON, "--json"],
        ["query", "violations"],
        ["audit", "figures", "--from", "2024-01-01", "--to", "2024-12-31"],
        ["audit", "enforce", "--subject", PERSON, "--on", "2024-01-01"],
        ["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31"],
        ["audit", "history", "L-1"],
        ["audit", "digest", "ledger"],
        ["audit", "diff", "ledger", "ledger_replay"],
        ["db", "migrate", "--schema", "t_cli_never"],
    ],
)
def test_a_database_that_is_down_is_one_line_and_exit_4(
    down: None, args: list[str]
) -> None:
    result = run(*args)
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "database unreachable at 127.0.0.1:1/postgres" in lines[0]
    assert "secret" not in lines[0]  # the address, never the password


def test_check_help_documents_every_exit_status() -> None:
    result = run("check", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for status in ("0: clear", "3: intercept", "2: invalid", "4: could not check"):
        assert status in text, text


@pytest.mark.services
def test_audit_on_a_missing_schema_is_exit_4(database: str) -> None:
    for args in (
        ["audit", "digest", "t_cli_nosuch"],
        ["audit", "figures", "--from", "2024-01-01", "--to", "2024-12-31",
         "--schema", "t_cli_nosuch"],
        ["query", "violations", "--schema", "t_cli_nosuch"],
    ):  # fmt: skip
        result = run(*args)
        assert result.exit_code == EXIT_UNAVAILABLE, (args, result.output)
        assert "t_cli_nosuch" in result.stderr


# 5. the audit's questions validate their input as `check` does


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["audit", "enforce", "--subject", "123", "--on", "2024-01-01"],
         "subject '123' is not valid"),
        (["audit", "enforce", "--subject", PERSON[:-1] + "1", "--on", "2024-01-01"],
         "check digit"),
        (["audit", "enforce", "--subject", PERSON, "--on", "2024-01-01",
          "--agency", "NOPE"], "agency 'NOPE' is not an agency code"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--agency", "NOPE"], "agency 'NOPE' is not an agency code"),
        (["audit", "missed", "--from", "2024-12-31", "--to", "2024-01-01"],
         "--from 2024-12-31 is after --to 2024-01-01"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "NOPE"],
         "court 'NOPE' is neither a court code nor the full name of a court of "
         "the directory (rules/courts.py): expected a court code as the publisher "
         "accepts it (a province abbreviation alone or with 2 or 4 digits, such as "
         "闽0203"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "闽12345"], "court '闽12345' is neither a court code"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "京01a"], "court '京01a' is neither a court code"),
        # nothing may follow the digits (no case-type characters), and a
        # province abbreviation takes 0, 2 or 4 digits (RULES.md §6.1)
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "闽0203民"], "court '闽0203民' is neither a court code"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "闽执"], "court '闽执' is neither a court code"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "闽02a"], "court '闽02a' is neither a court code"),
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "闽020"], "court '闽020' is neither a court code"),
        # a full name resolves only through the directory
        (["audit", "missed", "--from", "2024-01-01", "--to", "2024-12-31",
          "--court", "北京市东城区人民法院"],
         "court '北京市东城区人民法院' is neither a court code"),
        (["audit", "figures", "--from", "2024-12-31", "--to", "2024-01-01"],
         "--from 2024-12-31 is after --to 2024-01-01"),
    ],
)  # fmt: skip
def test_audit_questions_reject_bad_input_before_asking(
    down: None, args: list[str], named: str
) -> None:
    # with the database down: the input is refused before any connection
    result = run(*args)
    assert result.exit_code == EXIT_USAGE, result.output
    assert named in " ".join(result.stderr.replace("│", " ").split())
    assert "no rows" not in result.stdout


@pytest.mark.services
def test_audit_questions_accept_agency_codes_in_any_case(listed: str) -> None:
    enforce = run(
        "audit", "enforce", "--subject", USCC.lower(), "--on", "2021-03-20",
        "--agency", "railway", "--schema", listed, "--json",
    )  # fmt: skip
    assert enforce.exit_code == 0, enforce.output
    assert '"agency": "RAILWAY"' in enforce.stdout
    missed = run(
        "audit", "missed", "--from", "2021-01-01", "--to", "2021-12-31",
        "--agency", "railway", "--schema", listed,
    )  # fmt: skip
    assert missed.exit_code == 0, missed.output


@pytest.mark.services
def test_audit_enforce_finds_the_legal_representative_as_check_does(
    listed: str,
) -> None:
    """The organisation's legal representative: the check intercepts on the
    consumption ban (RAILWAY), not on the procurement ban; the audit answers the
    same measure, saying in what role it binds."""
    rep = "350211196912234297"
    checked = json.loads(run("check", rep, "--schema", listed, "--json").stdout)
    assert [(m["measure_code"], m["role"]) for m in checked["active"]] == [
        ("RAILWAY.TRAIN_RESTRICTION", "LEGAL_REPRESENTATIVE")
    ]
    result = run(
        "audit", "enforce", "--subject", rep, "--on", "2021-03-20",
        "--schema", listed, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [
        (r["measure_code"], r["role"], r["bound_as"], r["must_enforce"]) for r in rows
    ] == [
        (m["measure_code"], m["role"], m["bound_as"], True) for m in checked["active"]
    ]
    assert rows[0]["bound_as"] == (
        "bound as legal representative of 厦门市珀璟房地产开发有限责任公司 (MA3H4AUT5)"
    )


def add_violation(database: str, schema: str, court: str, n: int = 1) -> None:
    """A violation of a publication deadline by `court`, due 2021-03-08."""
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{schema}".violations (obligation_id, listing_id, rule_id, '
            "rule_source, policy_version, obligor, responsible_kind, "
            "responsible_code, trigger_event, triggered_at, due_date, provisional, "
            "verdict, detected_by, reason, violated_event, withdrawn, last_event, "
            "valid_from, known_from, known_topic, known_partition, known_offset) "
            "VALUES (%(o)s, 'L-CLI', 'R-PUBLISH', 'SPC2017 art.6', 'p1', 'COURT', "
            "'COURT', %(court)s, 'CLI-1', %(t)s, '2021-03-08', false, 'VIOLATED', "
            "'CLOCK', 'not published in time', %(v)s, false, %(v)s, %(t)s, %(t)s, "
            "'court', 0, %(n)s)",
            {"t": T0, "court": court, "o": f"O-{n}", "v": f"V-{n}", "n": n},
        )


@pytest.mark.services
@pytest.mark.parametrize("court", ["闽0211", "厦门市集美区人民法院", " 闽０２１１ "])
def test_audit_missed_takes_a_court_by_code_or_full_name(
    listed: str, database: str, court: str
) -> None:
    add_violation(database, listed, "闽0211")
    args = ["audit", "missed", "--from", "2021-01-01", "--to", "2021-12-31"]
    found = run(*args, "--court", court, "--schema", listed, "--json")
    assert found.exit_code == 0, found.output
    rows = json.loads(found.stdout)
    assert [(r["responsible_code"], r["rule_id"]) for r in rows] == [
        ("闽0211", "R-PUBLISH")
    ]
    # a court of the directory that missed nothing is an empty report, not an error
    other = run(*args, "--court", "闽0212", "--schema", listed, "--json")
    assert other.exit_code == 0, other.output
    assert json.loads(other.stdout) == []


@pytest.mark.services
def test_audit_missed_takes_a_well_formed_court_code_the_directory_lacks(
    listed: str, database: str
) -> None:
    """The directory lists some Fujian courts only; the publisher takes any
    well-formed court code, so any court's missed deadlines can be asked for."""
    add_violation(database, listed, "京0105", 1)
    add_violation(database, listed, "闽0211", 2)
    args = ["audit", "missed", "--from", "2021-01-01", "--to", "2021-12-31"]
    found = run(*args, "--court", "京0105", "--schema", listed, "--json")
    assert found.exit_code == 0, found.output
    assert [
        (r["responsible_code"], r["rule_id"]) for r in json.loads(found.stdout)
    ] == [("京0105", "R-PUBLISH")]
    # a full-width spelling is the same code
    same = run(*args, "--court", "京０１０５", "--schema", listed, "--json")
    assert json.loads(same.stdout) == json.loads(found.stdout)
    # a well-formed court that missed nothing: an empty report, not an error
    for court in ("闽9999", "最高法"):
        none = run(*args, "--court", court, "--schema", listed, "--json")
        assert none.exit_code == 0, none.output
        assert json.loads(none.stdout) == []


@pytest.mark.parametrize(
    "code",
    [
        "京0105", "闽9999", "最高法", "闽", "沪01", "闽0203", "闽02",
        "闽12345", "京01a", "NOPE", "闽0203民", "闽执", "闽02a", "闽020",
    ],
)  # fmt: skip
def test_audit_missed_takes_the_court_codes_the_publisher_takes(
    down: None, code: str
) -> None:
    """--court accepts exactly the codes a court actor of a lifecycle may have
    (contract.inputs.ActorIn); with the database down, an accepted code gets as
    far as connecting (exit 4), a refused one is a usage error (exit 2)."""
    from pydantic import ValidationError

    from contract.inputs import ActorIn

    try:
        ActorIn(kind="COURT", code=code)
        published = True
    except ValidationError:
        published = False
    args = ["audit", "missed", "--from", "2021-01-01", "--to", "2021-12-31"]
    result = run(*args, "--court", code)
    assert result.exit_code == (EXIT_UNAVAILABLE if published else EXIT_USAGE), (
        result.output
    )


# 6. Kafka down: one line naming the broker, exit 4; a bad --out is a usage error

KAFKA_DOWN = "127.0.0.1:1"  # nothing listens there


@pytest.fixture
def kafka_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Kafka at a closed port, and waits of 1 s instead of 30 or 60 s."""
    import producers.publisher
    import shixin.broker

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", KAFKA_DOWN)
    monkeypatch.setattr(shixin.broker, "RETRY_SECONDS", 1.0)
    monkeypatch.setattr(producers.publisher, "FLUSH_TIMEOUT", 1.0)
    monkeypatch.setattr(producers.publisher, "INIT_TIMEOUT", 1.0)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "args",
    [
        ["topics", "ensure"],
        ["clock", "tick", "--at", "2024-05-01T00:00:00+08:00"],
        ["process", "--until-caught-up", "--no-timekeeper"],
    ],
)
def test_kafka_down_is_one_line_naming_the_broker_and_exit_4(
    kafka_down: None, args: list[str]
) -> None:
    result = run(*args)
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cannot ")
    assert f"Kafka unreachable at {KAFKA_DOWN}: " in lines[0]
    assert "check KAFKA_BOOTSTRAP_SERVERS" in lines[0]


def test_the_embedded_broker_down_says_to_start_the_stack(
    kafka_down: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS")
    monkeypatch.setenv("KAFKA_PORT", "1")
    result = run("topics", "ensure")
    assert result.exit_code == EXIT_UNAVAILABLE, result.output
    assert "Kafka unreachable at 127.0.0.1:1: " in result.stderr
    assert "`shixin stack up`" in result.stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ([], f"300 messages still unacknowledged after 1s by Kafka at {KAFKA_DOWN}"),
        (["--all-or-nothing"], f"cannot start: Kafka at {KAFKA_DOWN}: "),
    ],
)
def test_publishing_to_kafka_down_names_the_broker(
    kafka_down: None, monkeypatch: pytest.MonkeyPatch, options: list[str], named: str
) -> None:
    import producers.cli

    # in process: pytest keeps its own Ctrl-C handler
    monkeypatch.setattr(producers.cli, "_install_signal_handlers", lambda stop: None)
    data = str(REPO_ROOT / "data" / "listings.jsonl")
    result = run("publish", *options, data)
    assert result.exit_code == 2, result.output  # EXIT_DELIVERY
    text = " ".join(result.output.replace("│", " ").split())
    assert named in text, text
    assert "check KAFKA_BOOTSTRAP_SERVERS" in text, text


@pytest.mark.parametrize("out", ["/proc/nope", "data/listings.jsonl/sub"])
def test_generate_into_a_directory_that_cannot_be_made_is_a_usage_error(
    out: str,
) -> None:
    result = run("generate", "--listings", "5", "--out", str(REPO_ROOT / out))
    assert result.exit_code == EXIT_USAGE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"error: cannot write the workload to --out '{REPO_ROOT / out}'"
    )


@pytest.mark.services
def test_audit_missed_names_the_republishers_it_knows_for_an_unknown_one(
    listed: str, database: str
) -> None:
    """Republishers are named in free text: a name no obligation carries (a typo)
    is a usage error that lists the names recorded, not an empty report."""
    args = ["audit", "missed", "--from", "2021-01-01", "--to", "2021-12-31",
            "--schema", listed]  # fmt: skip
    unknown = run(*args, "--publisher", "不存在的网站")
    assert unknown.exit_code == EXIT_USAGE, unknown.output
    assert "no obligation of a republisher named '不存在的网站'" in unknown.stderr
    empty = run(*args, "--publisher", " ")
    assert empty.exit_code == EXIT_USAGE, empty.output
