"""The codec: single-object encoding, schema resolution, golden vectors, determinism."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, parse_schema

from contract import codec
from contract.errors import DecodeError, EncodeError
from contract.samples import as_jsonable, data_events, sample_events
from contract.vocab import EVENT_TYPES, FAMILY_OF
from schemas import SCHEMA_DIR

GOLDEN = Path(__file__).resolve().parent / "golden"
SAMPLES = sample_events()


def test_every_event_type_has_a_schema_in_its_family_folder() -> None:
    current = codec.registry().current
    assert sorted(current) == sorted(EVENT_TYPES)
    for event_type, version in current.items():
        assert version.path.parent.name == FAMILY_OF[event_type]
        assert version.schema["namespace"].endswith("." + FAMILY_OF[event_type])


def test_every_field_of_every_schema_has_a_doc() -> None:
    def fields(avro_type: object) -> list[dict]:
        found: list[dict] = []
        if isinstance(avro_type, list):
            for t in avro_type:
                found += fields(t)
        elif isinstance(avro_type, dict):
            if avro_type.get("type") == "record":
                for f in avro_type["fields"]:
                    found.append(f)
                    found += fields(f["type"])
            elif avro_type.get("type") == "array":
                found += fields(avro_type["items"])
        return found

    for version in codec.registry().by_fingerprint.values():
        undocumented = [f["name"] for f in fields(version.schema) if not f.get("doc")]
        assert undocumented == [], version.path.name


def test_enums_have_a_default_symbol_for_evolving_readers() -> None:
    for version in codec.registry().current.values():
        text = json.dumps(version.schema)
        for enum in _enums(version.schema):
            assert enum["default"] == "UNKNOWN" and "UNKNOWN" in enum["symbols"], text[
                :80
            ]


def _enums(avro_type: object) -> list[dict]:
    if isinstance(avro_type, list):
        return [e for t in avro_type for e in _enums(t)]
    if isinstance(avro_type, dict):
        if avro_type.get("type") == "enum":
            return [avro_type]
        if avro_type.get("type") == "record":
            return [e for f in avro_type["fields"] for e in _enums(f["type"])]
        if avro_type.get("type") == "array":
            return _enums(avro_type["items"])
    return []


def test_fingerprint_is_crc64_avro_of_the_canonical_form() -> None:
    # Vector of the Avro specification: fingerprint of "int".
    assert codec.crc64_avro(b'"int"') == (0x7275D51A3F395C8F).to_bytes(8, "little")
    for version in codec.registry().by_fingerprint.values():
        assert version.fingerprint == bytes.fromhex(
            fingerprint(version.canonical, "CRC-64-AVRO")
        )


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_event_round_trips(event_type: str) -> None:
    event = SAMPLES[event_type]
    data = codec.encode(event)

    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == codec.schema_for(event_type).fingerprint
    decoded = codec.decode(data)
    assert decoded == event
    assert decoded.occurred_at.tzinfo == UTC


def test_all_sample_data_encodes_and_decodes() -> None:
    events = data_events()
    assert len(events) == 300 + 46 + 654  # snapshots, identities, lifecycle acts
    for event in events:
        assert codec.decode(codec.encode(event)) == event


def test_unknown_fingerprint_is_a_decode_error() -> None:
    data = codec.encode(SAMPLES["SANCTION_APPLIED"])
    forged = data[:2] + bytes(8) + data[10:]
    with pytest.raises(
        DecodeError, match="unknown writer schema fingerprint '0000000000000000'"
    ):
        codec.decode(forged)


@pytest.mark.parametrize(
    "data", [b"", b"\xc3", b"\x00\x01" + bytes(8), b'{"json": true}'], ids=repr
)
def test_bytes_without_the_marker_are_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError, match="not Avro single-object encoding"):
        codec.decode(data)


def test_truncated_or_padded_body_is_a_decode_error() -> None:
    data = codec.encode(SAMPLES["LISTING_RECORD_PUBLISHED"])
    with pytest.raises(DecodeError, match="does not decode"):
        codec.decode(data[:-20])
    with pytest.raises(DecodeError, match="trailing bytes"):
        codec.decode(data + b"\x00")


def test_naive_datetime_is_refused() -> None:
    event = replace(SAMPLES["SANCTION_APPLIED"], occurred_at=datetime(2020, 1, 1, 8, 0))  # noqa: DTZ001
    with pytest.raises(EncodeError, match="naive datetime '2020-01-01T08:00:00'"):
        codec.encode(event)
    tick = SAMPLES["CLOCK_TICK"]
    naive_payload = {**tick.payload, "instant": datetime(2020, 1, 1)}  # noqa: DTZ001
    with pytest.raises(EncodeError, match=r"payload\.instant: naive datetime"):
        codec.encode(replace(tick, payload=naive_payload))


def test_payload_field_outside_the_schema_is_refused_not_dropped() -> None:
    event = SAMPLES["SANCTION_APPLIED"]
    with pytest.raises(
        EncodeError, match=r"payload fields \['colour'\] are not in schema"
    ):
        codec.encode(replace(event, payload={**event.payload, "colour": "red"}))


def test_value_outside_an_enum_is_refused() -> None:
    event = SAMPLES["LISTING_SHIELDED"]
    with pytest.raises(EncodeError, match="does not fit schema"):
        codec.encode(replace(event, payload={**event.payload, "reason": "BRIBERY"}))


def test_unknown_event_type_is_refused() -> None:
    event = replace(SAMPLES["SANCTION_APPLIED"], event_type="SANCTION_INVENTED")
    with pytest.raises(
        EncodeError, match="no schema for event type 'SANCTION_INVENTED'"
    ):
        codec.encode(event)


# Golden files and evolution


@pytest.mark.parametrize(
    "path", sorted((GOLDEN / "events").glob("*.bin")), ids=lambda p: p.name
)
def test_golden_bytes_still_decode_to_the_same_values(path: Path) -> None:
    event_type = path.name.split(".")[0]
    expected = json.loads((GOLDEN / "events" / f"{event_type}.json").read_text("utf-8"))
    assert as_jsonable(codec.decode(path.read_bytes())) == expected


def test_old_version_payload_decodes_under_the_current_schema() -> None:
    data = (GOLDEN / "events" / "SANCTION_RELEASED.v1.bin").read_bytes()
    writer = codec.writer_of(data)
    current = codec.schema_for("SANCTION_RELEASED")

    assert writer.version == 1 and not writer.current
    assert writer.fingerprint != current.fingerprint
    event = codec.decode(data)
    assert (
        "refers_to" in current.payload_fields
        and "refers_to" not in writer.payload_fields
    )
    assert (
        event.payload["measure_code"]
        == SAMPLES["SANCTION_RELEASED"].payload["measure_code"]
    )


def _resolves(writer: dict, reader: dict, record: dict) -> None:
    buf = io.BytesIO()
    schemaless_writer(buf, parse_schema(writer), record)
    buf.seek(0)
    schemaless_reader(buf, parse_schema(writer), parse_schema(reader))


def _golden_schemas() -> list[Path]:
    return sorted((GOLDEN / "schemas").glob("*.avsc"))


def test_golden_schemas_cover_every_current_type() -> None:
    golden = {p.stem.upper() for p in _golden_schemas()}
    missing = sorted(set(EVENT_TYPES) - golden)
    assert missing == [], (
        f"run tests/golden/make_golden.py to add golden schemas: {missing}"
    )


@pytest.mark.parametrize("path", _golden_schemas(), ids=lambda p: p.stem)
def test_schema_change_keeps_old_and_new_readers_working(path: Path) -> None:
    old = json.loads(path.read_text("utf-8"))
    event_type = old["event_type"]
    assert event_type in codec.registry().current, (
        f"event type {event_type} was removed"
    )
    new = codec.schema_for(event_type)
    record = codec.to_record(SAMPLES[event_type], new)

    _resolves(new.schema, old, record)  # old readers read new data (forward)
    _resolves(old, new.schema, record)  # new readers read old data (backward)


def test_history_versions_resolve_to_current() -> None:
    history = [v for v in codec.registry().by_fingerprint.values() if not v.current]
    assert history, "keep at least one previous schema version under schemas/history"
    for version in history:
        record = codec.to_record(SAMPLES[version.event_type])
        _resolves(version.schema, codec.schema_for(version.event_type).schema, record)


def test_compatibility_gate_fails_on_a_breaking_change() -> None:
    old = codec.schema_for("SANCTION_APPLIED").schema
    broken = json.loads(json.dumps(old))
    broken["fields"].append({"name": "risk_score", "type": "int", "doc": "no default"})
    record = codec.to_record(SAMPLES["SANCTION_APPLIED"])
    with pytest.raises(Exception, match="risk_score"):
        _resolves(old, broken, record)


# Determinism


_DIGEST = """
import hashlib
from contract import codec
from contract.samples import data_events, built_events
digest = hashlib.sha256()
for event in data_events() + built_events():
    digest.update(codec.encode(event))
