"""Shared fixtures: the real Kafka and PostgreSQL, per-test topics and schemas.

Fixtures other test modules use (keep these names):

- `stack` (session): brings the embedded Kafka and PostgreSQL up once per session
  (reusing running ones, or the external ones named by KAFKA_BOOTSTRAP_SERVERS /
  DATABASE_URL) and returns the `Settings`. If a service cannot start, every test
  that uses it errors with the reason; nothing is skipped.
- `topic_prefix`: a unique topic prefix per test, `t-<8 hex>`.
- `ledger_topics(stack, topic_prefix)`: creates every topic of that prefix
  (`ensure_topics`) and returns a `shixin.stack.topics.LedgerTopics(topics,
  settings)` named tuple: the `Topics` names and a copy of the settings with
  `topic_prefix` set. The topics (and any other `<prefix>.` topic, such as
  faust's internal ones) are deleted after the test.
- `pg_conninfo(stack)`: the PostgreSQL conninfo (URL) of the session.
- `conn(pg_conninfo)`: an autocommit psycopg connection to it, closed afterwards.
- `pg_schema(pg_conninfo)`: a fresh, empty schema name per test (`t_<8 hex>`),
  dropped with everything in it after the test. Set it with
  `SET search_path TO <schema>` or qualify your table names.

Tests that need the services are marked `@pytest.mark.services`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from shixin.settings import Settings
from shixin.stack import up
from shixin.stack.topics import (
    LedgerTopics,
    delete_topics,
    ensure_topics,
    prefixed_topics,
)
from shixin.topics import Topics


@pytest.fixture(scope="session")
def stack() -> Settings:
    """Kafka and PostgreSQL, up for the whole session (reused if already running)."""
    settings = Settings()
    return up(settings, topics=False)


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses."""
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ledger_topics(stack: Settings, topic_prefix: str) -> Iterator[LedgerTopics]:
    """Every topic of a fresh ledger, deleted after the test (with any topic
    the test created under the same prefix, such as faust's internal ones)."""
    settings = stack.model_copy(update={"topic_prefix": topic_prefix})
    ensure_topics(settings)
    yield LedgerTopics(Topics.for_settings(settings), settings)
    delete_topics(settings, prefixed_topics(settings, f"{topic_prefix}."))


@pytest.fixture
def pg_conninfo(stack: Settings) -> str:
    """The conninfo of the session's PostgreSQL server."""
    return stack.postgres_url


@pytest.fixture
def conn(pg_conninfo: str) -> Iterator[Any]:
    """An autocommit connection to the session's PostgreSQL server."""
    import psycopg

    with psycopg.connect(pg_conninfo, autocommit=True) as connection:
        yield connection


@pytest.fixture
def pg_schema(pg_conninfo: str) -> Iterator[str]:
    """A fresh schema for one test, dropped with its contents afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        conn.execute(f'create schema "{schema}"')
    yield schema
    with psycopg.connect(pg_conninfo, autocommit=True) as conn:
        conn.execute(f'drop schema if exists "{schema}" cascade')
