"""Validated input: identifier algorithms, formats, rejections and conversion."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from contract import identifiers as ids
from contract.convert import parse_line
from contract.errors import InputError
from contract.ids import LEDGER_NAMESPACE, clean_text, event_id, listing_id
from contract.inputs import court_code_ok

DATA = Path(__file__).resolve().parent.parent / "data"


def _lines(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


LISTINGS = _lines("listings.jsonl")
LIFECYCLES = _lines("lifecycles.jsonl")


# Identifier algorithms


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("350211198305042073", True),
        ("11010519491231002X", True),
        ("350211198305042074", False),  # wrong check digit
        ("350211198313042073", False),  # month 13
        ("3502111983****2073", False),  # masked
        ("35021119830504207", False),  # 17 characters
    ],
)
def test_resident_id_check_digit(value: str, ok: bool) -> None:
    assert (ids.check_resident_id(value) is None) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("91350102MA3UCNP82N", True),
        ("91350102MA3UCNP82P", False),  # wrong check character
        ("Y1350102MA3UCNP82N", False),  # changed authority code breaks the check
        ("91350102MA3UCNP83N", False),  # embedded org code broken
        ("91350102MA3UCNP8IN", False),  # I is not in the alphabet
    ],
)
def test_unified_social_credit_code_check_character(value: str, ok: bool) -> None:
    assert (ids.check_uscc(value) is None) is ok


def test_organisation_code_check_character() -> None:
    assert ids.check_org_code("MA3UCNP82") is None
    assert ids.org_code_check_char("D2143569") == "X"  # GB 11714 example shape
    assert "check character '2'" in (ids.check_org_code("MA3UCNP83") or "")


@pytest.mark.parametrize(
    "value",
    [
        "（2019）闽0203执7784号",
        "(2019)闽0203执7784号",
        "（2019）粤0106执恢12号",
        "（2019）闽02执复3号之一",
        "（2015）思执字第03834号",
        "(2015)晋执字第05266号",
    ],
)
def test_case_numbers_in_every_accepted_style(value: str) -> None:
    assert ids.check_case_number(value, enforcement=True) is None


@pytest.mark.parametrize(
    "value", ["2019闽0203执7784号", "（2019）闽0203民初7784号", "（19）闽执1号"]
)
def test_bad_enforcement_case_numbers(value: str) -> None:
    assert ids.check_case_number(value, enforcement=True) is not None


def test_chinese_and_compact_dates() -> None:
    assert ids.parse_published_date("2016年06月01日") == date(2016, 6, 1)
    assert ids.parse_published_date("20190709") == date(2019, 7, 9)
    assert ids.parse_published_date("2016年13月01日") is None


# Deterministic ids


def test_listing_id_normalises_brackets_spaces_and_invisible_characters() -> None:
    a = listing_id("(2017)闽0203执2377号", "3502111983****2073")
    b = listing_id(" （2017） 闽0203执\u200b2377号 ", "3502111983****2073\ufeff")
    assert a == b == "（2017）闽0203执2377号|3502111983****2073"


def test_event_id_is_uuid5_over_the_ledger_namespace() -> None:
    name = "k\x1fSANCTION_APPLIED\x1fLC-1-E6"
    assert event_id("k", "SANCTION_APPLIED", "LC-1-E6") == str(
        uuid.uuid5(LEDGER_NAMESPACE, name)
    )


def test_event_id_is_stable_and_distinct_per_act() -> None:
    key = listing_id("(2017)闽0203执2377号", "3502111983****2073")
    assert event_id(key, "SANCTION_APPLIED", "LC-1-E6") == event_id(
        key, "SANCTION_APPLIED", "LC-1-E6"
    )
    assert event_id(key, "SANCTION_APPLIED", "LC-1-E6") != event_id(
        key, "SANCTION_APPLIED", "LC-1-E7"
    )


def test_clean_text_is_nfc_without_zero_width_or_surrounding_space() -> None:
    assert clean_text(" \u200b闽0203\u200d \n") == "闽0203"
    assert clean_text("e\u0301") == "\u00e9"


# Conversion of the sample data


def test_every_listing_converts_to_one_snapshot_event() -> None:
    for number, listing in enumerate(LISTINGS, 1):
        events, errors = parse_line("listing", listing, f"listings.jsonl:{number}")
        assert errors == []
        (event,) = events
        truth = listing["_synthetic"]
        assert event.payload["conduct_codes"] == truth["conduct_codes"]
        assert event.payload["conduct_label_version"] == truth["conduct_label_version"]
        assert event.payload["publish_date"].isoformat() == truth["publish_date"]
        assert event.payload["entity_type"] == truth["entity_type"]
        assert event.jurisdiction == "CN-35"
        assert (
            event.occurred_at.isoformat() == f"{truth['publish_date']}T00:00:00+08:00"
        )
        assert "_synthetic" not in event.payload and "synthetic" not in event.payload


def test_listing_and_lifecycle_of_one_debtor_share_the_listing_id() -> None:
    by_record = {}
    for listing in LISTINGS:
        (event,), _ = parse_line("listing", listing, "listing")
        by_record[listing["platform_record_id"]] = event.listing_id
    matched = 0
    for lifecycle in LIFECYCLES:
        events, errors = parse_line("lifecycle", lifecycle, lifecycle["lifecycle_id"])
        assert errors == []
        if lifecycle["platform_record_id"] in by_record:
            assert events[0].listing_id == by_record[lifecycle["platform_record_id"]]
            matched += 1
    assert matched >= 40


def test_lifecycle_events_keep_seq_source_ids_and_payload_names() -> None:
    lifecycle = LIFECYCLES[0]
    events, errors = parse_line("lifecycle", lifecycle, "lifecycles.jsonl:1")

    assert errors == []
    identity, *acts = events
    assert identity.event_type == "DEBTOR_IDENTIFIED"
    assert identity.payload["debtor"]["id_number"] == lifecycle["debtor"]["id_number"]
    assert len(acts) == len(lifecycle["events"])
    for act, raw in zip(acts, lifecycle["events"], strict=True):
        assert (act.event_type, act.seq, act.source_event_id) == (
            raw["type"],
            raw["seq"],
            raw["event_id"],
        )
        assert set(act.payload) >= set(raw["payload"])
        assert act.jurisdiction == "CN-35"
        assert act.correlation_id == "LC-001"


def test_refers_to_becomes_the_causation_id() -> None:
    events, _ = parse_line("lifecycle", LIFECYCLES[0], "lifecycles.jsonl:1")
    by_source = {e.source_event_id: e for e in events}
    answering = [e for e in events if "refers_to" in e.payload]
    assert answering
    for event in answering:
        assert event.causation_id == by_source[event.payload["refers_to"]].event_id


def test_typed_payload_values() -> None:
    events = [e for lc in LIFECYCLES for e in parse_line("lifecycle", lc, "x")[0]]
    paid = [e.payload["paid_yuan"] for e in events if "paid_yuan" in e.payload]
    assert paid and all(
        isinstance(p, Decimal) and p.as_tuple().exponent == -2 for p in paid
    )
    terms = [
        e.payload["listing_term"]
        for e in events
        if "expires" in e.payload.get("listing_term", {})
    ]
    assert terms and all(isinstance(t["expires"], date) for t in terms)


# Rejections: one case per kind of bad input


def _lifecycle() -> dict[str, Any]:
    return copy.deepcopy(LIFECYCLES[0])


def _listing(index: int = 0) -> dict[str, Any]:
    return copy.deepcopy(LISTINGS[index])


def _person_listing() -> dict[str, Any]:
    return copy.deepcopy(next(x for x in LISTINGS if "*" in x["card_number"]))


def _org_lifecycle() -> dict[str, Any]:
    return copy.deepcopy(
        next(x for x in LIFECYCLES if x["debtor"]["entity_type"] == "LEGAL_PERSON")
    )


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target: Any = obj
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value
    return obj


BAD_LIFECYCLES = [
    ("ric_check_digit", "debtor.id_number", "350211198305042074", "check digit '3'"),
    (
        "masked_id_as_full_id",
        "debtor.id_number",
        "3502111983****2073",
        "masked numbers belong",
    ),
    ("naive_instant", "events.1.at", "2016-12-20T08:34:00", "time zone offset"),
    (
        "bare_date_instant",
        "events.1.at",
        "2016-12-20",
        "an instant with date, time and offset",
    ),
    ("unknown_event_type", "events.1.type", "LISTING_FORGOTTEN", "Input should be"),
    (
        "bad_measure_code",
        "events.5.payload.measure_code",
        "railway-ban",
        "AGENCY.MEASURE",
    ),
    ("unknown_payload_field", "events.5.payload.colour", "red", "Extra inputs"),
    ("bad_jurisdiction", "jurisdiction", "Fujian", "should match pattern"),
    ("foreign_time_zone", "timezone", "America/New_York", "Asia/Shanghai (Beijing"),
    ("unknown_time_zone", "timezone", "Mars/Olympus", "Asia/Shanghai (Beijing"),
    ("bad_case_number", "case_number", "闽01执3142号", "a case number such as"),
    (
        "measure_of_no_agency",
        "events.5.payload.measure_code",
        "NOPE.NOTHING",
        "'NOPE' is not an agency code",
    ),
    (
        "measure_not_in_the_catalogue",
        "events.5.payload.measure_code",
        "RAILWAY.NOTHING",
        "RAILWAY's are RAILWAY.TRAIN_RESTRICTION",
    ),
    ("unknown_agency", "events.5.actor.code", "MINISTRY_OF_MAGIC", "an agency code"),
    (
        "bad_iso_date",
        "events.2.payload.listing_term.expires",
        "2019-02-30",
        "a date such as",
    ),
    ("bool_as_text", "events.1.payload.risk_warning_included", "yes", "valid boolean"),
    (
        "unknown_conduct_code",
        "events.2.payload.conduct_codes.0",
        "LAZINESS",
        "Input should be",
    ),
    (
        "card_number_not_the_id",
        "debtor.published_card_number",
        "3502111983****9999",
        "masked form",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [case[1:] for case in BAD_LIFECYCLES],
    ids=[case[0] for case in BAD_LIFECYCLES],
)
def test_bad_lifecycle_is_rejected_whole(path: str, value: Any, message: str) -> None:
    record = _set(_lifecycle(), path, value)
    events, errors = parse_line("lifecycle", record, "lifecycles.jsonl:1")

    assert events == []
    assert len(errors) == 1, errors
    (error,) = errors
    assert isinstance(error, InputError)
    assert error.record.startswith("lifecycles.jsonl:1 LC-001")
    assert error.field == path
    assert error.value == value
    assert message in error.expected
    assert path in str(error) and "expected" in str(error)


def test_bad_uscc_of_an_organisation_is_rejected() -> None:
    record = _org_lifecycle()
    uscc = record["debtor"]["id_number"]
    record["debtor"]["id_number"] = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    events, errors = parse_line("lifecycle", record, "lifecycles.jsonl:9")
    assert events == []
    assert [e.field for e in errors] == ["debtor.id_number"]
    assert "GB 32100" in errors[0].expected


BAD_LISTINGS = [
    ("full_id_published", "card_number", "350582198802197326", "must not be published"),
    ("bad_org_code", "card_number", "MA3UCNP83", "check character"),
    ("bad_chinese_date", "filing_date", "2016年13月08日", "a date such as"),
    (
        "label_of_the_wrong_version",
        "dishonest_conduct",
        "有履行能力而拒不履行生效法律文书确定义务",
        "SPC2013",
    ),
    ("unknown_label", "dishonest_conduct", "逃避债务", "is not one"),
    ("unknown_province", "province", "加州", "a province short name"),
    ("negative_age", "age", -1, "greater than or equal to 0"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [case[1:] for case in BAD_LISTINGS],
    ids=[case[0] for case in BAD_LISTINGS],
)
def test_bad_listing_is_rejected(field: str, value: Any, message: str) -> None:
    record = (
        _listing(0)
        if field != "card_number" or "MA" in str(value)
        else _person_listing()
    )
    record[field] = value
    events, errors = parse_line("listing", record, "listings.jsonl:1")

    assert events == []
    assert [(e.field, e.value) for e in errors] == [(field, value)]
    assert message in errors[0].expected
    assert errors[0].record == "listings.jsonl:1"


def test_measure_codes_are_a_closed_catalogue_of_known_agencies() -> None:
    from contract.vocab import AGENCIES, MEASURES

    assert {code.split(".", 1)[0] for code in MEASURES} <= set(AGENCIES)
    used = {
        e["payload"]["measure_code"]
        for lc in LIFECYCLES
        for e in lc["events"]
        if e["payload"].get("measure_code")
    }
    assert used and used <= set(MEASURES)
    # the proposed codes of RULES.md §4 are in the catalogue too (a sample of them)
    assert {
        "NDRC.BOND_ISSUANCE",
        "CSRC.SHARE_ISSUANCE_LISTING",
        "RAILWAY.TRAIN_RESTRICTION",
        "PUBLIC_SECURITY.LOCATE_AND_CONTROL",
        "OTHER.MARKET_USE",
    } <= set(MEASURES)


def test_an_18_digit_card_number_is_judged_as_a_resident_id() -> None:
    record = _person_listing()
    record["card_number"] = "350211198305042074"
    events, errors = parse_line("listing", record, "listings.jsonl:1")

    assert events == []
    (error,) = errors
    assert error.field == "card_number" and error.value == "350211198305042074"
    assert "resident ID number with check digit '3'" in error.expected
    assert "GB 11643" in error.expected
    assert "social credit" not in error.expected


def test_an_18_character_uscc_keeps_the_uscc_wording() -> None:
    record = _listing(0)
    record["card_number"] = "91350102MA3UCNP82P"
    _, errors = parse_line("listing", record, "listings.jsonl:1")
    assert [e.field for e in errors] == ["card_number"]
    assert "unified social credit code with check character 'N'" in errors[0].expected


def test_a_valid_uscc_of_17_digits_and_a_check_character_is_accepted() -> None:
    org = "15433001"
    org += ids.org_code_check_char(org)
    body = "91350100" + org
    uscc = body + ids.uscc_check_char(body)
    assert body.isdigit() and ids.check_uscc(uscc) is None
    record = _listing(0)
    record["card_number"] = uscc
    events, errors = parse_line("listing", record, "listings.jsonl:1")
    assert errors == [] and len(events) == 1


def test_a_missing_field_has_no_value_not_the_whole_record() -> None:
    record = _listing(1)
    del record["executing_court"]
    events, errors = parse_line("listing", record, "listings.jsonl:2")

    assert events == []
    assert [(e.field, e.value) for e in errors] == [("executing_court", None)]
    assert "required" in errors[0].expected
    lifecycle = _lifecycle()
    del lifecycle["debtor"]["name"]
    _, errors = parse_line("lifecycle", lifecycle, "lifecycles.jsonl:1")
    assert [(e.field, e.value) for e in errors] == [("debtor.name", None)]


def test_several_problems_give_one_error_each() -> None:
    record = _lifecycle()
    record["debtor"]["id_number"] = "350211198305042074"
    record["events"][1]["at"] = "2016-12-20"
    record["events"][5]["payload"]["measure_code"] = "bad"
    events, errors = parse_line("lifecycle", record, "lifecycles.jsonl:1")
    assert events == []
    # Envelope problems come first; payloads are checked once the envelope holds.
    assert {e.field for e in errors} == {"debtor.id_number", "events.1.at"}


def test_strings_are_cleaned_before_validation() -> None:
    record = _lifecycle()
    record["case_number"] = "\u200b " + record["case_number"] + "\ufeff"
    record["debtor"]["name"] = " " + record["debtor"]["name"] + "\u200d"
    events, errors = parse_line("lifecycle", record, "lifecycles.jsonl:1")
    assert errors == []
    assert events[0].payload["case_number"] == LIFECYCLES[0]["case_number"]
    assert events[0].payload["debtor"]["name"] == LIFECYCLES[0]["debtor"]["name"]


def test_not_an_object_is_rejected() -> None:
    events, errors = parse_line("listing", ["not", "an", "object"], "listings.jsonl:7")
    assert events == [] and errors[0].expected == "a JSON object"


# Courts of the record's province (RULES.md §6.1: a court code starts with its
# province's abbreviation); the court directory (rules/courts.py) is not exhaustive,
# so a court name it does not know is accepted, one that contradicts it is not.


def _lifecycle_of(lifecycle_id: str) -> dict[str, Any]:
    return copy.deepcopy(
        next(x for x in LIFECYCLES if x["lifecycle_id"] == lifecycle_id)
    )


def _index_of(record: dict[str, Any], event_type: str) -> int:
    return next(i for i, e in enumerate(record["events"]) if e["type"] == event_type)


def _one_error(kind: str, record: dict[str, Any]) -> InputError:
    events, errors = parse_line(kind, record, "x.jsonl:1")
    assert events == [] and len(errors) == 1, errors
    return errors[0]


def test_a_case_number_of_another_province_than_the_jurisdiction_is_rejected() -> None:
    record = _lifecycle()
    record["case_number"] = "（2016）京01执3142号"

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == ("case_number", "（2016）京01执3142号")
    assert "CN-35" in error.expected and "CN-11" in error.expected
    assert "jurisdiction" in error.expected


def test_a_court_actor_of_another_province_is_rejected() -> None:
    record = _lifecycle()
    record["events"][0]["actor"]["code"] = "京0105"
    record["events"][0]["actor"]["name"] = "北京市朝阳区人民法院"

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == ("events.0.actor.code", "京0105")
    assert "CN-35" in error.expected and "闽" in error.expected


def test_a_payload_case_number_of_another_province_is_rejected() -> None:
    record = _lifecycle_of("LC-017")
    index = _index_of(record, "RECONSIDERATION_DECIDED")
    record["events"][index]["payload"]["case_number"] = "（2018）粤01执复167号"

    error = _one_error("lifecycle", record)

    assert error.field == f"events.{index}.payload.case_number"
    assert error.value == "（2018）粤01执复167号" and "CN-35" in error.expected


@pytest.mark.parametrize("code", ["闽0203", "闽02", "闽", "最高法", "京0105"])
def test_a_court_code_is_a_province_abbreviation_with_0_2_or_4_digits(
    code: str,
) -> None:
    # RULES.md §6.1: high court 闽, intermediate 闽02, basic 闽0203; SPC 最高法
    assert court_code_ok(code)


@pytest.mark.parametrize(
    "code",
    ["闽0203民", "闽执", "闽02a", "闽０２０３", "闽1", "闽020", "闽02031", "X01"],
)
def test_a_court_code_with_anything_else_is_rejected(code: str) -> None:
    assert not court_code_ok(code)
    record = _lifecycle()
    record["events"][0]["actor"]["code"] = code

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == ("events.0.actor.code", code)
    assert "a court code" in error.expected and "闽0203" in error.expected
    assert "events.0.actor.code" in str(error) and code in str(error)


def test_the_supreme_court_acts_in_any_province() -> None:
    record = _lifecycle()
    record["events"][1]["actor"] = {"kind": "COURT", "code": "最高法"}
    assert parse_line("lifecycle", record, "x.jsonl:1")[1] == []


def test_a_lifecycle_of_another_province_is_accepted_when_its_courts_are_its_own() -> (
    None
):
    # The ledger is not Fujian-only: the jurisdiction says which province's rules
    # apply; its courts must be that province's.
    text = json.dumps(LIFECYCLES[0], ensure_ascii=False)
    text = text.replace("闽", "粤").replace("福州市中级人民法院", "广州市中级人民法院")
    record = json.loads(text)
    record["jurisdiction"] = "CN-44"

    events, errors = parse_line("lifecycle", record, "x.jsonl:1")

    assert errors == [] and events[0].jurisdiction == "CN-44"


def test_a_listing_whose_case_number_is_of_another_province_is_rejected() -> None:
    record = _listing(0)  # province 福建
    record["case_number"] = "（2016）京0102执771号"

    error = _one_error("listing", record)

    assert (error.field, error.value) == ("case_number", "（2016）京0102执771号")
    assert "福建" in error.expected and "province" in error.expected


def test_a_listing_court_name_the_directory_gives_another_code_is_rejected() -> None:
    record = _listing(0)  # （2016）闽0102执771号, 福州市鼓楼区人民法院
    record["executing_court"] = "厦门市思明区人民法院"

    error = _one_error("listing", record)

    assert (error.field, error.value) == ("executing_court", "厦门市思明区人民法院")
    assert "闽0203" in error.expected and "闽0102" in error.expected


def test_a_listing_court_name_of_another_province_is_rejected() -> None:
    record = _listing(0)
    record["executing_court"] = "北京市朝阳区人民法院"

    error = _one_error("listing", record)

    assert error.field == "executing_court" and "北京" in error.expected


def test_a_court_name_the_directory_does_not_know_is_accepted() -> None:
    # rules/courts.py lists only some of Fujian's courts (RULES.md §6.1 names more,
    # such as 马尾 闽0105): an unknown name must not make a real entry unpublishable.
    record = _listing(0)
    record["case_number"] = "（2016）闽0105执771号"
    record["executing_court"] = "福州市马尾区人民法院"
    assert parse_line("listing", record, "x.jsonl:1")[1] == []
    lifecycle = _lifecycle_of("LC-017")
    index = _index_of(lifecycle, "RECONSIDERATION_REQUESTED")
    lifecycle["events"][index]["payload"]["to_court"] = "福建省福州市中级人民法院"
    assert parse_line("lifecycle", lifecycle, "x.jsonl:1")[1] == []


@pytest.mark.parametrize(
    ("to_court", "message"),
    [
        ("北京市第一中级人民法院", "北京"),  # another province
        ("泉州市中级人民法院", "闽01"),  # the directory's 闽05, not the next-higher
        ("福州市仓山区人民法院", "闽01"),  # the case's own court (闽0104)
    ],
)
def test_a_reconsideration_court_that_cannot_hear_it_is_rejected(
    to_court: str, message: str
) -> None:
    record = _lifecycle_of("LC-017")  # （2018）闽0104执2497号
    index = _index_of(record, "RECONSIDERATION_REQUESTED")
    record["events"][index]["payload"]["to_court"] = to_court

    error = _one_error("lifecycle", record)

    assert error.field == f"events.{index}.payload.to_court"
    assert error.value == to_court and message in error.expected


def test_an_objection_referred_to_another_court_than_the_case_s_is_rejected() -> None:
    record = _lifecycle_of("LC-030")  # （2018）闽0102执5653号
    index = _index_of(record, "OBJECTION_REFERRED_TO_COURT")
    record["events"][index]["payload"]["to_court"] = "厦门市思明区人民法院"

    error = _one_error("lifecycle", record)

    assert error.field == f"events.{index}.payload.to_court"
    assert "闽0102" in error.expected


def test_a_court_actor_named_as_another_court_of_the_directory_is_rejected() -> None:
    record = _lifecycle()  # 闽01 福州市中级人民法院
    record["events"][1]["actor"]["name"] = "厦门市中级人民法院"

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == ("events.1.actor.name", "厦门市中级人民法院")
    assert "闽02" in error.expected and "闽01" in error.expected


# Dates in the order the rules make necessary (RULES.md §2: a listing is decided in an
# enforcement case, then served and published; a request comes before its answer)


@pytest.mark.parametrize(
    ("event_type", "at", "earlier_type"),
    [
        # a decision dated before the case was filed (filed 2016-12-15)
        ("LISTING_DECISION_MADE", "2016-12-01T09:00:00+08:00", "EXECUTION_CASE_FILED"),
        # published the day before the decision (2017-10-13T09:11)
        ("LISTING_PUBLISHED", "2017-10-12T09:56:00+08:00", "LISTING_DECISION_MADE"),
        # served before it was made
        (
            "LISTING_DECISION_SERVED",
            "2017-10-12T09:41:00+08:00",
            "LISTING_DECISION_MADE",
        ),
        # an execution notice before the case existed
        (
            "EXECUTION_NOTICE_SERVED",
            "2016-12-14T08:34:00+08:00",
            "EXECUTION_CASE_FILED",
        ),
        # shielded before the listing was decided
        ("LISTING_SHIELDED", "2017-10-12T09:07:00+08:00", "LISTING_DECISION_MADE"),
        # an answer before the request it answers (refers_to)
        ("CREDIT_REPAIR_DECIDED", "2017-12-12T09:26:00+08:00", "CREDIT_REPAIR_APPLIED"),
        # a measure applied before the listing was decided (2017-10-13)
        ("SANCTION_APPLIED", "2017-10-01T00:00:00+08:00", "LISTING_DECISION_MADE"),
        # a measure released before any was applied (the first on 2017-10-17)
        ("SANCTION_RELEASED", "2017-10-01T00:00:00+08:00", "SANCTION_APPLIED"),
    ],
)
def test_an_act_dated_before_the_act_it_needs_is_rejected(
    event_type: str, at: str, earlier_type: str
) -> None:
    record = _lifecycle()  # LC-001
    index = _index_of(record, event_type)
    earlier = _index_of(record, earlier_type)
    record["events"][index]["at"] = at

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == (f"events.{index}.at", at)
    # both fields and both values are named
    assert f"events.{earlier}.at" in error.expected
    assert record["events"][earlier]["at"] in error.expected
    assert earlier_type in error.expected


@pytest.mark.parametrize("target", ["LC-001-E99", "itself", "lc-001-e10"])
def test_an_answer_to_no_act_of_the_lifecycle_is_rejected(target: str) -> None:
    record = _lifecycle()  # LC-001
    index = _index_of(record, "CREDIT_REPAIR_DECIDED")
    event = record["events"][index]
    refers_to = event["event_id"] if target == "itself" else target
    event["payload"]["refers_to"] = refers_to

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == (
        f"events.{index}.payload.refers_to",
        refers_to,
    )
    assert "another act of this lifecycle" in error.expected


def test_a_listing_published_before_its_case_was_filed_is_rejected() -> None:
    record = _lifecycle()
    index = _index_of(record, "LISTING_PUBLISHED")
    record["events"][index]["at"] = "2016-12-10T09:56:00+08:00"
    record["events"][index]["payload"]["publish_date_shown"] = "2016年12月10日"

    error = _one_error("lifecycle", record)

    assert error.field == f"events.{index}.at"
    assert "events.0.at" in error.expected and "EXECUTION_CASE_FILED" in error.expected


def test_a_listing_term_ending_before_its_decision_is_rejected() -> None:
    record = _lifecycle()
    record["events"][2]["payload"]["listing_term"]["expires"] = "2017-10-12"

    error = _one_error("lifecycle", record)

    assert error.field == "events.2.payload.listing_term.expires"
    assert "events.2.at" in error.expected and "2017-10-13" in error.expected


@pytest.mark.parametrize(
    ("lifecycle_id", "event_type", "field", "day_before"),
    [
        # retained on 2019-01-21 (+08:00) "until" the day before
        ("LC-033", "SANCTION_RETAINED", "retention_until", "2019-01-20"),
        # an "early" deletion on 2021-04-29 of a term that had ended the day before
        ("LC-058", "EARLY_DELETION_DECIDED", "before_term_end", "2021-04-28"),
    ],
)
def test_an_end_date_before_the_act_that_states_it_is_rejected(
    lifecycle_id: str, event_type: str, field: str, day_before: str
) -> None:
    record = _lifecycle_of(lifecycle_id)
    index = _index_of(record, event_type)
    payload = record["events"][index]["payload"]

    payload[field] = record["events"][index]["at"][:10]  # the act's own day: fine
    assert parse_line("lifecycle", record, "x.jsonl:1")[1] == []
    payload[field] = day_before
    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == (f"events.{index}.payload.{field}", day_before)
    assert f"events.{index}.at" in error.expected


@pytest.mark.parametrize("years", [-1, 0, 1, 6, "2"])
def test_a_listing_term_of_other_than_2_to_5_years_is_rejected(years: Any) -> None:
    record = _lifecycle()  # LC-001: decided with a 2-year term
    index = _index_of(record, "LISTING_DECISION_MADE")
    term = record["events"][index]["payload"]["listing_term"]
    for good in (2, 5):
        term["years"] = good
        term.pop("expires", None)
        assert parse_line("lifecycle", record, "x.jsonl:1")[1] == []
    term["years"] = years

    error = _one_error("lifecycle", record)

    assert error.field == f"events.{index}.payload.listing_term.years"
    assert "2 to 5 years" in error.expected or "integer" in error.expected


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        ("at", "9999-12-31T23:59:59-12:00", "an instant between 1950 and 2199"),
        ("at", "1949-12-31T23:00:00+08:00", "an instant between 1950 and 2199"),
        ("expires", "2300-01-01", "a date between 1950 and 2199"),
    ],
)
def test_instants_and_dates_outside_the_ledgers_years_are_rejected(
    where: str, value: str, expected: str
) -> None:
    record = _lifecycle()  # LC-001
    index = _index_of(record, "LISTING_DECISION_MADE")
    if where == "at":
        index = len(record["events"]) - 1
        record["events"][index]["at"] = value
        field = f"events.{index}.at"
    else:
        record["events"][index]["payload"]["listing_term"]["expires"] = value
        field = f"events.{index}.payload.listing_term.expires"

    error = _one_error("lifecycle", record)

    assert (error.field, error.value, error.expected) == (field, value, expected)


def test_an_agency_acting_on_another_agencys_measure_is_rejected() -> None:
    record = _lifecycle()  # LC-001
    index = next(
        i
        for i, e in enumerate(record["events"])
        if e["actor"]["kind"] == "AGENCY" and "measure_code" in e["payload"]
    )
    own = record["events"][index]["actor"]["code"]
    other = (
        "PBOC.CREDIT_REPORTING_RECORD" if own != "PBOC" else "RAILWAY.TRAIN_RESTRICTION"
    )
    record["events"][index]["payload"]["measure_code"] = other

    error = _one_error("lifecycle", record)

    assert (error.field, error.value) == (f"events.{index}.payload.measure_code", other)
    assert f"the acting agency {own}" in error.expected


@pytest.mark.parametrize("value", [0, -1])
def test_a_platform_record_id_must_be_positive(value: int) -> None:
    for kind, record in (("listing", _listing(0)), ("lifecycle", _lifecycle())):
        record["platform_record_id"] = value
        error = _one_error(kind, record)
        assert (error.field, error.value) == ("platform_record_id", value)
        assert "greater than 0" in error.expected


def test_a_published_entry_filed_after_its_publication_is_rejected() -> None:
    record = _listing(0)  # filed 2016年01月08日, published 2016年06月01日
    record["filing_date"] = "2016年07月08日"

    error = _one_error("listing", record)

    assert (error.field, error.value) == ("publish_date", "2016年06月01日")
    assert "filing_date" in error.expected and "2016-07-08" in error.expected


def test_legal_orders_are_accepted() -> None:
    # LC-001 publishes before the decision is served and applies sanctions before
    # service (legal); an act at the instant of the act it follows is fine, and so
    # is one recorded by its date only (00:00) on the day of that act.
    record = _lifecycle()
    record["events"][3]["at"] = record["events"][2]["at"]
    record["events"][1]["at"] = "2016-12-15T00:00:00+08:00"  # filed 08:39 that day
    events, errors = parse_line("lifecycle", record, "x.jsonl:1")
    assert errors == [] and len(events) == len(record["events"]) + 1


def test_a_lifecycle_missing_its_events_is_told_so() -> None:
    from producers.inputs import LIFECYCLE, detect_kind

    record = _lifecycle()
    del record["events"]
    assert detect_kind(record) == LIFECYCLE
    events, errors = parse_line("lifecycle", record, "lifecycles.jsonl:1")
    assert events == []
    assert [e.field for e in errors] == ["events"], errors
    assert "required" in errors[0].expected.lower()
