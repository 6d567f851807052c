"""The faust worker of the processors: agent, tables, timekeeper and caught-up watch.

One agent consumes the court, agency, publisher and clock topics (raw bytes) and hands
every message to `processors.core.Processor`, which calls the rules engine. The three
tables are changelog-backed with as many partitions as the input topics, so faust's
assignor gives partition number p of every input topic and of every table to the same
worker: a restarted or moved worker recovers the listings of its partitions from the
changelogs before it consumes again.

Delivery is at-least-once: faust flushes the producer (derived events and changelog
writes) before it commits the input offsets (`Consumer._commit_offsets`), so a crash
can only make the worker redo events whose outputs are already in the log; derived
event ids are deterministic, so such a duplicate carries the same id and is harmless
downstream.

Two faust features are deliberately NOT used, because of open upstream defects:

- `processing_guarantee="exactly_once"`: duplicates after a kill and restart even for
  read_committed consumers (faust-streaming/faust#517), crashes and duplicated events
  on rebalance (faust-streaming/faust#323), producer writes outside the transaction
  (faust-streaming/faust#177), long-running workers failing (faust-streaming/faust#136).
- agent `concurrency>1`: offsets committed past a message still being processed, so a
  kill loses it (robinhood/faust#682, faust-streaming/faust#606, fix proposed in
  faust-streaming/faust#707), and actors of one partition would no longer see one
  listing's events in log order.

Known upstream risk we live with: after a recovery, gaps in acked offsets can block
commits (faust-streaming/faust#596); the worker then redoes more events after a crash,
which at-least-once with deterministic ids tolerates.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import signal
import time
import weakref
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import faust
import mode
from faust.streams import _current_event
from faust.types import TP

from processors.checks import (
    check_copartitioned,
    commit_log_starts,
    committed_offsets,
    end_offsets,
    ensure_changelogs,
    high_watermarks,
)
from processors.clock import tick_messages
from processors.core import Engine, Processor, Record
from processors.metrics import Metrics
from shixin.settings import Settings
from shixin.topics import Topics

logger = logging.getLogger(__name__)

CAUGHT_UP_POLL = 0.2  # seconds between two looks at the positions
# --until-caught-up: seconds behind the ends without receiving, processing or
# committing anything before the worker stops and says where it stands (the
# help of `shixin process --until-caught-up` gives it too)
STALL_TIMEOUT = 60.0


class Admission(enum.Enum):
    """What the agent does with a delivered record (`ProcessorWorker._admit`)."""

    NEXT = "next"  # the next offset of its partition: processed
    PROCESSED_COPY = "processed copy"  # processed already: acked again only
    HELD_COPY = "held copy"  # a copy of a tick still held: dropped
    AHEAD = "ahead"  # past the next offset: dropped, the partition sought back


@dataclass(frozen=True)
class WorkerOptions:
    until_caught_up: bool = False
    metrics_file: Path | None = None
    metrics_interval: float = 10.0
    timekeeper: bool = True
    loglevel: str = "warning"
    app_id: str | None = None  # default: "<topic prefix>.processors"
    standby_replicas: int = 1


def app_id(settings: Settings, options: WorkerOptions) -> str:
    """The consumer group and the prefix of faust's internal topics."""
    return options.app_id or f"{settings.topic_prefix}.processors"


