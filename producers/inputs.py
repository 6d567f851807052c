"""Reading input files: published listings and lifecycles, as JSON Lines or CSV.

A file holds one kind of record, recognised by its keys: a listing (失信名单条目) as the
platform publishes it, or a lifecycle (one case's acts in order). CSV listings take
the platform's Chinese labels (RULES.md §5) or the snake_case keys of the JSON files;
CSV lifecycles hold one row per act, a lifecycle's rows one after another (the
lifecycle's own columns, such as case_number and the debtor's, are read from its
first row; a later row may leave them blank or repeat them).
"""

from __future__ import annotations

import csv
import itertools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

logger = logging.getLogger(__name__)

LISTING = "listing"
LIFECYCLE = "lifecycle"

# Platform labels (and platform JSON keys) → the snake_case keys of the sample files.
LISTING_LABELS: dict[str, str] = {
    "记录编号": "platform_record_id",
    "id": "platform_record_id",
    "被执行人姓名/名称": "debtor_name",
    "iname": "debtor_name",
    "案号": "case_number",
    "caseCode": "case_number",
    "年龄": "age",
    "性别": "gender",
    "sexy": "gender",
    "身份证号码/组织机构代码": "card_number",
    "cardNum": "card_number",
    "法定代表人或者负责人姓名": "legal_representative",
    "businessEntity": "legal_representative",
    "执行法院": "executing_court",
    "courtName": "executing_court",
    "省份": "province",
    "areaName": "province",
    "partyTypeName": "party_type_code",
    "执行依据文号": "enforcement_basis_number",
    "gistId": "enforcement_basis_number",
    "立案时间": "filing_date",
    "regDate": "filing_date",
    "做出执行依据单位": "enforcement_basis_issuer",
    "gistUnit": "enforcement_basis_issuer",
    "生效法律文书确定的义务": "obligations",
    "duty": "obligations",
    "被执行人的履行情况": "performance_status",
    "performance": "performance_status",
    "已履行": "performed_part",
    "performedPart": "performed_part",
    "未履行": "unperformed_part",
    "unperformPart": "unperformed_part",
    "失信被执行人行为具体情形": "dishonest_conduct",
    "disruptTypeName": "dishonest_conduct",
    "发布时间": "publish_date",
    "publishDate": "publish_date",
}
LISTING_INT_FIELDS = ("platform_record_id", "age")
LIFECYCLE_DEBTOR_COLUMNS = {
    "debtor_name": "name",
    "debtor_entity_type": "entity_type",
    "debtor_id_number": "id_number",
    "debtor_published_card_number": "published_card_number",
    "debtor_legal_representative": "legal_representative",
    "debtor_legal_rep_id_number": "legal_rep_id_number",
}
LIFECYCLE_HEAD_COLUMNS = (
    "lifecycle_id",
    "platform_record_id",
    "case_number",
    "jurisdiction",
    "timezone",
    "scenario",
    "summary",
)


@dataclass(frozen=True, slots=True)
class Reject:
    """One reason a record cannot be published, in the rejects file's columns."""

    line: int
    record_id: str
    field: str
    value: str
    reason: str


@dataclass(slots=True)
class InputRecord:
    """One record read from a file: its kind and fields, or why it could not be read."""

    line: int
    end: int  # byte offset after the record, for progress
    kind: str | None
    obj: dict[str, Any] | None
    record_id: str
    reject: Reject | None = None


class DuplicateKeyError(ValueError):
    """A JSON object names one key twice: which value was meant is unknown (Python's
    json keeps the last one, silently)."""

    def __init__(self, path: str, values: list[Any]) -> None:
        self.path = path
        self.values = values
        key = path.rsplit(".", 1)[-1]
        times = "twice" if len(values) == 2 else f"{len(values)} times"
        super().__init__(
            f"the key {key!r} is given {times} in one JSON object ({path});"
            " expected each key once"
        )

    @property
    def shown(self) -> str:
        """The values given, as JSON, for the rejects file."""
        return ", ".join(
            json.dumps(v, ensure_ascii=False, default=str) for v in self.values
        )[:200]


