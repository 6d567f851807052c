"""Generated Avro binary readers: one straight-line function per schema, made once.

fastavro's reader walks the schema for every message; the ledger's schemas are fixed
and small (records, `["null", T]` unions, enums, arrays, strings, ints, longs,
booleans, and the logical types uuid, date, timestamp-millis and decimal), so a
reader generated as Python source reads the same values faster. It reads with the
writer schema only: a message written with an older schema version is resolved by
fastavro (`contract.codec.decode_record`).

Two functions are generated per schema:

- `read_record(data, pos) -> (record, pos)` gives what fastavro's `schemaless_reader`
  gives (uuid fields as `uuid.UUID`, instants tz-aware UTC, dates, Decimals);
- `read_event(data, pos) -> (LedgerEvent, pos)` builds the ledger event straight from
  the bytes, as `contract.codec.from_record` would from that record: event id as
  text, and, for input events (`drop_nulls`), null payload fields left out.

Bad bytes raise EOFError, ValueError or IndexError; the codec turns them into a
`DecodeError`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastavro.logical_readers import LOGICAL_READERS

from contract.event import Actor, LedgerEvent

ReadRecord = Callable[[bytes, int], tuple[dict[str, Any], int]]
ReadEvent = Callable[[bytes, int], tuple[LedgerEvent, int]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_READ_DECIMAL = LOGICAL_READERS["bytes-decimal"]  # fastavro's own, for equal values
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
).fullmatch
_PRIMITIVES = ("null", "boolean", "int", "long", "string", "bytes")
_ENVELOPE = (
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


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint of more than one byte starting at `pos`."""
    b = data[pos]
    n = b & 0x7F
    shift = 7
    pos += 1
    while b & 0x80:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def _eof(what: str, pos: int, size: int) -> EOFError:
    return EOFError(f"{what} at byte {pos} runs past the end of {size} bytes")


def _uuid_text(value: str) -> str:
    return value if _CANONICAL_UUID(value) else str(uuid.UUID(value))


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {
            "_read_long": _read_long,
            "_eof": _eof,
            "_EPOCH": _EPOCH,
            "_EPOCH_ORDINAL": _EPOCH_ORDINAL,
            "_timedelta": timedelta,
            "_date_from": date.fromordinal,
            "_UUID": uuid.UUID,
            "_uuid_text": _uuid_text,
            "_read_decimal": _READ_DECIMAL,
            "_Actor": Actor,
            "_Event": LedgerEvent,
        }
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any) -> str:
        name = self.name("_c")
        self.consts[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _emit_long(src: _Source, indent: int, target: str) -> None:
    byte = src.name("_b")
    src.emit(indent, f"{byte} = data[pos]")
    src.emit(indent, f"if {byte} < 128:")
    src.emit(indent + 1, f"{target} = ({byte} >> 1) ^ -({byte} & 1)")
    src.emit(indent + 1, "pos += 1")
    src.emit(indent, "else:")
    src.emit(indent + 1, f"{target}, pos = _read_long(data, pos)")


def _emit_bytes(src: _Source, indent: int, target: str, what: str) -> None:
    size = src.name("_n")
    _emit_long(src, indent, size)
    end = src.name("_end")
    src.emit(indent, f"{end} = pos + {size}")
    src.emit(indent, f"if {size} < 0 or {end} > size:")
    src.emit(indent + 1, f"raise _eof({what!r}, pos, size)")
    src.emit(indent, f"{target} = data[pos:{end}]")
    src.emit(indent, f"pos = {end}")


def _full_name(schema: dict[str, Any], ns: str) -> tuple[str, str]:
    name = schema["name"]
    space = schema.get("namespace", ns)
    return (name if "." in name else f"{space}.{name}" if space else name), space


def _emit_value(
    src: _Source,
    schema: Any,
    target: str,
    indent: int,
    named: dict[str, Any],
    ns: str,
    drop_nulls: bool,
    uuid_text: bool,
) -> None:
    """Code reading one value of `schema` at `pos` into the local `target`."""
    emit = src.emit
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        full = schema if "." in schema else f"{ns}.{schema}" if ns else schema
        _emit_value(src, named[full], target, indent, named, ns, drop_nulls, uuid_text)
        return
    if isinstance(schema, list):
        branches = [s for s in schema if s != "null"]
        if len(schema) != 2 or len(branches) != 1:
            raise NotImplementedError(f"only [null, T] unions are generated: {schema}")
        null_index = schema.index("null")
        index = src.name("_u")
        _emit_long(src, indent, index)
        emit(indent, f"if {index} == {null_index}:")
        emit(indent + 1, f"{target} = None")
        emit(indent, f"elif {index} == {1 - null_index}:")
        _emit_value(
            src, branches[0], target, indent + 1, named, ns, drop_nulls, uuid_text
        )
        emit(indent, "else:")
        emit(indent + 1, f"raise ValueError(f'union index {{{index}}} out of range')")
        return
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = None if isinstance(schema, str) else schema.get("logicalType")
    if kind == "null":
        emit(indent, f"{target} = None")
    elif kind == "boolean":
        emit(indent, f"{target} = data[pos] != 0")
        emit(indent, "pos += 1")
    elif kind in ("int", "long"):
        _emit_long(src, indent, target)
        if logical == "date" and kind == "int":
            emit(indent, f"{target} = _date_from({target} + _EPOCH_ORDINAL)")
        elif logical == "timestamp-millis" and kind == "long":
            emit(indent, f"{target} = _EPOCH + _timedelta(0, 0, 0, {target})")
    elif kind == "string":
        _emit_bytes(src, indent, target, "string")
        emit(indent, f"{target} = {target}.decode()")
        if logical == "uuid":
            convert = "_uuid_text" if uuid_text else "_UUID"
            emit(indent, f"{target} = {convert}({target})")
    elif kind == "bytes":
        _emit_bytes(src, indent, target, "bytes")
        if logical == "decimal":
            emit(indent, f"{target} = _read_decimal({target}, {src.const(schema)})")
    elif kind == "enum":
        symbols = src.const(tuple(schema["symbols"]))
        index = src.name("_x")
        _emit_long(src, indent, index)
        emit(indent, f"if not 0 <= {index} < {len(schema['symbols'])}:")
        emit(indent + 1, f"raise ValueError(f'enum index {{{index}}} out of range')")
        emit(indent, f"{target} = {symbols}[{index}]")
    elif kind == "array":
        count, item = src.name("_k"), src.name("_e")
        emit(indent, f"{target} = []")
        _emit_long(src, indent, count)
        emit(indent, f"while {count}:")
        emit(indent + 1, f"if {count} < 0:")
        emit(indent + 2, f"{count} = -{count}")
        _emit_long(src, indent + 2, src.name("_block"))
        emit(indent + 1, f"for _ in range({count}):")
        # fastavro-like records inside lists: nulls kept (as contract.codec does).
        _emit_value(src, schema["items"], item, indent + 2, named, ns, False, uuid_text)
        emit(indent + 2, f"{target}.append({item})")
        _emit_long(src, indent + 1, count)
    elif kind == "record":
        _, space = _full_name(schema, ns)
        values = []
        for field in schema["fields"]:
            value = src.name("_v")
            _emit_value(
                src, field["type"], value, indent, named, space, drop_nulls, uuid_text
            )
            values.append((field["name"], value, isinstance(field["type"], list)))
        _emit_dict(src, indent, target, values, drop_nulls)
    else:
        raise NotImplementedError(f"no generated reader for Avro type {kind!r}")


def _emit_dict(
    src: _Source,
    indent: int,
    target: str,
    values: list[tuple[str, str, bool]],
    drop_nulls: bool,
) -> None:
    """`target` = a dict of (name, local) pairs, without null ones if `drop_nulls`."""
    always = [(n, v) for n, v, nullable in values if not (drop_nulls and nullable)]
    if len(always) == len(values):
        src.emit(
            indent, f"{target} = {{{', '.join(f'{n!r}: {v}' for n, v in always)}}}"
        )
        return
    src.emit(indent, f"{target} = {{}}")
    for name, value, nullable in values:
        if drop_nulls and nullable:
            src.emit(indent, f"if {value} is not None:")
            src.emit(indent + 1, f"{target}[{name!r}] = {value}")
        else:
            src.emit(indent, f"{target}[{name!r}] = {value}")


def _named_types(schema: Any, ns: str, found: dict[str, Any]) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, ns, found)
    elif isinstance(schema, dict):
        kind = schema["type"]
        if kind in ("record", "enum", "fixed"):
            full, ns = _full_name(schema, ns)
            found[full] = schema
        if kind == "record":
            for field in schema["fields"]:
                _named_types(field["type"], ns, found)
        elif kind == "array":
            _named_types(schema["items"], ns, found)


