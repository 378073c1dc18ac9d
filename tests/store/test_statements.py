"""Statements defined once (store/statements.py): each driver's placeholders, rows in any column order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from store.bulk import write_tx
from store.statements import DriverSql, RowInsert
from store.tables import table_of
from store.tables.audit import AuditCheckpointRow
from store.tables.changes import ChangeRow

CHANGES = table_of(ChangeRow)
CHECKPOINTS = table_of(AuditCheckpointRow)
NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_each_driver_gets_its_own_placeholders() -> None:
    ins = RowInsert(CHANGES, ["resource", "record_id"])
    assert ins.sql("sqlite") == "INSERT INTO change_log (resource, record_id) VALUES (?, ?)"
    assert ins.sql("psycopg") == "INSERT INTO change_log (resource, record_id) VALUES (%s, %s)"
    assert ins.sql("asyncpg") == "INSERT INTO change_log (resource, record_id) VALUES ($1, $2)"


def test_a_column_the_table_lacks_fails_at_declaration() -> None:
    with pytest.raises(ValueError, match="no column recordid"):
        RowInsert(CHANGES, ["resource", "recordid"])


@pytest.mark.backends
def test_rows_in_another_order_than_the_tables_land_in_their_columns(store_engine: Engine) -> None:
    # The table's order is resource, record_id, change, …, changed_at: these rows come the other way.
    ins = RowInsert(CHANGES, ["changed_at", "fields", "change", "record_id", "resource"])
    with store_engine.connect() as conn:
        with write_tx(conn) as store:
            store.insert(ins, [(store.ts(NOW), "[]", "created", "R1", "resident")])
        got = conn.execute(select(CHANGES.c.resource, CHANGES.c.record_id, CHANGES.c.change)).all()
    assert got == [("resident", "R1", "created")]


@pytest.mark.backends
def test_a_row_clashing_on_the_skip_key_is_skipped(store_engine: Engine) -> None:
    ins = RowInsert(
        CHECKPOINTS,
        ["tree_size", "ts", "root_hash", "chain_hash", "key_id", "body", "signature", "frontier"],
        skip_on=["tree_size"],
    )

    def row(key: str) -> tuple[object, ...]:
        return (7, NOW, b"r" * 32, b"c" * 32, key, b"{}", b"s" * 64, "[]")

    with store_engine.connect() as conn:
        for key in ("first", "second"):
            with write_tx(conn) as store:
                store.insert(ins, [(*row(key)[:1], store.ts(NOW), *row(key)[2:])])
        got = conn.execute(select(func.count(), func.min(CHECKPOINTS.c.key_id))).one()
    assert tuple(got) == (1, "first")


def test_text_statements_bind_in_the_declared_order() -> None:
    move = DriverSql("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", "seq", "hash")
    assert move.sql("sqlite") == "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1"
    assert move.sql("psycopg") == "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1"
    assert move.sql("asyncpg") == "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1"
    with pytest.raises(ValueError, match="binds"):
        DriverSql("UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1", "hash", "seq")
