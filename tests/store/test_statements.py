"""Statements defined once (store/statements.py): each driver's placeholders, rows in any column order."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, bindparam, func, literal_column, null, or_, select

from store.bulk import write_tx
from store.statements import DriverSql, RowInsert
from store.tables import table_of
from store.tables.audit import AuditCheckpointRow
from store.tables.changes import ChangeRow
from store.tables.policy import RateCounterRow
from store.tables.records import SyncStateRow

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


STATES = table_of(SyncStateRow)
COUNTERS = table_of(RateCounterRow)


def test_an_upsert_names_its_key_and_takes_the_new_rows_values() -> None:
    ins = RowInsert(STATES, ["source", "watermark", "updated_at"], update_on=["source"], update=["watermark"])
    tail = "ON CONFLICT (source) DO UPDATE SET watermark = excluded.watermark"
    head = "INSERT INTO sync_state (source, watermark, updated_at)"
    assert ins.sql("sqlite") == f"{head} VALUES (?, ?, ?) {tail}"
    assert ins.sql("psycopg").endswith(f"VALUES (%s, %s, %s) {tail}")
    assert ins.sql("asyncpg").endswith(f"VALUES ($1, $2, $3) {tail}")


def test_a_key_is_either_skipped_or_updated() -> None:
    with pytest.raises(ValueError, match="either"):
        RowInsert(STATES, ["source"], skip_on=["source"], update_on=["source"])
    with pytest.raises(ValueError, match="no column"):
        RowInsert(STATES, ["source"], update_on=["source"], update=["watermrk"])


def _upsert_states(store_engine: Engine, ins: RowInsert, rows: list[tuple[object, ...]]) -> list[object]:
    with store_engine.connect() as conn:
        for row in rows:
            with write_tx(conn) as store:
                store.insert(ins, [row])
        got = conn.execute(select(STATES.c.watermark, STATES.c.position).order_by(STATES.c.source)).all()
    return [tuple(r) for r in got]


@pytest.mark.backends
def test_an_upsert_updates_the_named_columns_only(store_engine: Engine) -> None:
    ins = RowInsert(
        STATES,
        ["source", "watermark", "position", "updated_at"],
        update_on=["source"],
        update=["watermark"],
    )
    with store_engine.connect() as conn, write_tx(conn) as store:
        stamp = store.ts(NOW)
    rows = [("s", "w1", "p1", stamp), ("s", "w2", "p2", stamp), ("t", "w3", "p3", stamp)]
    assert _upsert_states(store_engine, ins, rows) == [("w2", "p1"), ("w3", "p3")]


@pytest.mark.backends
def test_an_upsert_with_a_condition_and_assignments_updates_only_when_it_holds(store_engine: Engine) -> None:
    # `position` is cleared on update, unless the stored watermark is 'kept' and the new one equal.
    ins = RowInsert(
        STATES,
        ["updated_at", "watermark", "position", "source"],  # not the table's order
        update_on=["source"],
        update=["watermark", "updated_at"],
        also=lambda t, new: {"position": null()},
        where=lambda t, new: or_(t.c.watermark != literal_column("'kept'"), t.c.watermark != new.watermark),
    )
    with store_engine.connect() as conn, write_tx(conn) as store:
        stamp = store.ts(NOW)
    rows = [
        (stamp, "kept", "p1", "a"),
        (stamp, "kept", "p2", "a"),  # condition fails: the row stays as it was
        (stamp, "w1", "p1", "b"),
        (stamp, "w2", "p2", "b"),  # condition holds: watermark taken, position cleared
    ]
    assert _upsert_states(store_engine, ins, rows) == [("kept", "p1"), ("w2", None)]


def _reserve(*, returning: tuple[str, ...] = ()) -> RowInsert:
    """Return the rate limiter's kind of upsert: add to the count unless it would pass `limit`."""
    return RowInsert(
        COUNTERS,
        ["key", "win", "count"],
        update_on=["key", "win"],
        also=lambda t, new: {"count": t.c["count"] + new["count"]},
        where=lambda t, new: t.c["count"] + new["count"] <= bindparam("limit"),
        returning=returning,
        binds=["limit"],
    )


@pytest.mark.backends
def test_an_upsert_binds_extra_parameters_after_the_columns(store_engine: Engine) -> None:
    ins = _reserve()
    assert ins.sql("sqlite").endswith("WHERE rate_counter.count + excluded.count <= ?")
    assert ins.sql("asyncpg").endswith("WHERE rate_counter.count + excluded.count <= $4")
    with store_engine.connect() as conn:
        with write_tx(conn) as store:
            done = [store.insert_one(ins, ("k", 1, n, 8)) for n in (3, 4, 5, 1)]
        count = conn.execute(select(COUNTERS.c["count"])).scalar()
    assert (done, count) == ([1, 1, 0, 1], 8)  # 3, 7, refused (12 > 8), 8


@pytest.mark.backends
def test_the_core_form_of_an_upsert_runs_with_named_binds_and_returns(store_engine: Engine) -> None:
    ins = _reserve(returning=("count",))
    got = []
    with store_engine.connect() as conn:
        for n in (3, 4, 5):
            row = conn.execute(ins.core(conn.dialect.name), {"key": "k", "win": 1, "count": n, "limit": 8})
            got.append(row.scalar())
            conn.commit()
    assert got == [3, 7, None]
