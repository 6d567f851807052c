"""A compiled Avro binary writer: one closure per schema, made once.

fastavro's generic writer walks the schema for every record and resolves every union
by trial validation; the ledger's schemas are fixed and their unions are all
`["null", T]`, so a writer compiled from the schema does the same job several times
faster. The bytes are the Avro binary encoding, identical to fastavro's (tested).
Values must already be in Avro form: instants as epoch milliseconds (int) or
tz-aware datetimes, dates as `date`, amounts as `Decimal`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

Write = Callable[[bytearray, Any, str], None]


class WriteError(ValueError):
    """A value does not fit the schema; the message names the field path."""


def _varint(n: int) -> bytes:
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _zigzag(n: int) -> bytes:
    return _varint((n << 1) ^ (n >> 63))


_SMALL = [_zigzag(i) for i in range(4096)]
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLI = timedelta(milliseconds=1)
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _long_bytes(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 4096 else _zigzag(n)


def _fail(path: str, value: Any, expected: str) -> WriteError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return WriteError(f"field {path}: got {shown}, expected {expected}")


def _write_null(buf: bytearray, value: Any, path: str) -> None:
    if value is not None:
        raise _fail(path, value, "null")


def _write_boolean(buf: bytearray, value: Any, path: str) -> None:
    if value is True:
        buf += b"\x01"
    elif value is False:
        buf += b"\x00"
    else:
        raise _fail(path, value, "a boolean")


def _write_int(buf: bytearray, value: Any, path: str) -> None:
    if type(value) is not int or not _INT_MIN <= value <= _INT_MAX:
        raise _fail(path, value, "a 32-bit integer")
    buf += _long_bytes(value)


def _write_long(buf: bytearray, value: Any, path: str) -> None:
    if type(value) is not int or not _LONG_MIN <= value <= _LONG_MAX:
        raise _fail(path, value, "a 64-bit integer")
    buf += _long_bytes(value)


def _write_string(buf: bytearray, value: Any, path: str) -> None:
    if type(value) is not str:
        raise _fail(path, value, "a string")
    data = value.encode("utf-8")
    buf += _long_bytes(len(data))
    buf += data


def _write_bytes(buf: bytearray, value: Any, path: str) -> None:
    if not isinstance(value, bytes | bytearray):
        raise _fail(path, value, "bytes")
    buf += _long_bytes(len(value))
    buf += value


def _write_date(buf: bytearray, value: Any, path: str) -> None:
    if type(value) is not date:
        raise _fail(path, value, "a date")
    buf += _long_bytes(value.toordinal() - _EPOCH_ORDINAL)


def _write_timestamp_millis(buf: bytearray, value: Any, path: str) -> None:
    if type(value) is int:
        buf += _long_bytes(value)
        return
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise _fail(path, value, "a tz-aware datetime or epoch milliseconds")
    buf += _long_bytes((value - _EPOCH) // _MILLI)


def _decimal_writer(scale: int, precision: int) -> Write:
    limit = 10**precision

    def write(buf: bytearray, value: Any, path: str) -> None:
        if not isinstance(value, Decimal):
            raise _fail(path, value, f"a Decimal with at most {scale} decimals")
        sign, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int) or exponent < -scale:
            raise _fail(path, value, f"a Decimal with at most {scale} decimals")
        unscaled = int("".join(map(str, digits)) or "0") * 10 ** (exponent + scale)
        if unscaled >= limit:
            raise _fail(path, value, f"a Decimal of at most {precision} digits")
        if sign:
            unscaled = -unscaled
        size = (abs(unscaled).bit_length() + 8) // 8
        data = unscaled.to_bytes(size, "big", signed=True)
        buf += _long_bytes(len(data))
        buf += data

    return write


def _enum_writer(symbols: list[str]) -> Write:
    index = {symbol: _long_bytes(i) for i, symbol in enumerate(symbols)}

    def write(buf: bytearray, value: Any, path: str) -> None:
        try:
            buf += index[value]
        except (KeyError, TypeError):
            raise _fail(path, value, f"one of {symbols}") from None

    return write


def _array_writer(item: Write) -> Write:
    def write(buf: bytearray, value: Any, path: str) -> None:
        if not isinstance(value, list | tuple):
            raise _fail(path, value, "a list")
        if value:
            buf += _long_bytes(len(value))
            for i, element in enumerate(value):
                item(buf, element, f"{path}[{i}]")
        buf += b"\x00"

    return write


def _nullable_writer(inner: Write, null_index: int) -> Write:
    null_tag, value_tag = (b"\x00", b"\x02") if null_index == 0 else (b"\x02", b"\x00")

    def write(buf: bytearray, value: Any, path: str) -> None:
        if value is None:
            buf += null_tag
        else:
            buf += value_tag
            inner(buf, value, path)

    return write


def _record_writer(fields: list[tuple[str, Write]]) -> Write:
    def write(buf: bytearray, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, value, "a record (dict)")
        get = value.get
        for name, writer in fields:
            writer(buf, get(name), f"{path}.{name}" if path else name)

    return write


_PRIMITIVES: dict[str, Write] = {
    "null": _write_null,
    "boolean": _write_boolean,
    "int": _write_int,
    "long": _write_long,
    "string": _write_string,
    "bytes": _write_bytes,
}


def compile_writer(
    schema: Any, named: dict[str, Write] | None = None, ns: str = ""
) -> Write:
    """A writer for an Avro schema (the JSON form, as in the .avsc file)."""
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        full = schema if "." in schema else f"{ns}.{schema}" if ns else schema
        return named[full]
    if isinstance(schema, list):
        branches = [s for s in schema if s != "null"]
        if len(schema) != 2 or len(branches) != 1:
            raise NotImplementedError(
                f"only [null, T] unions are compiled, got {schema}"
            )
        return _nullable_writer(
            compile_writer(branches[0], named, ns), schema.index("null")
        )

    kind = schema["type"]
    logical = schema.get("logicalType")
    if logical == "date" and kind == "int":
        return _write_date
    if logical == "timestamp-millis" and kind == "long":
        return _write_timestamp_millis
    if logical == "decimal" and kind == "bytes":
        return _decimal_writer(schema.get("scale", 0), schema["precision"])
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    if kind == "array":
        return _array_writer(compile_writer(schema["items"], named, ns))
    name = schema["name"]
    space = schema.get("namespace", ns)
    full = name if "." in name else f"{space}.{name}" if space else name
    if kind == "enum":
        named[full] = _enum_writer(schema["symbols"])
        return named[full]
    if kind == "record":
        fields: list[tuple[str, Write]] = []
        named[full] = _record_writer(fields)
        fields.extend(
            (field["name"], compile_writer(field["type"], named, space))
            for field in schema["fields"]
        )
        return named[full]
    raise NotImplementedError(f"no compiled writer for Avro type {kind!r}")