print(digest.hexdigest())
"""


def test_encoding_is_the_same_in_every_host_time_zone() -> None:
    digests = []
    for tz in ("UTC", "Asia/Shanghai"):
        env = {**os.environ, "TZ": tz}
        run = subprocess.run(
            [sys.executable, "-c", _DIGEST],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.append(run.stdout.strip())
    assert len(digests[0]) == 64
    assert digests[0] == digests[1]


def test_schema_files_are_package_data() -> None:
    assert (SCHEMA_DIR / "court" / "listing_shielded.avsc").is_file()


def test_schema_messages_are_keyed_by_fingerprint() -> None:
    messages = dict(codec.schema_messages())
    assert len(messages) == len(codec.registry().by_fingerprint)
    for key, value in messages.items():
        assert codec.registry().by_fingerprint[bytes.fromhex(key)].schema == json.loads(
            value
        )


def test_compiled_writer_gives_the_same_bytes_as_fastavro() -> None:
    for event in data_events() + [SAMPLES[t] for t in sorted(SAMPLES)]:
        version = codec.schema_for(event.event_type)
        record = codec.to_record(event, version)
        assert codec.encode_record(record, version) == codec.encode_record_fastavro(
            record, version
        )


@pytest.mark.parametrize(
    "amount",
    ["0", "0.01", "1.27", "1.28", "-1.28", "-1.29", "-0.01", "9999999999999999.99"],
)
def test_amounts_encode_like_fastavro(amount: str) -> None:
    event = SAMPLES["PERFORMANCE_COMPLETED"]
    version = codec.schema_for(event.event_type)
    record = {**codec.to_record(event, version), "paid_yuan": Decimal(amount)}
    assert codec.encode_record(record, version) == codec.encode_record_fastavro(
        record, version
    )
    assert codec.decode(codec.encode_record(record, version)).payload["paid_yuan"] == (
        Decimal(amount)
    )
