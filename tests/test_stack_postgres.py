"""The real PostgreSQL server: schemas and transactions."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.services


def test_server_answers_with_its_version(pg_conninfo: str) -> None:
    import psycopg

    with psycopg.connect(pg_conninfo) as conn:
        row = conn.execute("select version()").fetchone()

    assert row is not None and str(row[0]).startswith("PostgreSQL")


def test_committed_transaction_is_kept_and_rolled_back_one_leaves_nothing(
    pg_conninfo: str, pg_schema: str
) -> None:
    import psycopg

    table = f'"{pg_schema}".listing'
    with psycopg.connect(pg_conninfo) as conn:
        conn.execute(f"create table {table} (id text primary key)")
        conn.commit()

        with conn.transaction():
            conn.execute(f"insert into {table} values ('kept')")
        with pytest.raises(RuntimeError, match="abandon"):
            with conn.transaction():
                conn.execute(f"insert into {table} values ('lost')")
                raise RuntimeError("abandon the transaction")

    with psycopg.connect(pg_conninfo) as other:
        rows = other.execute(f"select id from {table}").fetchall()
    assert rows == [("kept",)]


def test_pg_schema_is_fresh_and_empty(pg_conninfo: str, pg_schema: str) -> None:
    import psycopg

    with psycopg.connect(pg_conninfo) as conn:
        tables = conn.execute(
            "select count(*) from information_schema.tables where table_schema = %s",
            (pg_schema,),
        ).fetchone()
        exists = conn.execute(
            "select count(*) from information_schema.schemata where schema_name = %s",
            (pg_schema,),
        ).fetchone()

    assert exists == (1,)
    assert tables == (0,)
