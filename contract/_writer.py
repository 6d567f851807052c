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


# Generated writers
#
# The closures above call one function per field and build every field's path
# string on the way down. `generate_writer` instead writes the Python source of
# one straight-line function per record schema (unions, nested records and enums
# inlined, varints looked up in a table) and compiles it once; a field's path is
# only built when its value is refused, and the messages are the same.


_NULL_FIRST, _VALUE_SECOND = b"\x00", b"\x02"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _item(path: str, index: int) -> str:
    return f"{path}[{index}]"


class _Source:
    """The source text of one generated function, with its constants."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.consts: dict[str, Any] = {
            "_fail": _fail,
            "_join": _join,
            "_item": _item,
            "_S": _SMALL,
            "_Z": _zigzag,
            "_datetime": datetime,
            "_EPOCH": _EPOCH,
            "_MILLI": _MILLI,
            "_EPOCH_ORDINAL": _EPOCH_ORDINAL,
            "_date": date,
        }
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any, prefix: str = "_c") -> str:
        name = self.name(prefix)
        self.consts[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


def _emit_value(
    src: _Source,
    schema: Any,
    var: str,
    path: str,
    indent: int,
    named: dict[str, Any],
    ns: str,
    inlining: frozenset[str],
) -> None:
    """Code writing the value in `var`; `path` is an expression naming its field."""
    emit = src.emit
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        full = schema if "." in schema else f"{ns}.{schema}" if ns else schema
        if full in inlining:
            raise NotImplementedError(f"recursive Avro type {full!r} is not generated")
        _emit_value(src, named[full], var, path, indent, named, ns, inlining)
        return
    if isinstance(schema, list):
        branches = [s for s in schema if s != "null"]
        if len(schema) != 2 or len(branches) != 1:
            raise NotImplementedError(
                f"only [null, T] unions are compiled, got {schema}"
            )
        null_tag, value_tag = (
            (_NULL_FIRST, _VALUE_SECOND)
            if schema.index("null") == 0
            else (_VALUE_SECOND, _NULL_FIRST)
        )
        emit(indent, f"if {var} is None:")
        emit(indent + 1, f"buf += {null_tag!r}")
        emit(indent, "else:")
        emit(indent + 1, f"buf += {value_tag!r}")
        _emit_value(src, branches[0], var, path, indent + 1, named, ns, inlining)
        return
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = None if isinstance(schema, str) else schema.get("logicalType")
    fail = f"raise _fail({path}, {var}, {{!r}})"
    if logical == "date" and kind == "int":
        emit(indent, f"if type({var}) is not _date:")
        emit(indent + 1, fail.format("a date"))
        emit(indent, f"{var} = {var}.toordinal() - _EPOCH_ORDINAL")
        emit(indent, f"buf += _S[{var}] if 0 <= {var} < 4096 else _Z({var})")
    elif logical == "timestamp-millis" and kind == "long":
        emit(indent, f"if type({var}) is not int:")
        emit(
            indent + 1,
            f"if not isinstance({var}, _datetime) or {var}.utcoffset() is None:",
        )
        emit(indent + 2, fail.format("a tz-aware datetime or epoch milliseconds"))
        emit(indent + 1, f"{var} = ({var} - _EPOCH) // _MILLI")
        emit(indent, f"buf += _S[{var}] if 0 <= {var} < 4096 else _Z({var})")
    elif logical == "decimal" and kind == "bytes":
        write = src.const(_decimal_writer(schema.get("scale", 0), schema["precision"]))
        emit(indent, f"{write}(buf, {var}, {path})")
    elif kind == "null":
        emit(indent, f"if {var} is not None:")
        emit(indent + 1, fail.format("null"))
    elif kind == "boolean":
        emit(indent, f"if {var} is True:")
        emit(indent + 1, "buf += b'\\x01'")
        emit(indent, f"elif {var} is False:")
        emit(indent + 1, "buf += b'\\x00'")
        emit(indent, "else:")
        emit(indent + 1, fail.format("a boolean"))
    elif kind in ("int", "long"):
        low, high, what = (
            (_INT_MIN, _INT_MAX, "a 32-bit integer")
            if kind == "int"
            else (_LONG_MIN, _LONG_MAX, "a 64-bit integer")
        )
        emit(indent, f"if type({var}) is not int or not {low} <= {var} <= {high}:")
        emit(indent + 1, fail.format(what))
        emit(indent, f"buf += _S[{var}] if 0 <= {var} < 4096 else _Z({var})")
    elif kind == "string":
        emit(indent, f"if type({var}) is not str:")
        emit(indent + 1, fail.format("a string"))
        emit(indent, f"{var} = {var}.encode()")
        size = src.name("_n")
        emit(indent, f"{size} = len({var})")
        emit(indent, f"buf += _S[{size}] if {size} < 4096 else _Z({size})")
        emit(indent, f"buf += {var}")
    elif kind == "bytes":
        emit(indent, f"{src.const(_write_bytes)}(buf, {var}, {path})")
    elif kind == "enum":
        symbols = schema["symbols"]
        index = src.const({s: _long_bytes(i) for i, s in enumerate(symbols)})
        emit(indent, "try:")
        emit(indent + 1, f"buf += {index}[{var}]")
        emit(indent, "except (KeyError, TypeError):")
        emit(
            indent + 1, f"raise _fail({path}, {var}, {f'one of {symbols}'!r}) from None"
        )
    elif kind == "array":
        emit(indent, f"if not isinstance({var}, list | tuple):")
        emit(indent + 1, fail.format("a list"))
        emit(indent, f"if {var}:")
        size = src.name("_n")
        emit(indent + 1, f"{size} = len({var})")
        emit(indent + 1, f"buf += _S[{size}] if {size} < 4096 else _Z({size})")
        index, element = src.name("_i"), src.name("_e")
        emit(indent + 1, f"for {index}, {element} in enumerate({var}):")
        _emit_value(
            src,
            schema["items"],
            element,
            f"_item({path}, {index})",
            indent + 2,
            named,
            ns,
            inlining,
        )
        emit(indent, "buf += b'\\x00'")
    elif kind == "record":
        name = schema["name"]
        space = schema.get("namespace", ns)
        full = name if "." in name else f"{space}.{name}" if space else name
        emit(indent, f"if not isinstance({var}, dict):")
        emit(indent + 1, fail.format("a record (dict)"))
        get = src.name("_g")
        emit(indent, f"{get} = {var}.get")
        for field in schema["fields"]:
            value = src.name("_v")
            emit(indent, f"{value} = {get}({field['name']!r})")
            _emit_value(
                src,
                field["type"],
                value,
                f"_join({path}, {field['name']!r})",
                indent,
                named,
                space,
                inlining | {full},
            )
    else:
        raise NotImplementedError(f"no compiled writer for Avro type {kind!r}")


def _named_types(schema: Any, ns: str, found: dict[str, Any]) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, ns, found)
    elif isinstance(schema, dict):
        kind = schema["type"]
        if kind in ("record", "enum", "fixed"):
            name = schema["name"]
            space = schema.get("namespace", ns)
            full = name if "." in name else f"{space}.{name}" if space else name
            found[full] = schema
            ns = space
        if kind == "record":
            for field in schema["fields"]:
                _named_types(field["type"], ns, found)
        elif kind == "array":
            _named_types(schema["items"], ns, found)


def generate_writer(schema: Any, sources: dict[str, str] | None = None) -> Write:
    """A writer for an Avro schema, generated as Python source and compiled once.

    With `sources` (a record schema only), the writer reads the record's top-level
    fields from the given expressions of `value` instead of `value.get(name)`;
    fields without one are read from `payload.get(name)`, where `payload` is
    `value.payload`. This writes a `LedgerEvent` without building its record.
    """
    named: dict[str, Any] = {}
    _named_types(schema, "", named)
    src = _Source()
    src.emit(0, "def write(buf, value, path):")
    if sources is None:
        _emit_value(src, schema, "value", "path", 1, named, "", frozenset())
    else:
        space = schema.get("namespace", "")
        src.emit(1, "payload = value.payload.get")
        for field in schema["fields"]:
            name = field["name"]
            var = src.name("_v")
            src.emit(1, f"{var} = {sources.get(name, f'payload({name!r})')}")
            _emit_value(
                src,
                field["type"],
                var,
                f"_join(path, {name!r})",
                1,
                named,
                space,
                frozenset(),
            )
    code = "\n".join(src.lines) + "\n"
    scope = dict(src.consts)
    exec(compile(code, "<contract._writer generated>", "exec"), scope)  # noqa: S102
    write: Write = scope["write"]
    return write
