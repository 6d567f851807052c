"""Avro single-object encoding of ledger events.

A message is `C3 01` + the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
schema's Parsing Canonical Form + the Avro binary body. The reader looks the writer
schema up by fingerprint among every known version (`schemas/` and
`schemas/history/`) and resolves it to the current schema of the same event type.

Payloads: an input event's payload holds only the fields the source said, so null
optional fields are left out on decoding; a derived event's payload holds every field
of its dataclass (`contract.derived`), nulls included.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import parse_schema, to_parsing_canonical_form

from contract._reader import (
    ReadEvent,
    ReadRecord,
    generate_event_reader,
    generate_record_reader,
)
from contract._writer import Write, WriteError, generate_writer
from contract.errors import DecodeError, EncodeError
from contract.event import Actor, LedgerEvent
from contract.vocab import DERIVED, FAMILY_OF
from schemas import HISTORY_DIR, SCHEMA_DIR

logger = logging.getLogger(__name__)

MARKER = b"\xc3\x01"
HEADER_SIZE = 10
ENVELOPE_FIELDS = (
    "event_id",
    "listing_id",
    "occurred_at",
    "actor",
    "jurisdiction",
    "source_event_id",
    "seq",
    "correlation_id",
    "causation_id",
)
# Where the generated event writer reads each envelope field of a LedgerEvent.
_EVENT_SOURCES = {
    "event_id": "value.event_id",
    "listing_id": "value.listing_id",
    "occurred_at": "value.occurred_at",
    "actor": (
        "{'kind': value.actor.kind, 'code': value.actor.code, 'name': value.actor.name}"
    ),
    "jurisdiction": "value.jurisdiction",
    "source_event_id": "value.source_event_id",
    "seq": "value.seq",
    "correlation_id": "value.correlation_id",
    "causation_id": "value.causation_id",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLI = timedelta(milliseconds=1)

# CRC-64-AVRO (the Avro specification's Rabin fingerprint).
_CRC_EMPTY = 0xC15D213AA4D7A795


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc64_avro(data: bytes) -> bytes:
    """The 8-byte little-endian CRC-64-AVRO fingerprint of `data`."""
    fp = _CRC_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _CRC_TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


@dataclass(frozen=True, slots=True)
class SchemaVersion:
    """One version of one event type's schema."""

    event_type: str
    version: int
    path: Path
    schema: dict[str, Any]  # as written in the .avsc file
    parsed: Any  # fastavro's parsed form, made once (reading)
    writer: Write  # generated writer of the body from a record (writing)
    event_writer: Write  # generated writer of the body straight from a LedgerEvent
    read_record: ReadRecord  # generated reader of the body, as fastavro reads it
    read_event: ReadEvent | None  # generated reader of the body into a LedgerEvent
    canonical: str  # Parsing Canonical Form
    fingerprint: bytes  # CRC-64-AVRO of the canonical form, little-endian
    field_names: frozenset[str]
    payload_fields: tuple[str, ...]
    payload_set: frozenset[str]
    has_payload_instants: bool  # payload fields of logical type timestamp-millis

    @property
    def header(self) -> bytes:
        return MARKER + self.fingerprint

    @property
    def current(self) -> bool:
        return HISTORY_DIR not in self.path.parents


@dataclass(frozen=True, slots=True)
class Registry:
    current: dict[str, SchemaVersion]  # event type -> current version
    by_fingerprint: dict[bytes, SchemaVersion]  # every known version


def _has_instant(avro_type: Any) -> bool:
    if isinstance(avro_type, list):
        return any(_has_instant(t) for t in avro_type)
    if isinstance(avro_type, dict):
        if avro_type.get("logicalType") == "timestamp-millis":
            return True
        if avro_type.get("type") == "record":
            return any(_has_instant(f["type"]) for f in avro_type["fields"])
        if avro_type.get("type") == "array":
            return _has_instant(avro_type["items"])
    return False