def _compile(src: _Source, name: str) -> Any:
    code = "\n".join(src.lines) + "\n"
    scope = dict(src.consts)
    exec(compile(code, f"<contract._reader {name}>", "exec"), scope)  # noqa: S102
    return scope["read"]


def generate_record_reader(schema: dict[str, Any]) -> ReadRecord:
    """`read(data, pos)`: the record at `pos` as fastavro reads it, and the end."""
    named: dict[str, Any] = {}
    _named_types(schema, "", named)
    src = _Source()
    src.emit(0, "def read(data, pos):")
    src.emit(1, "size = len(data)")
    _emit_value(src, schema, "record", 1, named, "", False, False)
    src.emit(1, "return record, pos")
    reader: ReadRecord = _compile(src, schema["name"])
    return reader


def generate_event_reader(
    schema: dict[str, Any], event_type: str, drop_nulls: bool
) -> ReadEvent | None:
    """`read(data, pos)`: the LedgerEvent at `pos` and the end; None when the schema
    lacks an envelope field (such a schema is read through a record)."""
    names = [f["name"] for f in schema["fields"]]
    if not set(_ENVELOPE) <= set(names):
        return None
    named: dict[str, Any] = {}
    _named_types(schema, "", named)
    space = schema.get("namespace", "")
    src = _Source()
    src.emit(0, "def read(data, pos):")
    src.emit(1, "size = len(data)")
    local: dict[str, str] = {}
    payload: list[tuple[str, str, bool]] = []
    for field in schema["fields"]:
        name = field["name"]
        value = src.name("_v")
        envelope = name in _ENVELOPE
        _emit_value(
            src,
            field["type"],
            value,
            1,
            named,
            space,
            drop_nulls and not envelope,
            True,
        )
        if envelope:
            local[name] = value
        else:
            payload.append((name, value, isinstance(field["type"], list)))
    _emit_dict(src, 1, "payload", payload, drop_nulls)
    actor = local["actor"]
    event_id = local["event_id"]
    src.emit(1, f"if type({event_id}) is not str:")  # a plain string field
    src.emit(2, f"{event_id} = str({event_id})")
    args = ", ".join(
        [
            event_id,
            repr(event_type),
            local["listing_id"],
            local["occurred_at"],
            f"_Actor({actor}['kind'], {actor}['code'], {actor}['name'])",
            local["jurisdiction"],
            "payload",
            local["source_event_id"],
            local["seq"],
            local["correlation_id"],
            local["causation_id"],
        ]
    )
    src.emit(1, f"return _Event({args}), pos")
    reader: ReadEvent = _compile(src, schema["name"])
    return reader
