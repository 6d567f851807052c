"""Schema migrations of the query tables: ordered SQL files, recorded with checksums.

Each file `migrations/NNN_name.sql` is applied once, in order, inside one
transaction with `search_path` set to the target schema, and recorded in that
schema's `schema_migrations(version, name, checksum, applied_at)`. A file whose
checksum differs from the one recorded when it was applied is an error: applied
migrations are history, a change needs a new file.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

DEFAULT_SCHEMA = "ledger"
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# Serialises concurrent migrators of one database (projector start, CLI, replay).
_LOCK_KEY = 7_301_907


class MigrationError(Exception):
    """A migration cannot be applied or contradicts what the schema recorded."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def available() -> list[Migration]:
    """The migration files shipped with the package, in version order."""
    found: list[Migration] = []
    for entry in (resources.files("projections") / "migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        text = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match.group(1)), match.group(2), text))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


def migrate(conn: psycopg.Connection, schema: str = DEFAULT_SCHEMA) -> list[int]:
    """Bring `schema` up to the newest migration; returns the versions applied.

    Runs in its own transaction (the connection must not be inside one) and leaves
    `search_path` as it found it.
    """
    migrations = available()
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
        )
        conn.execute(
            sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema))
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        recorded = {
            version: (name, checksum)
            for version, name, checksum in conn.execute(
                "SELECT version, name, checksum FROM schema_migrations"
            )
        }
        for migration in migrations:
            if migration.version in recorded:
                _check_unchanged(schema, migration, *recorded[migration.version])
                continue
            conn.execute(migration.text.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum)"
                " VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
            logger.info(
                "migration applied schema=%s version=%03d name=%s",
                schema,
                migration.version,
                migration.name,
            )
        unknown = sorted(set(recorded) - {m.version for m in migrations})
        if unknown:
            raise MigrationError(
                f"schema {schema!r} records migrations {unknown} that this code does "
                "not ship: it was migrated by a newer version"
            )
    return applied_now


def _check_unchanged(
    schema: str, migration: Migration, name: str, checksum: str
) -> None:
    if checksum == migration.checksum:
        return
    raise MigrationError(
        f"migration {migration.version:03d}_{migration.name} changed after it was "
        f"applied to schema {schema!r}: checksum got {migration.checksum}, "
        f"expected {checksum} (recorded as {name!r}); add a new migration instead"
    )


# Tables whose planner statistics the check and the queries depend on.
QUERY_TABLES = (
    "events", "listings", "sanctions", "obligations", "violations",
    "listings_history", "sanctions_history", "obligations_history",
    "violations_history",
)  # fmt: skip


def analyze(conn: psycopg.Connection, schema: str = DEFAULT_SCHEMA) -> None:
    """Refresh the planner statistics of the query tables of `schema`.

    Autovacuum does it eventually; after a bulk load (a projector or replay catching
    up, a migration of a filled schema) the check would otherwise be planned from
    the statistics of near-empty tables until then.
    """
    for table in QUERY_TABLES:
        conn.execute(
            sql.SQL("ANALYZE {}.{}").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
        )
    logger.info("statistics refreshed schema=%s tables=%d", schema, len(QUERY_TABLES))
