"""Bringing the stack up and down as a whole, and describing what runs where."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from shixin.settings import Settings
from shixin.stack import kafka, postgres
from shixin.stack.errors import StackError
from shixin.stack.topics import ensure_topics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceStatus:
    """One service as `shixin stack status` shows it."""

    name: str
    address: str
    running: bool
    started_by_us: bool
    pid: int | None
    version: str | None
    detail: str = ""


def up(settings: Settings, *, topics: bool = True) -> Settings:
    """Start (or reuse) Kafka and PostgreSQL, then create the ledger's topics.

    External services named by KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL are only
    checked, never started. Returns `settings` for chaining.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    if settings.embedded_kafka:
        kafka.start(settings)
    elif not kafka.broker_answers(settings.bootstrap_servers, timeout=10.0):
        raise StackError(
            f"the Kafka broker at KAFKA_BOOTSTRAP_SERVERS={settings.bootstrap_servers} "
            "does not answer a metadata request within 10s"
        )

    if settings.embedded_postgres:
        postgres.start(settings)
    postgres.check_ready(settings.postgres_url)

    if topics:
        ensure_topics(settings)
    return settings


def down(settings: Settings) -> list[str]:
    """Stop what `up` started (by its pid files); return what was stopped."""
    stopped = []
    if kafka.stop(settings) is not None:
        stopped.append("kafka")
    if postgres.stop(settings) is not None:
        stopped.append("postgres")
    return stopped


def status(settings: Settings) -> list[ServiceStatus]:
    """What runs where: one row for Kafka, one for PostgreSQL."""
    return [_kafka_status(settings), _postgres_status(settings)]


def _kafka_status(settings: Settings) -> ServiceStatus:
    address = settings.bootstrap_servers
    answers = kafka.broker_answers(address, timeout=3.0)
    ours = kafka.started_pid(settings)
    detail = ""
    if answers:
        detail = _kafka_detail(settings)
    elif ours is not None:
        detail = "process runs but does not answer"
    return ServiceStatus(
        name="kafka",
        address=address,
        running=answers,
        started_by_us=ours is not None,
        pid=ours,
        version=kafka.version(settings) if answers else None,
        detail=detail,
    )


def _kafka_detail(settings: Settings) -> str:
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient(
        {"bootstrap.servers": settings.bootstrap_servers}
    ).list_topics(timeout=5)
    prefix = f"{settings.topic_prefix}."
    ledger = sum(1 for name in metadata.topics if name.startswith(prefix))
    return (
        f"cluster {metadata.cluster_id}, {len(metadata.brokers)} broker(s), "
        f"{len(metadata.topics)} topics ({ledger} with prefix '{prefix}')"
    )


def _postgres_status(settings: Settings) -> ServiceStatus:
    conninfo = settings.postgres_url
    ours = postgres.started_pid(settings)
    pid = (
        ours
        if ours is not None
        else (postgres.postmaster_pid(settings) if settings.embedded_postgres else None)
    )
    try:
        version: str | None = postgres.server_version(conninfo)
        running = True
    except Exception as exc:  # any driver error means "not reachable"
        logger.debug("postgres not reachable conninfo=%s error=%s", conninfo, exc)
        version, running = None, False
    return ServiceStatus(
        name="postgres",
        address=conninfo,
        running=running,
        started_by_us=ours is not None,
        pid=pid,
        version=version.split(" on ")[0] if version else None,
        detail="" if settings.embedded_postgres else "DATABASE_URL",
    )
