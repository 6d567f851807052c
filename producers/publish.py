"""Publishing input files to the ledger: validate, convert, produce, account for all.

Each record is validated by the contract's input models and turned into events; a
record with any error is rejected whole (its rows go to `<input>.rejects.csv`) so
that a lifecycle never reaches the ledger with a hole in it. Valid records of the
same file are still published, unless the file is published all-or-nothing: then
it goes in one Kafka transaction that is committed only if nothing was rejected.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from contract.errors import EncodeError
from contract.event import LedgerEvent
from producers.inputs import (
    LIFECYCLE,
    InputRecord,
    Reject,
    UnreadableFileError,
    read_records,
)
from producers.publisher import (
    MESSAGE_MAX_BYTES,
    DeliveryError,
    EncodedEvent,
    MissingKeyError,
    Publisher,
    encode_event,
    too_large,
)
from producers.rejects import RejectsFile
from producers.routing import RoutingError, topic_for
from shixin.settings import Settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_DELIVERY = 2


class Interrupted(Exception):
    """A second Ctrl-C or SIGTERM: stop now, drop what is queued."""


@dataclass
class StopFlag:
    """Set by the first Ctrl-C or SIGTERM: finish the record in hand, then flush."""

    requested: bool = False
    signal_name: str = ""


@dataclass
class FileReport:
    """What happened to one input file."""

    path: Path
    records: int = 0
    rejected: int = 0
    events: int = 0
    by_topic: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    seconds: float = 0.0
    committed: bool = True
    interrupted: bool = False
    delivery_error: str | None = None
    rejects_file: Path | None = None
    file_error: str | None = None  # the file, or the rest of it, could not be read

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.delivery_error or self.interrupted:
            return EXIT_DELIVERY
        if self.rejected:
            return EXIT_REJECTED
        return EXIT_OK


ProgressHook = Callable[[InputRecord], None]
# hash of an event id -> (hash of its message, "file:line" it was read from)
Seen = dict[int, tuple[int, str]]


def transactional_id_for(path: Path, settings: Settings) -> str:
    """One transactional id per input file and ledger: a rerun fences a crashed run."""
    digest = hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"{settings.topic_prefix}.publish.{path.name[:40]}.{digest}"


def convert(record: InputRecord) -> tuple[list[LedgerEvent], list[Reject]]:
    """The record's events, or the reasons it is rejected (never both)."""
    from contract.convert import Kind, parse_line

    if record.reject is not None:
        return [], [record.reject]
    assert record.kind is not None and record.obj is not None
    where = f"line {record.line}"
    kind: Kind = "lifecycle" if record.kind == LIFECYCLE else "listing"
    events, errors = parse_line(kind, record.obj, where)
    if not errors:
        return list(events), []
    return [], [_reject_from_error(record, error) for error in errors]


def _reject_from_error(record: InputRecord, error: Any) -> Reject:
    """A rejects-file row from a contract `InputError` (or anything shaped like it)."""
    value = getattr(error, "value", "")
    reason = (
        getattr(error, "expected", None)
        or getattr(error, "reason", None)
        or getattr(error, "message", None)
        or str(error)
    )
    return Reject(
        line=getattr(error, "line", None) or record.line,
        record_id=str(getattr(error, "record", None) or record.record_id),
        field=str(getattr(error, "field", "") or ""),
        value="" if value is None else str(value)[:200],
        reason=str(reason),
    )