def load_schema(path: Path) -> SchemaVersion:
    """Read, parse and fingerprint one .avsc file."""
    schema = json.loads(path.read_text(encoding="utf-8"))
    event_type = schema.get("event_type")
    if event_type not in FAMILY_OF:
        raise EncodeError(
            f"schema {str(path)!r} names event_type {event_type!r}, "
            "expected one of contract.vocab.EVENT_TYPES"
        )
    canonical = to_parsing_canonical_form(schema)
    payload_fields = tuple(
        f["name"] for f in schema["fields"] if f["name"] not in ENVELOPE_FIELDS
    )
    version = SchemaVersion(
        event_type=event_type,
        version=int(schema.get("version", 1)),
        path=path,
        schema=schema,
        parsed=parse_schema(schema),
        writer=_unmade,
        event_writer=_unmade,
        read_record=_unmade,
        read_event=_unmade,
        canonical=canonical,
        fingerprint=crc64_avro(canonical.encode("utf-8")),
        field_names=frozenset(f["name"] for f in schema["fields"]),
        payload_fields=payload_fields,
        payload_set=frozenset(payload_fields),
        has_payload_instants=any(
            _has_instant(f["type"])
            for f in schema["fields"]
            if f["name"] in payload_fields
        ),
    )
    # Generated on first use: a process uses few of the 4 x 58 writers and readers,
    # and compiling them all took over a second of every short run.
    _made_on_first_call(version, "writer", lambda: generate_writer(schema))
    _made_on_first_call(
        version, "event_writer", lambda: generate_writer(schema, _EVENT_SOURCES)
    )
    _made_on_first_call(version, "read_record", lambda: generate_record_reader(schema))
    if version.field_names >= _ENVELOPE_SET:
        _made_on_first_call(version, "read_event", lambda: _event_reader(schema))
    else:
        object.__setattr__(version, "read_event", None)  # read through a record
    return version


def _event_reader(schema: dict[str, Any]) -> ReadEvent:
    event_type = schema["event_type"]
    drop_nulls = FAMILY_OF[event_type] != DERIVED
    reader = generate_event_reader(schema, event_type, drop_nulls=drop_nulls)
    if reader is None:
        raise AssertionError(f"no event reader for a schema of {event_type}")
    return reader


def _unmade(*args: Any) -> Any:
    raise AssertionError("generated code used before it was set")


def _made_on_first_call(
    version: SchemaVersion, name: str, make: Callable[[], Callable[..., Any]]
) -> None:
    """Set `version.<name>` to a stub that generates the code, puts it in its place
    and runs it; later calls go straight to the generated code."""

    def first_call(*args: Any) -> Any:
        made = make()
        object.__setattr__(version, name, made)
        return made(*args)

    object.__setattr__(version, name, first_call)


def _schema_files(root: Path) -> Iterator[Path]:
    return iter(sorted(root.glob("**/*.avsc")))


# The registry's maps once it is loaded (hot-path lookups without a call).
_CURRENT: dict[str, SchemaVersion] = {}
_BY_FINGERPRINT: dict[bytes, SchemaVersion] = {}


@cache
def registry() -> Registry:
    """Every schema version under schemas/, parsed once per process."""
    current: dict[str, SchemaVersion] = {}
    by_fingerprint: dict[bytes, SchemaVersion] = {}
    for path in _schema_files(SCHEMA_DIR):
        version = load_schema(path)
        if version.current:
            if version.event_type in current:
                raise EncodeError(
                    f"two current schemas for event type {version.event_type!r}: "
                    f"{current[version.event_type].path.name} and {path.name}"
                )
            current[version.event_type] = version
        other = by_fingerprint.get(version.fingerprint)
        if other is not None and other.event_type != version.event_type:
            raise EncodeError(
                f"schemas {other.path.name} and {path.name} have the same "
                f"fingerprint {version.fingerprint.hex()} but different event types"
            )
        if other is None or version.current:
            by_fingerprint[version.fingerprint] = version
    _CURRENT.update(current)
    _BY_FINGERPRINT.update(by_fingerprint)
    logger.debug(
        "schemas loaded current=%d versions=%d", len(current), len(by_fingerprint)
    )
    return Registry(current=current, by_fingerprint=by_fingerprint)


def schema_for(event_type: str) -> SchemaVersion:
    """The current schema of `event_type`."""
    try:
        return registry().current[event_type]
    except KeyError:
        raise EncodeError(
            f"no schema for event type {event_type!r}, expected one of "
            f"{sorted(registry().current)}"
        ) from None


# Encoding