class ProcessorWorker:
    """One faust app wired to the processor; `run()` blocks until the worker stops."""

    def __init__(
        self, settings: Settings, options: WorkerOptions, engine: Engine | None = None
    ) -> None:
        self.settings = settings
        self._engine = engine
        self.options = options
        self.topics = Topics.for_settings(settings)
        self.metrics = Metrics()
        self.ends: dict[tuple[str, int], int] = {}
        self.positions: dict[tuple[str, int], int] = {}  # next offset, processed
        self.caught_up = False
        self.exit_code = 0
        self._recovered_logged = False
        self._lock = asyncio.Lock()
        self._pending: dict[int, deque[tuple[Any, Record]]] = defaultdict(deque)
        self._seen: dict[tuple[str, int], datetime] = {}
        # where each assigned input partition stood at assignment (committed offset,
        # else the log start): nothing before it can still arrive
        self._floor: dict[tuple[str, int], int] = {}
        # set once `_floor` holds the current assignment's floors (`on_assigned`)
        self._floors_read = asyncio.Event()
        self._received: dict[tuple[str, int], int] = {}  # next offset not yet seen
        # partition -> (offset sought back to, highest offset dropped since)
        self._seeks: dict[tuple[str, int], tuple[int, int]] = {}
        # partition -> (clock highwater, highwaters of the other ledger topics) read
        # in that order: valid for every tick below that clock highwater
        self._confirmed: dict[int, tuple[int, dict[TP, int]]] = {}
        # (received, processed and committed offsets, when they last changed)
        self._progress: tuple[Any, float] | None = None
        self._stream: Any = None
        self.app = self._build_app()

    def _build_app(self) -> faust.App:
        settings, options, topics = self.settings, self.options, self.topics
        partitions = settings.topic_partitions
        brokers = [f"kafka://{h}" for h in settings.bootstrap_servers.split(",")]
        app = faust.App(
            app_id(settings, options),
            broker=brokers,
            store="memory://",
            datadir=str(settings.data_dir / "faust"),  # not the working directory
            topic_partitions=partitions,
            processing_guarantee="at_least_once",  # see the module docstring
            consumer_auto_offset_reset="earliest",
            table_standby_replicas=options.standby_replicas,
            web_enabled=False,
            producer_acks=-1,
            autodiscover=False,
            # an agent that raises stops the worker instead of being restarted past
            # the event it failed on (bad input goes to the dead-letter topic instead)
            agent_supervisor=mode.CrashingSupervisor,
        )

        def raw_topic(*names: str) -> Any:
            return app.topic(
                *names,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=partitions,
            )

        ledger = raw_topic(*topics.ledger)
        clock_topic = topics.clock

        def table(name: str, values: str = "json") -> Any:
            return app.Table(
                name,
                default=None,
                partitions=partitions,  # co-partitioned with the input topics
                schema=faust.Schema(
                    key_type=str, key_serializer="json", value_serializer=values
                ),
            )

        self.tables = listings, open_index, clock = (
            table("listings", values="raw"),  # JSON bytes written by the core
            table("open-index"),
            table("clock"),
        )
        self.processor = Processor(
            topics,
            listings,
            open_index,
            clock,
            engine=self._engine,
            metrics=self.metrics,
        )

        @app.agent(ledger, name=f"{app.conf.id}.ledger")
        async def process(stream: faust.StreamT) -> None:
            # acks are manual: a tick is held back (unacked, so not committed) until
            # the other ledger topics of its partition are consumed past its time
            self._stream = manual = cast(Any, stream).noack()
            async for event in manual.events():
                record = _record(event.message)
                admitted = self._admit(record)
                if admitted is not Admission.NEXT:
                    if admitted is Admission.PROCESSED_COPY:
                        # acked again, or faust's commit stops at its offset
                        await manual.ack(event)
                    elif admitted is Admission.AHEAD:
                        await self._seek_back(record)
                    continue
                async with self._lock:
                    if record.topic == clock_topic:
                        self._pending[record.partition].append((event, record))
                    else:
                        await self._emit(record)
                        self._seen[(record.topic, record.partition)] = (
                            record.broker_time
                        )
                        await manual.ack(event)
                    await self._release(record.partition)

        async def on_assigned(sender: Any, assigned: set[TP], **kwargs: Any) -> None:
            self._floors_read.clear()
            self.processor.forget_partitions()
            self._recovered_logged = False
            self._confirmed.clear()
            await self._read_floors(assigned)
            self._floors_read.set()
            numbers = sorted(
                {tp.partition for tp in assigned if tp.topic == clock_topic}
            )
            logger.info("assigned partitions=%s", ",".join(map(str, numbers)))

        async def on_revoked(sender: Any, revoked: set[TP], **kwargs: Any) -> None:
            self._floors_read.clear()
            self.processor.forget_partitions()
            for tp in revoked:
                self.positions.pop((tp.topic, tp.partition), None)
                self._seen.pop((tp.topic, tp.partition), None)
                self._floor.pop((tp.topic, tp.partition), None)
                self._received.pop((tp.topic, tp.partition), None)
                self._seeks.pop((tp.topic, tp.partition), None)
                if tp.topic == clock_topic:
                    # never acked, so redelivered to whoever gets the partition
                    self._pending.pop(tp.partition, None)

        app.on_partitions_assigned.connect(cast(Any, on_assigned))
        app.on_partitions_revoked.connect(cast(Any, on_revoked))

        @app.timer(interval=CAUGHT_UP_POLL)
        async def watch() -> None:
            async with self._lock:
                for partition in list(self._pending):
                    await self._release(partition)
            await self._watch()

        @app.timer(interval=options.metrics_interval)
        async def report() -> None:
            self._report()

        if options.timekeeper:

            @app.timer(interval=settings.clock_interval_seconds, on_leader=True)
            async def timekeeper() -> None:
                await self._tick(datetime.now(tz=UTC).replace(microsecond=0))

        return app

    def _admit(self, record: Record) -> Admission:
        """Whether `record` is the next one of its partition, a copy of one this
        assignment already received, or ahead of the next one.

        Each partition is processed strictly in offset order. Faust delivers
        some records twice (it seeks back to the committed offsets when table
        recovery ends) and drops some it fetched while its flow was suspended,
        then delivers later ones: a record past the next expected offset is not
        processed, the partition is sought back to that offset instead."""
        key = (record.topic, record.partition)
        expected = self._received.get(key, self._floor.get(key, 0))
        if record.offset > expected:
            return Admission.AHEAD
        if record.offset < expected:
            logger.debug(
                "skipped redelivered topic=%s partition=%d offset=%d next=%d",
                record.topic,
                record.partition,
                record.offset,
                expected,
            )
            if record.offset < self._position(TP(*key)):
                return Admission.PROCESSED_COPY
            return Admission.HELD_COPY  # the held original is acked when released
        self._received[key] = record.offset + 1
        self._seeks.pop(key, None)
        return Admission.NEXT

    async def _seek_back(self, record: Record) -> None:
        """Consume `record`'s partition again from the next offset not received.

        One seek per gap: records already buffered past it arrive (and are
        dropped) before the sought ones; a record at or below the highest one
        dropped since the seek shows the seek took effect and the gap came
        again, so it is sought once more."""
        key = (record.topic, record.partition)
        expected = self._received.get(key, self._floor.get(key, 0))
        sought = self._seeks.get(key)
        if sought is not None and sought[0] == expected and record.offset > sought[1]:
            self._seeks[key] = (expected, record.offset)
            return
        logger.info(
            "gap topic=%s partition=%d next=%d delivered=%d; seeking back",
            record.topic,
            record.partition,
            expected,
            record.offset,
        )
        self._seeks[key] = (expected, record.offset)
        await self.app.consumer.seek_wait({TP(*key): expected})

    async def _emit(self, record: Record) -> None:
        """Hand one message to the core and produce what it returns."""
        for out in self.processor.handle(record):
            future = await self.app.producer.send(
                out.topic, out.key, out.value, out.partition, None, out.headers
            )
            cast(asyncio.Future, future).add_done_callback(self._on_delivered)
        self.positions[(record.topic, record.partition)] = record.offset + 1

    async def _release(self, partition: int) -> None:
        """Apply the held ticks of `partition` whose turn has come, in order.

        A tick's turn comes when every other ledger topic of the partition has
        been consumed past the tick's broker time: the live worker then applies
        ticks in the same broker-time order as a replay (`replay.merge`), so an
        answer recorded before a tick is never reported overdue by it.
        """
        queue = self._pending.get(partition)
        while queue:
            event, record = queue[0]
            if not await self._others_past(partition, record):
                return
            queue.popleft()
            # table writes go to the changelog partition of the current event
            token = _current_event.set(weakref.ref(event))
            try:
                await self._emit(record)
            finally:
                _current_event.reset(token)
            assert self._stream is not None
            await self._stream.ack(event)

    async def _others_past(self, partition: int, tick: Record) -> bool:
        """Whether the court, agency and publisher partitions hold nothing unread
        that the broker appended before the tick `tick`.

        A partition consumed past the tick's broker time is done. Otherwise it is
        done when its position reached a highwater read after the tick was
        appended: the clock partition's highwater is read first, then the others',
        so one such read vouches for every tick below that clock highwater (a
        backlog of ticks costs one round trip, not one per tick).
        """
        unsure: list[TP] = []
        for topic in self.topics.ledger:
            if topic == self.topics.clock:
                continue
            seen = self._seen.get((topic, partition))
            if seen is not None and seen >= tick.broker_time:
                continue
            tp = TP(topic, partition)
            if self._highwater(tp) > self._position(tp):
                return False  # messages are on their way: their arrival re-checks
            unsure.append(tp)
        if not unsure:
            return True
        confirmed = self._confirmed.get(partition)
        if confirmed is None or tick.offset >= confirmed[0]:
            confirmed = await self._confirm(partition)
        highwaters = confirmed[1]
        return all(highwaters.get(tp, 0) <= self._position(tp) for tp in unsure)

    async def _confirm(self, partition: int) -> tuple[int, dict[TP, int]]:
        """Read the clock highwater of `partition`, then its other ledger topics'.

        The reads go through a client of our own in a worker thread, not through
        faust's consumer: asking faust's consumer thread from inside the agent
        while it holds a backlog deadlocked the worker (it waits for the agent,
        the agent waits for it)."""
        loop = asyncio.get_running_loop()
        others = [
            TP(topic, partition)
            for topic in self.topics.ledger
            if topic != self.topics.clock
        ]
        order = [(self.topics.clock, partition)] + [
            (t.topic, t.partition) for t in others
        ]
        clock, *rest = await loop.run_in_executor(
            None, high_watermarks, self.settings, order
        )
        fresh = dict(zip(others, rest, strict=True))
        confirmed = (clock, fresh)
        self._confirmed[partition] = confirmed
        logger.debug(
            "confirmed highwaters partition=%d clock=%d others=%s",
            partition,
            clock,
            ",".join(str(fresh.get(tp, 0)) for tp in others),
        )
        return confirmed

    def _position(self, tp: TP) -> int:
        """Next offset of `tp` still to process: what this worker processed, else
        where the partition stood at assignment."""
        key = (tp.topic, tp.partition)
        done = self.positions.get(key)
        floor = self._floor.get(key, 0)
        return floor if done is None else max(done, floor)

    async def _read_floors(self, assigned: set[TP]) -> None:
        """Where every assigned input partition stands: its committed offset, or
        the log start when the group never committed it (public admin API)."""
        ledger = set(self.topics.ledger)
        inputs = sorted(
            (tp.topic, tp.partition) for tp in assigned if tp.topic in ledger
        )
        group = self.app.conf.id
        loop = asyncio.get_running_loop()
        committed = await loop.run_in_executor(
            None, committed_offsets, self.settings, group, inputs
        )
        never = [
            TP(topic, p) for (topic, p), offset in committed.items() if offset is None
        ]
        starts = dict(await self.app.consumer.earliest_offsets(*never)) if never else {}
        for key, offset in committed.items():
            if offset is None:
                offset = starts.get(TP(*key), 0) or 0
            self._floor[key] = offset
        logger.info(
            "read positions partitions=%d committed=%d never_committed=%d",
            len(inputs),
            len(inputs) - len(never),
            len(never),
        )

    def _seek_floors_after_recovery(self) -> None:
        """Make faust's seek to committed offsets also seek offset 0.

        Faust drops the records it fetched while table recovery held the flow,
        then seeks every partition back to its committed offset; aiokafka's
        `seek_to_committed` skips a committed offset of 0 (`if offset and offset
        > 0`), so such a partition (one never processed past its first record,
        such as an empty clock partition that then received a backlog of ticks)
        stayed past the dropped records and the worker waited for them forever.
        After faust's seek, every assigned input partition whose committed offset
        is 0 or none is sought to its floor (its committed offset, else its log
        start).

        Installed before the worker starts, and the seek waits until `on_assigned`
        has read the floors of the current assignment: faust runs table recovery
        concurrently with the `on_partitions_assigned` receivers, and a short
        recovery reaches this seek first. Without the floors, a partition whose
        only records faust dropped (one tick into a clock committed at 0) would
        never be consumed again.
        """
        consumer = cast(Any, self.app.consumer)
        if getattr(consumer, "_shixin_seeks_floors", False):
            return
        perform_seek = consumer.perform_seek
        ledger = set(self.topics.ledger)

        async def seek_then_floors() -> None:
            await self._floors_read.wait()
            await perform_seek()
            committed = self._committed()
            floors = {
                tp: self._floor[(tp.topic, tp.partition)]
                for tp in consumer.assignment()
                if tp.topic in ledger
                and not committed.get(tp)
                and (tp.topic, tp.partition) in self._floor
            }
            if floors:
                await consumer.seek_wait(floors)
                logger.info("sought to floors partitions=%d", len(floors))

        consumer.perform_seek = seek_then_floors
        consumer._shixin_seeks_floors = True

    def _highwater(self, tp: TP) -> int:
        try:
            return self.app.consumer.highwater(tp) or 0
        except Exception:  # no fetch response for this partition yet
            return 0

    def _on_delivered(self, future: asyncio.Future) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            return
        # a lost derived event must not be committed over: stop before the commit
        logger.error("delivery failed error=%r; stopping the worker", exc)
        self.exit_code = 1
        self.app.consumer.stop_flow()
        os.kill(os.getpid(), signal.SIGTERM)

    async def _tick(self, instant: datetime) -> None:
        """Timekeeper: the tick of `instant` into every clock partition."""
        for partition, key, value in tick_messages(
            instant, self.settings.topic_partitions
        ):
            future = await self.app.producer.send(
                self.topics.clock, key, value, partition, None, None
            )
            cast(asyncio.Future, future).add_done_callback(self._on_delivered)
        await self.app.producer.flush()
        logger.info("ticked instant=%s", instant.isoformat())

    def _recovered(self) -> bool:
        app = self.app
        if app.rebalancing or not cast(Any, app.tables).recovery.completed.is_set():
            return False
        if not self._recovered_logged:
            self._recovered_logged = True
            logger.info(
                "recovered listings=%d open_listings=%d",
                len(self.processor.listings),
                len(self.processor.open_index),
            )
        return True

    def _committed(self) -> dict[TP, int | None]:
        """Offsets faust committed (or found committed at assignment), per partition."""
        # faust keeps no public view of this; the Consumer attribute is stable since
        # faust 1.x and is what its own commit logic compares against
        return cast(Any, self.app.consumer)._committed_offset

    def _assigned_inputs(self) -> set[TP]:
        ledger = set(self.topics.ledger)
        return {tp for tp in self.app.consumer.assignment() if tp.topic in ledger}

    def _behind(self, assigned: set[TP]) -> list[TP]:
        """Assigned input partitions whose processed position is before the end
        offset read at start (a committed offset counts as processed)."""
        committed = self._committed()
        behind = []
        for tp in assigned:
            key = (tp.topic, tp.partition)
            position = max(self._position(tp), committed.get(tp) or 0)
            if position < self.ends.get(key, 0):
                behind.append(tp)
        return behind

    async def _watch(self) -> None:
        if not self._recovered():
            self._progress = None  # a rebalance is no stall
            return
        if not self.options.until_caught_up or self.caught_up:
            return
        assigned = self._assigned_inputs()
        if not assigned:
            return
        behind = self._behind(assigned)
        if behind:
            self._check_stalled(assigned, behind)
            return

        # processed up to the ends: flush the derived events, then commit, then
        # make sure the commit covers every end (the last ack may lag one poll)
        await self.app.producer.flush()
        await self.app.consumer.commit()
        committed = self._committed()
        uncommitted = [
            tp
            for tp in assigned
            if (committed.get(tp) or 0) < self.ends.get((tp.topic, tp.partition), 0)
        ]
        if uncommitted:
            logger.debug("caught up; commit pending partitions=%d", len(uncommitted))
            self._check_stalled(assigned, uncommitted)
            return

        self.caught_up = True
        self._report()
        logger.info(
            "caught up partitions=%d processed=%d; stopping",
            len(assigned),
            self.metrics.processed,
        )
        os.kill(os.getpid(), signal.SIGTERM)

    def _check_stalled(self, assigned: set[TP], behind: list[TP]) -> None:
        """Stop a worker that is not caught up and has not moved for
        `STALL_TIMEOUT` seconds, naming the partitions it waits for.

        Moving is receiving, processing or committing a record of an assigned
        input partition; a worker behind its ends that does none of them for
        that long waits for records that no longer come to it."""
        committed = self._committed()
        state = (
            dict(self._received),
            dict(self.positions),
            {tp: committed.get(tp) for tp in assigned},
        )
        now = time.monotonic()
        if self._progress is None or self._progress[0] != state:
            self._progress = (state, now)
            return
        if now - self._progress[1] < STALL_TIMEOUT or self.exit_code:
            return

        waiting = " ".join(
            f"{tp.topic}/{tp.partition}:position={self._position(tp)}"
            f",end={self.ends.get((tp.topic, tp.partition), 0)}"
            f",highwater={self._highwater(tp)}"
            f",committed={committed.get(tp) or 0}"
            + (
                f",held_ticks={len(self._pending[tp.partition])}"
                if tp.topic == self.topics.clock and self._pending.get(tp.partition)
                else ""
            )
            for tp in sorted(behind)
        )
        logger.error(
            "not caught up: nothing received, processed or committed for %ds while "
            "behind partitions=%d %s; stopping",
            STALL_TIMEOUT,
            len(behind),
            waiting,
        )
        self._report()
        self.exit_code = 1
        os.kill(os.getpid(), signal.SIGTERM)

    def lag(self) -> dict[str, int]:
        lag: dict[str, int] = {}
        consumer = self.app.consumer
        for tp in self._assigned_inputs():
            try:
                high = consumer.highwater(tp)
            except Exception:  # no fetch response yet for this partition
                continue
            if high is None:
                continue
            done = self._position(tp)
            lag[f"{tp.topic}/{tp.partition}"] = max(0, high - done)
        return lag

    def _report(self) -> None:
        lag = self.lag()
        self.metrics.log(lag)
        held = {p: len(q) for p, q in sorted(self._pending.items()) if q}
        if held:  # partition=count@first offset/broker time
            logger.info(
                "held ticks %s",
                " ".join(
                    f"p{p}={n}@{self._pending[p][0][1].offset}"
                    f"/{self._pending[p][0][1].broker_time.isoformat()}"
                    for p, n in held.items()
                ),
            )
        if self.options.metrics_file is not None:
            self.metrics.write(self.options.metrics_file, lag)

    def run(self) -> int:
        """Check the topics, start faust, block until the worker stops."""
        partitions = check_copartitioned(self.settings, self.topics.ledger)
        changelogs = [table.changelog_topic.get_topic_name() for table in self.tables]
        ensure_changelogs(self.settings, changelogs, partitions)
        # faust drops records fetched when table recovery stops the flow and seeks
        # back only to COMMITTED offsets: a partition the group never committed would
        # lose them, so give every such partition its log start as committed offset
        commit_log_starts(self.settings, self.app.conf.id, self.topics.ledger)
        if self.options.until_caught_up:
            self.ends = end_offsets(self.settings, self.topics.ledger)
        logger.info(
            "starting app_id=%s partitions=%d until_caught_up=%s ends=%d",
            self.app.conf.id,
            partitions,
            self.options.until_caught_up,
            sum(self.ends.values()),
        )
        worker = faust.Worker(
            self.app,
            loglevel=self.options.loglevel,
            quiet=True,
            redirect_stdouts=False,
        )
        _quiet_libraries(self.options.loglevel)
        # before faust starts: the first assignment's recovery may seek before the
        # floors are read (see the method)
        self._seek_floors_after_recovery()
        try:
            worker.execute_from_commandline()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
            return code or self.exit_code
        return self.exit_code


def _record(message: Any) -> Record:
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        broker_time=datetime.fromtimestamp(message.timestamp, tz=UTC),
        key=message.key,
        value=message.value,
    )


def _quiet_libraries(loglevel: str) -> None:
    """faust, mode and aiokafka log at info what operators need not see."""
    level = logging.getLevelName(loglevel.upper())
    floor = max(level if isinstance(level, int) else logging.WARNING, logging.WARNING)
    for name in ("faust", "mode", "aiokafka"):
        logging.getLogger(name).setLevel(floor)


def run(settings: Settings, options: WorkerOptions) -> int:
    """Run one processor worker; returns its exit status."""
    return ProcessorWorker(settings, options).run()
