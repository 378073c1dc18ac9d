"""What every table declaration shares: the timestamp and sequence column types, the one metadata."""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Table
from sqlmodel import SQLModel

# Timestamps are stored in UTC; timezone=True makes PostgreSQL use timestamptz.
TS = DateTime(timezone=True)

# SQLite only autoincrements an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets a bigint identity.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

# One metadata for every table of the gateway, so Alembic sees them all.
metadata: MetaData = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """Return the Core table a SQLModel class declares (typed: `table_of(Row).c.name` needs no ignore)."""
    # SQLModel sets `__table__` when the class is declared with table=True but does not type it.
    table = model.__table__  # type: ignore[attr-defined]
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} declares no table")
    return table