def to_millis(value: datetime, what: str) -> int:
    """Milliseconds since the epoch of a tz-aware datetime; naive ones are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise EncodeError(
            f"{what}: naive datetime {value.isoformat()!r}, expected a tz-aware instant"
        )
    return (value - _EPOCH) // _MILLI


class _NaiveInstant(Exception):
    """A naive datetime met by `_millis`: `_named_millis` names where it is."""


def _millis(value: Any) -> Any:
    """`value` with every datetime in it as epoch milliseconds (no path kept)."""
    kind = type(value)
    if kind is str or kind is int or value is None or kind is bool:
        return value
    if kind is dict:
        return {k: _millis(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_millis(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _NaiveInstant
        return (value - _EPOCH) // _MILLI
    if isinstance(value, Mapping):
        return {k: _millis(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_millis(v) for v in value]
    return value


def _named_millis(value: Any, what: str) -> Any:
    if isinstance(value, datetime):
        return to_millis(value, what)
    if isinstance(value, Mapping):
        return {k: _named_millis(v, f"{what}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_named_millis(v, f"{what}[{i}]") for i, v in enumerate(value)]
    return value


def _instants_to_millis(value: Any, what: str) -> Any:
    """`value` with every datetime in it as epoch milliseconds; a naive one is an
    `EncodeError` naming its path under `what` (the path is only built then)."""
    try:
        return _millis(value)
    except _NaiveInstant:
        return _named_millis(value, what)


def to_record(
    event: LedgerEvent, version: SchemaVersion | None = None
) -> dict[str, Any]:
    """The Avro record of an event: envelope fields plus payload fields."""
    version = version or schema_for(event.event_type)
    what = f"event {event.event_id} ({event.event_type})"

    payload = event.payload
    unknown = payload.keys() - version.field_names
    if unknown or payload.keys() & _ENVELOPE_SET:
        bad = sorted(unknown | (payload.keys() & _ENVELOPE_SET))
        raise EncodeError(
            f"{what}: payload fields {bad} are not in schema "
            f"{version.path.name}, expected only {list(version.payload_fields)}"
        )
    record = (
        _instants_to_millis(payload, f"{what} payload")
        if version.has_payload_instants
        else dict(payload)
    )

    actor = event.actor
    record["event_id"] = event.event_id
    record["listing_id"] = event.listing_id
    record["occurred_at"] = to_millis(event.occurred_at, f"{what} occurred_at")
    record["actor"] = {"kind": actor.kind, "code": actor.code, "name": actor.name}
    record["jurisdiction"] = event.jurisdiction
    record["source_event_id"] = event.source_event_id
    record["seq"] = event.seq
    record["correlation_id"] = event.correlation_id
    record["causation_id"] = event.causation_id
    return record


_ENVELOPE_SET = frozenset(ENVELOPE_FIELDS)


def encode_record(record: Mapping[str, Any], version: SchemaVersion) -> bytes:
    """Single-object encoding of a raw record with the given schema version."""
    buf = bytearray(version.header)
    try:
        version.writer(buf, record, "")
    except WriteError as exc:
        raise EncodeError(
            f"record {record.get('event_id')!r} ({version.event_type}) does not fit "
            f"schema {version.path.name}: {exc}"
        ) from exc
    return bytes(buf)


def encode_record_fastavro(record: Mapping[str, Any], version: SchemaVersion) -> bytes:
    """The same encoding by fastavro's generic writer (reference for tests)."""
    buf = io.BytesIO()
    buf.write(version.header)
    schemaless_writer(buf, version.parsed, record)
    return buf.getvalue()


def encode(event: LedgerEvent) -> bytes:
    """Encode one event with the current schema of its type."""
    try:
        version = _CURRENT[event.event_type]
    except (KeyError, TypeError):
        version = schema_for(event.event_type)
    occurred = event.occurred_at
    if (
        version.has_payload_instants
        or not event.payload.keys() <= version.payload_set
        or type(occurred) is not datetime
        or occurred.utcoffset() is None
    ):
        # Payload instants to convert, or a problem that `to_record` names.
        return encode_record(to_record(event, version), version)
    buf = bytearray(version.header)
    try:
        version.event_writer(buf, event, "")
    except WriteError as exc:
        raise EncodeError(
            f"record {event.event_id!r} ({version.event_type}) does not fit "
            f"schema {version.path.name}: {exc}"
        ) from exc
    return bytes(buf)


# Decoding


def writer_of(data: bytes) -> SchemaVersion:
    """The writer schema named by a message's header."""
    if len(data) < HEADER_SIZE or data[:2] != MARKER:
        raise DecodeError(
            f"message header {data[:HEADER_SIZE].hex()!r} is not Avro single-object "
            f"encoding, expected marker c301 and an 8-byte fingerprint"
        )
    fingerprint = data[2:HEADER_SIZE]
    version = registry().by_fingerprint.get(fingerprint)
    if version is None:
        raise DecodeError(
            f"unknown writer schema fingerprint {fingerprint.hex()!r}, expected one of "
            f"the {len(registry().by_fingerprint)} schema versions under schemas/"
        )
    return version


