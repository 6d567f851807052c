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

from contract.event import LedgerEvent
from producers.inputs import LIFECYCLE, InputRecord, Reject, read_records
from producers.publisher import DeliveryError, Publisher
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
) -> FileReport:
    """Publish one file through `publisher` (None: validate only, a dry run).

    With `all_or_nothing` the publisher must be transactional; the file is committed
    only if every record was accepted and every message acknowledged.
    """
    stop = stop or StopFlag()
    topics = Topics.for_settings(settings)
    report = FileReport(path)
    seen: set[int] = set()
    by_topic: dict[str, int] = {}  # into report.by_topic at the end
    producing = publisher is not None
    started = time.perf_counter()
    logger.info("publishing file=%s all_or_nothing=%s", path, all_or_nothing)

    if all_or_nothing and publisher is not None:
        publisher.begin()

    with RejectsFile(path) as rejects:
        for record in read_records(path):
            report.records += 1
            events, problems = _routed(convert(record), topics)
            if problems:
                report.rejected += 1
                for problem in problems:
                    rejects.write(problem)
                if all_or_nothing:
                    producing = False  # the transaction will be aborted
            publish_to = (
                publisher.publish_to if producing and publisher is not None else None
            )
            for topic, event in events:
                ident = hash(event.event_id)
                if ident in seen:
                    report.duplicates += 1
                else:
                    seen.add(ident)
                by_topic[topic] = by_topic.get(topic, 0) + 1
                if publish_to is not None:
                    publish_to(topic, event)
            report.events += len(events)
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
        if rejects.count:
            report.rejects_file = rejects.path
    report.by_topic.update(by_topic)

    if publisher is not None:
        _finish(publisher, report, all_or_nothing)
    report.seconds = time.perf_counter() - started
    return report


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