def publish_file(
    path: Path,
    *,
    settings: Settings,
    publisher: Publisher | None,
    all_or_nothing: bool = False,
    stop: StopFlag | None = None,
    on_record: ProgressHook | None = None,
    seen: Seen | None = None,
) -> FileReport:
    """Publish one file through `publisher` (None: validate only, a dry run).

    With `all_or_nothing` the publisher must be transactional; the file is committed
    only if every record was accepted and every message acknowledged. `seen` is
    shared by the files of one run, so an act said otherwise in another file is
    refused too.
    """
    stop = stop or StopFlag()
    topics = Topics.for_settings(settings)
    report = FileReport(path)
    if seen is None:
        seen = {}
    by_topic: dict[str, int] = {}  # into report.by_topic at the end
    producing = publisher is not None
    limit = publisher.max_message_bytes if publisher is not None else MESSAGE_MAX_BYTES
    started = time.perf_counter()
    logger.info("publishing file=%s all_or_nothing=%s", path, all_or_nothing)

    if all_or_nothing and publisher is not None:
        publisher.begin()

    with RejectsFile(path) as rejects:
        try:
            for record in read_records(path):
                report.records += 1
                messages, problems = _messages(record, topics, limit)
                if not problems:
                    where = f"{path}:{record.line}"
                    problems = _contradictions(record, messages, seen, where)
                    if problems:
                        messages = []
                if not problems and producing and publisher is not None:
                    messages, problem = _produce(publisher, record, messages)
                    if problem is not None:
                        problems = [problem]
                if problems:
                    report.rejected += 1
                    for problem in problems:
                        rejects.write(problem)
                    if all_or_nothing:
                        producing = False  # the transaction will be aborted
                for topic, event, message in messages:
                    ident = hash(event.event_id)
                    if ident in seen:
                        report.duplicates += 1  # the same act again: the same message
                    else:
                        seen[ident] = (hash(message.value), f"{path}:{record.line}")
                    by_topic[topic] = by_topic.get(topic, 0) + 1
                report.events += len(messages)
                if on_record is not None:
                    on_record(record)
                if stop.requested:
                    report.interrupted = True
                    logger.warning(
                        "stopping on %s file=%s after line=%d",
                        stop.signal_name,
                        path,
                        record.line,
                    )
                    break
        except UnreadableFileError as exc:
            _unreadable(report, rejects, exc.reject)
        if rejects.count:
            report.rejects_file = rejects.path
    report.by_topic.update(by_topic)

    if publisher is not None:
        _finish(publisher, report, all_or_nothing)
    report.seconds = time.perf_counter() - started
    return report


def _unreadable(report: FileReport, rejects: RejectsFile, reject: Reject) -> None:
    """The file (or the rest of it) cannot be read: one reject says why."""
    logger.info("unreadable file=%s reason=%s", report.path, reject.reason)
    report.rejected += 1
    report.file_error = reject.reason
    rejects.write(reject)


Message = tuple[str, LedgerEvent, EncodedEvent]


def _messages(
    record: InputRecord, topics: Topics, limit: int
) -> tuple[list[Message], list[Reject]]:
    """The record's events as the messages they are produced as (in a dry run too),
    or the reasons it is rejected: an event that cannot be routed, encoded or fit in
    a message rejects the whole record."""
    routed, problems = _routed(convert(record), topics)
    if problems:
        return [], problems
    messages: list[Message] = []
    for topic, event in routed:
        try:
            message = encode_event(event)
        except (EncodeError, MissingKeyError) as exc:
            reject = Reject(
                record.line, record.record_id, "(event)", event.event_id, str(exc)
            )
            return [], [reject]
        problem = too_large(message.size, limit)
        if problem is not None:
            field, text = _longest_field(record, event)
            source = event.source_event_id or event.event_id
            reason = f"{event.event_type} {source}: {problem}"
            if field:
                reason += f"; its longest field {field} has {len(text):,} characters"
            value = text[:200] if field else source
            reject = Reject(
                record.line, record.record_id, field or "(event)", value, reason
            )
            return [], [reject]
        messages.append((topic, event, message))
    return messages, []


def _contradictions(
    record: InputRecord, messages: list[Message], seen: Seen, where: str
) -> list[Reject]:
    """An act read before by this run (the same event id, in this file or an
    earlier one) that this record says otherwise: a retry gives the same message,
    anything else would be ignored by the rules engine (it keeps the first), so
    the record is rejected. So is a record giving a platform record id that this
    run read for another listing (one published record is one listing). `where`
    is the record's file and line."""
    for _, event, message in messages:
        before = seen.get(hash(event.event_id))
        if before is not None and before[0] != hash(message.value):
            source = event.source_event_id or event.event_id
            return [
                Reject(
                    record.line,
                    record.record_id,
                    "(event)",
                    source,
                    f"{event.event_type} {source} (event id {event.event_id}) was "
                    f"published from {before[1]} with other content; expected "
                    "the same act unchanged, or a correcting act of its own",
                )
            ]
    platform_ids = {
        (event.payload["platform_record_id"], event.listing_id)
        for _, event, _ in messages
        if event.payload.get("platform_record_id") is not None
    }
    for platform_id, listing in sorted(platform_ids, key=str):
        owner = seen.get(hash(("platform_record_id", platform_id)))
        if owner is not None and owner[0] != hash(listing):
            return [
                Reject(
                    record.line,
                    record.record_id,
                    "platform_record_id",
                    str(platform_id),
                    f"platform record {platform_id} was read from {owner[1]};"
                    f" expected a platform record id of this listing ({listing})"
                    " alone",
                )
            ]
    for platform_id, listing in platform_ids:
        seen.setdefault(
            hash(("platform_record_id", platform_id)),
            (hash(listing), f"{where} for listing {listing}"),
        )
    return []


