"""The generated readers and writers against fastavro, on every sample event."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastavro import schemaless_reader

from contract import codec
from contract.errors import DecodeError, EncodeError
from contract.event import LedgerEvent
from contract.samples import DATA_DIR as DATA
from contract.samples import data_events, sample_events

SAMPLES = sample_events()
EVENTS = data_events() + [SAMPLES[t] for t in sorted(SAMPLES)]


def _assert_same(got: Any, expected: Any, path: str = "") -> None:
    assert type(got) is type(expected), (path, got, expected)
    if isinstance(expected, dict):
        assert list(got) == list(expected), path
        for key in expected:
            _assert_same(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _assert_same(g, e, f"{path}[{i}]")
    else:
        assert got == expected, path
        if hasattr(expected, "tzinfo"):
            assert got.tzinfo is expected.tzinfo, path


def _fastavro_record(data: bytes) -> dict[str, Any]:
    buf = io.BytesIO(data)
    buf.seek(codec.HEADER_SIZE)
    record = schemaless_reader(buf, codec.writer_of(data).parsed, None)
    assert isinstance(record, dict)
    return record


def test_encode_gives_the_bytes_of_fastavro() -> None:
    for event in EVENTS:
        version = codec.schema_for(event.event_type)
        expected = codec.encode_record_fastavro(
            codec.to_record(event, version), version
        )
        assert codec.encode(event) == expected, event.event_type


def test_decode_record_gives_the_values_of_fastavro() -> None:
    for event in EVENTS:
        data = codec.encode(event)
        event_type, record = codec.decode_record(data)
        assert event_type == event.event_type
        _assert_same(record, _fastavro_record(data), event.event_type)


def test_decode_gives_the_event_from_the_fastavro_record() -> None:
    for event in EVENTS:
        data = codec.encode(event)
        expected = codec.from_record(event.event_type, _fastavro_record(data))
        got = codec.decode(data)
        assert got == expected
        _assert_same(dict(got.payload), dict(expected.payload), event.event_type)
        assert got.occurred_at.tzinfo is expected.occurred_at.tzinfo
        assert isinstance(got.event_id, str)


@pytest.mark.parametrize("amount", ["0", "-0.01", "1.28", "9999999999999999.99"])
def test_amounts_decode_like_fastavro(amount: str) -> None:
    event = SAMPLES["PERFORMANCE_COMPLETED"]
    event = replace(event, payload={**event.payload, "paid_yuan": Decimal(amount)})
    data = codec.encode(event)
    _assert_same(codec.decode_record(data)[1], _fastavro_record(data))
    assert codec.decode(data).payload["paid_yuan"] == Decimal(amount)


def test_a_wrong_value_names_the_event_and_field() -> None:
    event: LedgerEvent = SAMPLES["SANCTION_APPLIED"]
    with pytest.raises(
        EncodeError,
        match=rf"record '{event.event_id}' \(SANCTION_APPLIED\) does not fit schema "
        r"sanction_applied.avsc: field seq: got 'x', expected a 32-bit integer",
    ):
        codec.encode(replace(event, seq="x"))  # type: ignore[arg-type]
    with pytest.raises(EncodeError, match="field actor.kind: got 'ALIEN'"):
        codec.encode(replace(event, actor=replace(event.actor, kind="ALIEN")))


def test_every_truncation_is_a_decode_error() -> None:
    data = codec.encode(SAMPLES["LISTING_RECORD_PUBLISHED"])
    for end in range(codec.HEADER_SIZE, len(data)):
        with pytest.raises(DecodeError, match="does not decode"):
            codec.decode(data[:end])


def _clean_reference(value: Any) -> Any:
    # The plain recursion `contract.inputs.clean` replaced.
    from contract.ids import clean_text

    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {k: _clean_reference(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_reference(v) for v in value]
    return value


def test_clean_gives_what_the_plain_recursion_gives() -> None:
    from contract.inputs import clean

    tricky = {
        "a": " \u200b福州市\u00ad中级人民法院 ",
        "b": ["e\u0301", "  x  ", 1, None, True, 1.5, {"c": "\ufeff闽01\u200d"}],
        "d": {"e": [["\u2060（2016）闽01执3142号"]]},
    }
    lines = (DATA / "lifecycles.jsonl").read_text("utf-8").splitlines()
    for value in [tricky, *(json.loads(line) for line in lines)]:
        before = copy.deepcopy(value)
        for _ in range(2):  # the second time from the cache
            got = clean(value)
            assert got == _clean_reference(before)
            assert value == before  # the input itself is never changed
    assert clean(tricky)["b"][0] == "\u00e9"
    assert clean(tricky)["d"]["e"][0][0] == "（2016）闽01执3142号"


def test_clean_copies_only_what_it_changes() -> None:
    from contract.inputs import clean

    value = {"clean": {"x": "闽01", "n": [1, "a"]}, "dirty": {"y": " 闽02 "}}
    got = clean(value)
    assert got == {"clean": {"x": "闽01", "n": [1, "a"]}, "dirty": {"y": "闽02"}}
    assert got is not value and got["dirty"] is not value["dirty"]
    assert got["clean"] is value["clean"]  # nothing in it to clean: not copied
    assert value["dirty"] == {"y": " 闽02 "}


def test_ledger_event_fields_in_the_order_the_converter_passes_them() -> None:
    # contract.convert builds lifecycle events positionally, in this order.
    from dataclasses import fields

    assert [f.name for f in fields(LedgerEvent)][:11] == [
        "event_id",
        "event_type",
        "listing_id",
        "occurred_at",
        "actor",
        "jurisdiction",
        "payload",
        "source_event_id",
        "seq",
        "correlation_id",
        "causation_id",
    ]


def test_ledger_event_init_is_the_dataclass_init() -> None:
    # LedgerEvent sets its slots itself (contract.event): the same fields, defaults,
    # keywords, equality, replace() and immutability as the generated __init__.
    from dataclasses import FrozenInstanceError, fields

    from contract.event import Actor

    at = datetime(2020, 1, 2, tzinfo=UTC)
    court = Actor("COURT", "闽0203")
    a = LedgerEvent("e1", "LISTING_DECISION_MADE", "k", at, court, "CN-35")
    b = LedgerEvent(
        event_id="e1",
        event_type="LISTING_DECISION_MADE",
        listing_id="k",
        occurred_at=at,
        actor=court,
        jurisdiction="CN-35",
    )
    assert a == b
    assert {f.name: getattr(a, f.name) for f in fields(LedgerEvent)} == {
        "event_id": "e1",
        "event_type": "LISTING_DECISION_MADE",
        "listing_id": "k",
        "occurred_at": at,
        "actor": court,
        "jurisdiction": "CN-35",
        "payload": {},
        "source_event_id": None,
        "seq": None,
        "correlation_id": None,
        "causation_id": None,
        "position": None,
    }
    assert type(a.payload) is dict and a.payload is not b.payload  # a new one each
    assert replace(a, seq=3).seq == 3 and replace(a, seq=3) != a
    with pytest.raises(FrozenInstanceError):
        a.seq = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        LedgerEvent("e1", "T", "k", at, court)  # type: ignore[call-arg]


def test_a_repeated_actor_is_validated_again_when_it_comes_back_wrong() -> None:
    from contract.convert import parse_line

    lifecycle = json.loads(
        (DATA / "lifecycles.jsonl").read_text("utf-8").splitlines()[0]
    )
    assert parse_line("lifecycle", lifecycle, "a")[1] == []  # its actors now known
    court = next(e for e in lifecycle["events"] if e["actor"]["kind"] == "COURT")
    court["actor"]["code"] = "not a court"
    events, errors = parse_line("lifecycle", lifecycle, "b")
    assert events == []
    assert [e.expected for e in errors] == [
        "a court code: a province abbreviation alone or with 2 or 4 "
        "ASCII digits (闽, 闽02, 闽0203, 京0105) or 最高法"
    ]