class _Duplicate(Exception):
    pass


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Duplicate
    return obj


def load_json(text: str | bytes) -> Any:
    """`json.loads`, refusing an object that names a key twice: raises
    `DuplicateKeyError` naming the first such key by its path (`events.3.payload.
    measure_code`), or ValueError if the text is not JSON."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
    except _Duplicate:
        pass
    # Read again, keeping every object, to say where the key is.
    found: dict[int, tuple[str, list[Any]]] = {}

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            for key, _ in items:
                if key in seen:
                    found[id(obj)] = (key, [v for k, v in items if k == key])
                    break
                seen.add(key)
        return obj

    root = json.loads(text, object_pairs_hook=pairs)
    path, values = _first_duplicate(root, found, "")
    raise DuplicateKeyError(path, values)


def _first_duplicate(
    value: Any, found: dict[int, tuple[str, list[Any]]], path: str
) -> tuple[str, list[Any]]:
    """Path and values of the first object (outermost, then in order) in `found`."""
    items: Iterator[tuple[Any, Any]]
    if isinstance(value, dict):
        hit = found.get(id(value))
        if hit is not None:
            name, values = hit
            return (f"{path}.{name}" if path else name), values
        items = iter(value.items())
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return "", []
    for key, item in items:
        inner = _first_duplicate(item, found, f"{path}.{key}" if path else str(key))
        if inner[0]:
            return inner
    return "", []


def detect_kind(obj: dict[str, Any]) -> str | None:
    """`lifecycle` or `listing` from the keys of one record; None if neither. A
    record with either key of a lifecycle is one (a listing has neither), so a
    lifecycle missing the other is told what it misses."""
    if "events" in obj or "lifecycle_id" in obj:
        return LIFECYCLE
    if "case_number" in obj and ("debtor_name" in obj or "platform_record_id" in obj):
        return LISTING
    return None


def record_id_of(kind: str | None, obj: dict[str, Any]) -> str:
    key = "lifecycle_id" if kind == LIFECYCLE else "platform_record_id"
    value = obj.get(key)
    return "" if value is None else str(value)


def read_records(path: Path) -> Iterator[InputRecord]:
    """Every record of `path`, in file order; unreadable ones carry a `Reject`.

    Raises `UnreadableFileError` if the file (or the rest of it) cannot be read.
    """
    try:
        if path.suffix.lower() == ".csv":
            yield from _read_csv(path)
        else:
            yield from _read_jsonl(path)
    except OSError as exc:
        reason = f"{path.name} cannot be read: {exc.strerror or exc}"
        reject = Reject(0, "", "(file)", str(path), reason)
        raise UnreadableFileError(path, reject) from exc


def _read_jsonl(path: Path) -> Iterator[InputRecord]:
    offset = 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            offset += len(raw)
            if not raw.strip():
                continue
            try:
                obj = load_json(raw)
            except DuplicateKeyError as exc:
                yield _duplicate_key(number, offset, raw, exc)
                continue
            except ValueError as exc:
                yield _unreadable(number, offset, "(line)", raw, f"not JSON: {exc}")
                continue
            if not isinstance(obj, dict):
                reason = f"expected a JSON object, got {type(obj).__name__}"
                yield _unreadable(number, offset, "(line)", raw, reason)
                continue
            kind = detect_kind(obj)
            record_id = record_id_of(kind, obj)
            if kind is None:
                yield InputRecord(
                    number,
                    offset,
                    None,
                    obj,
                    record_id,
                    Reject(
                        number,
                        record_id,
                        "(keys)",
                        ",".join(sorted(obj))[:200],
                        "neither a listing (case_number, debtor_name) nor a lifecycle"
                        " (lifecycle_id, events)",
                    ),
                )
                continue
            yield InputRecord(number, offset, kind, obj, record_id)


def _duplicate_key(
    number: int, offset: int, raw: bytes, exc: DuplicateKeyError
) -> InputRecord:
    """A line naming a key twice is rejected whole, naming the key; its id is read
    from the line as json would (last value kept) to say which record it is."""
    obj = json.loads(raw)
    kind = detect_kind(obj) if isinstance(obj, dict) else None
    record_id = record_id_of(kind, obj) if isinstance(obj, dict) else ""
    reject = Reject(number, record_id, exc.path, exc.shown, str(exc))
    return InputRecord(number, offset, None, obj, record_id, reject)


def _unreadable(
    number: int, offset: int, field: str, raw: bytes | str, reason: str
) -> InputRecord:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    reject = Reject(number, "", field, text.strip()[:200], reason)
    return InputRecord(number, offset, None, None, "", reject)


class UnreadableFileError(Exception):
    """The file as a whole cannot be read (not UTF-8, not readable at all); carries
    the one `Reject` that says so."""

    def __init__(self, path: Path, reject: Reject) -> None:
        self.path = path
        self.reject = reject
        super().__init__(f"{path}: {reject.reason}")


# The csv module's limit on one cell (131072 characters unless a program changes it):
# a longer cell rejects its record.
CSV_CELL_LIMIT = csv.field_size_limit()
_REREAD_LIMIT = 2**31 - 1
# Bytes that are not UTF-8, as `surrogateescape` decodes them.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


class _Lines:
    """The physical lines of a CSV file as the csv reader takes them: counted, and
    the lines of the record being read kept, to read it again or show it."""

    def __init__(self, f: IO[str]) -> None:
        self._f = f
        self.number = 0
        self.start = 1
        self.pending: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._f)
        self.number += 1
        if not self.pending:
            self.start = self.number
        self.pending.append(line)
        return line

    def take(self) -> tuple[int, list[str]]:
        """First line and lines of the record just read; the next starts afresh."""
        taken = self.pending
        self.pending = []
        return self.start, taken


@dataclass(slots=True)
class _Row:
    """One CSV record: its lines, cells, and what is wrong with it that the cells
    alone do not show (bytes not UTF-8, a cell too long, not CSV)."""

    start: int
    end: int
    cells: list[str]
    problem: tuple[str, str, str] | None  # field, value, reason


def _csv_rows(lines: _Lines) -> Iterator[_Row]:
    reader = csv.reader(lines)
    while True:
        error: csv.Error | None = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            error = exc
            cells = _reread(lines)
        start, taken = lines.take()
        if not cells and error is None:
            continue  # a blank line, as csv.DictReader skips it
        problem = _undecodable(start, taken) or _too_long(cells)
        if problem is None and error is not None:
            problem = ("(row)", _shown("".join(taken)), f"not CSV: {error}")
        yield _Row(start, lines.number, cells, problem)


def _reread(lines: _Lines) -> list[str]:
    """The record the csv reader gave up on (a cell longer than its limit), read again
    without the limit to its end, so that its cells, and the rest of the file, are
    read as CSV; its over-long cell then rejects it."""
    again = csv.reader(itertools.chain(list(lines.pending), lines))
    limit = csv.field_size_limit(_REREAD_LIMIT)
    try:
        return next(again, [])
    except csv.Error:
        return []
    finally:
        csv.field_size_limit(limit)


def _shown(text: str) -> str:
    """Text for the rejects file: bytes that are not UTF-8 as U+FFFD, at most 200."""
    shown = text[:200] if len(text) > 200 else text
    if not shown.isascii():
        shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return shown.strip()


def _undecodable(start: int, lines: list[str]) -> tuple[str, str, str] | None:
    for offset, line in enumerate(lines):
        found = None if line.isascii() else _UNDECODABLE.search(line)
        if found is None:
            continue
        byte = ord(found.group()) - 0xDC00
        raw = "".join(lines).encode("utf-8", "surrogateescape")
        try:
            raw.decode("gb18030")
            hint = "; its bytes read as GBK/GB18030: save the file as UTF-8"
        except UnicodeDecodeError:
            hint = ""
        return (
            "(line)",
            _shown("".join(lines)),
            f"not UTF-8: byte 0x{byte:02X} at line {start + offset},"
            f" character {found.start() + 1}; expected UTF-8 text{hint}",
        )
    return None


def _too_long(cells: list[str]) -> tuple[str, str, str] | None:
    for index, cell in enumerate(cells):
        if len(cell) > CSV_CELL_LIMIT:
            return (
                str(index),
                _shown(cell),
                f"a cell of {len(cell):,} characters; expected at most"
                f" {CSV_CELL_LIMIT:,}",
            )
    return None


def _read_csv(path: Path) -> Iterator[InputRecord]:
    with path.open(
        "r", encoding="utf-8-sig", errors="surrogateescape", newline=""
    ) as f:
        lines = _Lines(f)
        rows = _csv_rows(lines)
        header = next(rows, None)
        if header is None:
            return
        if header.problem is not None:
            _, value, reason = header.problem
            reason = f"{path.name} cannot be read as CSV: its header row: {reason}"
            raise UnreadableFileError(
                path, Reject(header.end, "", "(header)", value, reason)
            )
        columns = [c.strip() for c in header.cells]
        lifecycles = "lifecycle_id" in columns and "type" in columns
        _unique_columns(path, header, columns, {} if lifecycles else LISTING_LABELS)
        if lifecycles:
            runs = _lifecycle_runs(path, columns.index("lifecycle_id"))
            yield from _lifecycle_rows(path, columns, rows, runs)
        else:
            yield from _listing_rows(path, columns, rows)


def _unique_columns(
    path: Path, header: _Row, columns: list[str], labels: dict[str, str]
) -> None:
    """A header naming one field twice (by one name, or a label and a key such as
    案号 and caseCode) leaves every row ambiguous: the file is not read."""
    seen: dict[str, tuple[int, str]] = {}
    for number, column in enumerate(columns, start=1):
        if not column:
            continue
        key = labels.get(column, column)
        if key in seen:
            first, name = seen[key]
            reason = (
                f"{path.name} cannot be read as CSV: its header names {key} twice"
                f" (column {first} {name}, column {number} {column}); expected each"
                " field once"
            )
            value = ",".join(columns)[:200]
            raise UnreadableFileError(
                path, Reject(header.end, "", "(header)", value, reason)
            )
        seen[key] = (number, column)


def _lifecycle_runs(path: Path, column: int) -> dict[str, list[tuple[int, int]]]:
    """Lines of each lifecycle's rows, as runs of consecutive rows; read in a first
    pass over the file, so that a lifecycle whose rows are apart is known before any
    of its rows is published."""
    runs: dict[str, list[tuple[int, int]]] = {}
    last: str | None = None
    with path.open(
        "r", encoding="utf-8-sig", errors="surrogateescape", newline=""
    ) as f:
        rows = _csv_rows(_Lines(f))
        next(rows, None)  # the header
        for row in rows:
            lifecycle_id = row.cells[column].strip() if column < len(row.cells) else ""
            spans = runs.setdefault(lifecycle_id, [])
            if lifecycle_id == last:
                spans[-1] = (spans[-1][0], row.end)
            else:
                spans.append((row.start, row.end))
            last = lifecycle_id
    return {key: spans for key, spans in runs.items() if len(spans) > 1}


def _apart(lifecycle_id: str, start: int, spans: list[tuple[int, int]]) -> Reject:
    shown = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)
    return Reject(
        start,
        _shown(lifecycle_id),
        "lifecycle_id",
        _shown(lifecycle_id),
        f"the rows of lifecycle {lifecycle_id!r} are apart, at lines {shown};"
        " expected one lifecycle's rows one after another (a CSV lifecycle is"
        " its consecutive rows): which rows make it is not sure, so none of them"
        " is published",
    )


def _as_dict(columns: list[str], row: _Row) -> dict[Any, Any]:
    """Cells by column, as csv.DictReader gives them: extra cells under None."""
    cells = row.cells
    values: dict[Any, Any] = dict(zip(columns, cells, strict=False))
    if len(cells) > len(columns):
        values[None] = cells[len(columns) :]
    elif len(cells) < len(columns):
        for column in columns[len(cells) :]:
            values[column] = None
    return values


def _row_problem(columns: list[str], row: _Row, record_id: str) -> Reject | None:
    if row.problem is None:
        return None
    field, value, reason = row.problem
    if field.isdigit():  # an over-long cell, by index
        index = int(field)
        field = columns[index] if index < len(columns) else f"(cell {index + 1})"
    return Reject(row.end, _shown(record_id), field, value, reason)


def _listing_rows(
    path: Path, columns: list[str], rows: Iterator[_Row]
) -> Iterator[InputRecord]:
    size = path.stat().st_size
    for line in rows:
        number = line.end
        row = _as_dict(columns, line)
        obj: dict[str, Any] = {}
        for column, value in row.items():
            if column is None:
                continue
            obj[LISTING_LABELS.get(column, column)] = value
        record_id = str(obj.get("platform_record_id") or "")
        reject = (
            _row_problem(columns, line, record_id)
            or _extra_cells(number, record_id, row)
            or _coerce_listing(number, record_id, obj)
        )
        if reject is not None:
            record_id = reject.record_id
        kind = LISTING if reject is None else None
        yield InputRecord(number, size, kind, obj, record_id, reject)


def _extra_cells(number: int, record_id: str, row: dict[Any, Any]) -> Reject | None:
    """A row with more cells than the header has: never drop the extra ones."""
    extra = row.get(None)
    if not extra:
        return None
    return Reject(
        number,
        record_id,
        "(row)",
        ",".join(str(cell) for cell in extra)[:200],
        f"{len(extra)} cell(s) more than the header's {len(row) - 1} columns",
    )


def _coerce_listing(number: int, record_id: str, obj: dict[str, Any]) -> Reject | None:
    """Give CSV cells the JSON types of the sample files."""
    if "case_number" not in obj:
        return Reject(
            number, record_id, "案号", "", "column missing: 案号 / case_number"
        )
    for name in LISTING_INT_FIELDS:
        value = obj.get(name)
        if value is None or value == "":
            continue
        try:
            obj[name] = int(str(value).strip())
        except ValueError:
            return Reject(number, record_id, name, str(value), "expected an integer")
    raw = obj.get("_synthetic")
    if isinstance(raw, str):
        if not raw.strip():
            del obj["_synthetic"]
        else:
            try:
                obj["_synthetic"] = load_json(raw)
            except DuplicateKeyError as exc:
                return Reject(
                    number, record_id, f"_synthetic.{exc.path}", exc.shown, str(exc)
                )
            except ValueError as exc:
                return Reject(
                    number, record_id, "_synthetic", raw[:200], f"not JSON: {exc}"
                )
    return None


def _lifecycle_rows(
    path: Path,
    columns: list[str],
    rows: Iterator[_Row],
    apart: dict[str, list[tuple[int, int]]],
) -> Iterator[InputRecord]:
    size = path.stat().st_size
    current: dict[str, Any] | None = None
    start = 0
    reject: Reject | None = None
    first: dict[str, str] = {}  # head cells of the lifecycle's first row

    for line in rows:
        number = line.end
        row = _as_dict(columns, line)
        lifecycle_id = (row.get("lifecycle_id") or "").strip()
        if current is not None and lifecycle_id != current["lifecycle_id"]:
            yield _lifecycle_record(start, size, current, reject)
            current = None
        if current is None:
            current, start, reject = _lifecycle_head(row), number, None
            first = _head_cells(row)
            spans = apart.get(lifecycle_id)
            if spans is not None:
                reject = _apart(lifecycle_id, number, spans)
        problem = _row_problem(columns, line, lifecycle_id)
        event: dict[str, Any] | None = None
        if problem is None:
            event, problem = _lifecycle_event(number, lifecycle_id, row)
            problem = (
                _extra_cells(number, lifecycle_id, row)
                or problem
                or _head_conflict(number, lifecycle_id, row, first, start)
            )
        if problem is not None and reject is None:
            reject = problem
        if event is not None:
            current["events"].append(event)

    if current is not None:
        yield _lifecycle_record(start, size, current, reject)


def _lifecycle_record(
    start: int, size: int, obj: dict[str, Any], reject: Reject | None
) -> InputRecord:
    kind = LIFECYCLE if reject is None else None
    return InputRecord(start, size, kind, obj, str(obj["lifecycle_id"]), reject)


_HEAD_CELLS = LIFECYCLE_HEAD_COLUMNS[1:] + tuple(LIFECYCLE_DEBTOR_COLUMNS)


def _head_cells(row: dict[str, str]) -> dict[str, str]:
    return {c: (row.get(c) or "").strip() for c in _HEAD_CELLS}


def _head_conflict(
    number: int,
    lifecycle_id: str,
    row: dict[str, str],
    first: dict[str, str],
    start: int,
) -> Reject | None:
    """A later row of a lifecycle saying another case number, debtor, ... than its
    first row, from which they are read: never drop the later value. A blank cell
    says nothing."""
    for column in _HEAD_CELLS:
        value = (row.get(column) or "").strip()
        if value and value != first[column]:
            return Reject(
                number,
                _shown(lifecycle_id),
                column,
                _shown(value),
                f"the value of the lifecycle's first row (line {start}):"
                f" {first[column]!r}, or a blank cell; a lifecycle's {column} is read"
                " from its first row",
            )
    return None


def _lifecycle_head(row: dict[str, str]) -> dict[str, Any]:
    head: dict[str, Any] = {
        c: row[c] for c in LIFECYCLE_HEAD_COLUMNS if row.get(c) not in (None, "")
    }
    head["lifecycle_id"] = (row.get("lifecycle_id") or "").strip()
    if isinstance(head.get("platform_record_id"), str):
        try:
            head["platform_record_id"] = int(head["platform_record_id"])
        except ValueError:
            pass  # the contract's validation names it
    head["debtor"] = {
        key: row[c]
        for c, key in LIFECYCLE_DEBTOR_COLUMNS.items()
        if row.get(c) not in (None, "")
    }
    head["events"] = []
    return head


def _lifecycle_event(
    number: int, lifecycle_id: str, row: dict[str, str]
) -> tuple[dict[str, Any] | None, Reject | None]:
    actor = {"kind": row.get("actor_kind") or ""}
    for column, key in (("actor_code", "code"), ("actor_name", "name")):
        if row.get(column):
            actor[key] = row[column]
    payload_text = row.get("payload") or "{}"
    try:
        payload = load_json(payload_text)
    except DuplicateKeyError as exc:
        return None, Reject(
            number, lifecycle_id, f"payload.{exc.path}", exc.shown, str(exc)
        )
    except ValueError as exc:
        return None, Reject(
            number, lifecycle_id, "payload", payload_text[:200], f"not JSON: {exc}"
        )
    seq_text = (row.get("seq") or "").strip()
    try:
        seq: int | str = int(seq_text)
    except ValueError:
        return None, Reject(
            number, lifecycle_id, "seq", seq_text, "expected an integer"
        )
    event = {
        "seq": seq,
        "event_id": row.get("event_id") or "",
        "type": row.get("type") or "",
        "at": row.get("at") or "",
        "actor": actor,
        "payload": payload,
    }
    return event, None