def _longest_field(record: InputRecord, event: LedgerEvent) -> tuple[str, str]:
    """The input field that makes an event large: its dotted path and its text."""
    path, text = _longest(event.payload or {}, "")
    events = (record.obj or {}).get("events")
    if path and record.kind == LIFECYCLE and isinstance(events, list):
        for index, raw in enumerate(events):
            if isinstance(raw, dict) and raw.get("event_id") == event.source_event_id:
                return f"events.{index}.payload.{path}", text
    return path, text


def _longest(value: Any, path: str) -> tuple[str, str]:
    """Path and text of the longest string inside `value`."""
    if isinstance(value, str):
        return path, value
    items: Iterable[tuple[Any, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return "", ""
    best = ("", "")
    for key, item in items:
        found = _longest(item, f"{path}.{key}" if path else str(key))
        if len(found[1]) > len(best[1]):
            best = found
    return best


def _produce(
    publisher: Publisher, record: InputRecord, messages: list[Message]
) -> tuple[list[Message], Reject | None]:
    """Produce the record's messages in order; the ones produced, and why the rest
    were not if the producer refused one (the file goes on with the next record)."""
    for index, (topic, event, message) in enumerate(messages):
        try:
            publisher.produce(topic, message.key, message.value, message.headers)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else exc
            text = error.str() if isinstance(error, KafkaError) else str(error)
            logger.warning(
                "produce refused line=%d event=%s error=%s",
                record.line,
                event.event_id,
                text,
            )
            source = event.source_event_id or event.event_id
            reason = (
                f"Kafka refused the message of {event.event_type} {source}: {text};"
                f" {index} of the record's {len(messages)} events were produced"
                " before it, the rest not"
            )
            reject = Reject(record.line, record.record_id, "(event)", source, reason)
            return messages[:index], reject
    return messages, None


def _routed(
    converted: tuple[list[LedgerEvent], list[Reject]], topics: Topics
) -> tuple[list[tuple[str, LedgerEvent]], list[Reject]]:
    events, problems = converted
    if problems:
        return [], problems
    routed: list[tuple[str, LedgerEvent]] = []
    for event in events:
        try:
            routed.append((topic_for(event, topics), event))
        except RoutingError as exc:
            reject = Reject(
                0, event.listing_id, "actor.kind", event.actor.kind, str(exc)
            )
            return [], [reject]
    return routed, []


def _finish(publisher: Publisher, report: FileReport, all_or_nothing: bool) -> None:
    """Flush (and commit or abort); record a delivery failure on the report."""
    if not all_or_nothing:
        try:
            publisher.flush()
        except DeliveryError as exc:
            report.delivery_error = str(exc)
        return

    if report.rejected or report.interrupted:
        report.committed = False
        try:
            publisher.abort()
        except DeliveryError as exc:
            report.delivery_error = str(exc)
        return
    try:
        publisher.commit()
    except DeliveryError as exc:
        report.committed = False
        report.delivery_error = str(exc)
        publisher.abort()


def publish_files(
    paths: Sequence[Path],
    *,
    settings: Settings,
    all_or_nothing: bool = False,
    dry_run: bool = False,
    stop: StopFlag | None = None,
    on_record: ProgressHook | None = None,
    on_file: Callable[[Path], None] | None = None,
) -> list[FileReport]:
    """Publish every file in order; stop after the file in hand if asked to."""
    stop = stop or StopFlag()
    seen: Seen = {}  # acts read by this run (see publish_file)
    reports: list[FileReport] = []
    shared: Publisher | None = None
    try:
        for path in paths:
            if on_file is not None:
                on_file(path)
            if dry_run:
                publisher = None
            elif all_or_nothing:
                publisher = Publisher(
                    settings, transactional_id=transactional_id_for(path, settings)
                )
            else:
                shared = shared or Publisher(settings)
                publisher = shared
            reports.append(
                publish_file(
                    path,
                    settings=settings,
                    publisher=publisher,
                    all_or_nothing=all_or_nothing,
                    stop=stop,
                    on_record=on_record,
                    seen=seen,
                )
            )
            if stop.requested:
                break
    except Interrupted:
        if shared is not None:
            dropped = shared.purge()
            logger.warning("aborted on second signal dropped=%d", dropped)
        raise
    return reports


def exit_code(reports: Iterable[FileReport]) -> int:
    return max((r.exit_code for r in reports), default=EXIT_OK)