_BAD_BODY = (EOFError, ValueError, TypeError, IndexError, KeyError)


def _bad_body(writer: SchemaVersion, exc: Exception) -> DecodeError:
    return DecodeError(
        f"body of a {writer.event_type} message (schema {writer.path.name}) "
        f"does not decode: {exc!r}"
    )


def _trailing(writer: SchemaVersion, extra: int) -> DecodeError:
    return DecodeError(
        f"{extra} trailing bytes after a {writer.event_type} "
        f"message (schema {writer.path.name}), expected none"
    )


def decode_record(data: bytes) -> tuple[str, dict[str, Any]]:
    """Decode to (event type, raw record) under the current schema of the type."""
    writer = writer_of(data)
    reader = schema_for(writer.event_type)
    if writer is reader:
        # The common case: no resolution, the generated reader of the schema.
        try:
            record, end = writer.read_record(data, HEADER_SIZE)
        except _BAD_BODY as exc:
            raise _bad_body(writer, exc) from exc
        if end != len(data):
            raise _trailing(writer, len(data) - end)
        return writer.event_type, record
    buf = io.BytesIO(data)
    buf.seek(HEADER_SIZE)
    try:
        resolved = schemaless_reader(buf, writer.parsed, reader.parsed)
    except _BAD_BODY as exc:
        raise _bad_body(writer, exc) from exc
    if buf.tell() != len(data):
        raise _trailing(writer, len(data) - buf.tell())
    if not isinstance(resolved, dict):
        raise DecodeError(f"{writer.event_type} message decoded to a non-record")
    return writer.event_type, resolved


def decode(data: bytes) -> LedgerEvent:
    """Decode one message into a ledger event (instants tz-aware UTC)."""
    writer = _BY_FINGERPRINT.get(data[2:HEADER_SIZE])
    if (
        writer is None
        or data[:2] != MARKER
        or writer.read_event is None
        or _CURRENT.get(writer.event_type) is not writer
    ):
        event_type, record = decode_record(data)
        return from_record(event_type, record)
    try:
        event, end = writer.read_event(data, HEADER_SIZE)
    except _BAD_BODY as exc:
        raise _bad_body(writer, exc) from exc
    if end != len(data):
        raise _trailing(writer, len(data) - end)
    return event


def _drop_nulls(value: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _drop_nulls(v) if isinstance(v, dict) else v
        for k, v in value.items()
        if v is not None
    }


def from_record(event_type: str, record: dict[str, Any]) -> LedgerEvent:
    actor = record.pop("actor")
    envelope = {name: record.pop(name) for name in ENVELOPE_FIELDS if name != "actor"}
    envelope["event_id"] = str(envelope["event_id"])  # the uuid logical type
    if FAMILY_OF[event_type] == DERIVED:
        payload = record
    else:
        payload = _drop_nulls(record)
    return LedgerEvent(
        event_type=event_type,
        actor=Actor(kind=actor["kind"], code=actor["code"], name=actor["name"]),
        payload=payload,
        **envelope,
    )


# The schemas topic


def schema_messages() -> list[tuple[str, str]]:
    """(fingerprint hex, schema JSON) of every schema version in use.

    The value is the full schema (with docs and logical types) as compact JSON with
    sorted keys, so any reader can decode with it; the key is the fingerprint of its
    Parsing Canonical Form, as carried by every message.
    """
    return [
        (
            fp.hex(),
            json.dumps(
                v.schema, ensure_ascii=False, sort_keys=True, separators=(",", ":")
            ),
        )
        for fp, v in sorted(registry().by_fingerprint.items())
    ]


def publish_schemas(bootstrap_servers: str, topic: str, timeout: float = 30.0) -> int:
    """Write every schema version to the compacted schemas topic; returns the count."""
    from confluent_kafka import KafkaException, Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
        }
    )
    failures: list[str] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            failures.append(f"{msg.key()!r}: {err}")

    messages = schema_messages()
    for key, value in messages:
        producer.produce(
            topic,
            key=key.encode(),
            value=value.encode("utf-8"),
            on_delivery=on_delivery,
        )
    remaining = producer.flush(timeout)
    if remaining or failures:
        raise KafkaException(
            f"schemas not written to topic={topic}: {remaining} undelivered, "
            f"failures={failures}"
        )
    logger.info("schemas published topic=%s count=%d", topic, len(messages))
    return len(messages)
