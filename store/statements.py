"""Statements the bulk paths hand straight to a driver, compiled once per driver from one definition.

The sync flush and the audit append send rows to the driver without SQLAlchemy's per-row work
(store/bulk.py, gateway/audit/sequencer.py): that is what keeps them fast. Their statements are still
defined once, compiled for each driver's placeholders (sqlite3 `?`, psycopg `%s`, asyncpg `$1`), so no
statement is written twice by hand: INSERTs are Core built from the table declarations (a renamed or
dropped column fails at import instead of at the first write), other statements `text()` with named
binds.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import Table, bindparam, insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import Insert

Driver = Literal["sqlite", "psycopg", "asyncpg"]

# The drivers' own dialects would add bind casts (`$1::VARCHAR`); the base dialects do not and, with
# `inline()`, add no RETURNING either: the SQL is what one would write, only the placeholders differ.
_DIALECTS: dict[Driver, Dialect] = {
    "sqlite": SQLiteDialect(paramstyle="qmark"),
    "psycopg": PGDialect(paramstyle="format"),
    "asyncpg": PGDialect(paramstyle="numeric_dollar"),
}


def _insert(table: Table, columns: Sequence[str], *, driver: Driver, skip_on: Sequence[str]) -> Insert:
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    if not skip_on:
        return insert(table).inline().values(values)
    if driver == "sqlite":
        return sqlite.insert(table).inline().values(values).on_conflict_do_nothing(index_elements=skip_on)
    return postgresql.insert(table).inline().values(values).on_conflict_do_nothing(index_elements=skip_on)


class RowInsert:
    """An INSERT of rows given as tuples in `columns` order; rows clashing on key `skip_on` are skipped."""

    __slots__ = ("_arrange", "_sql", "columns")

    def __init__(self, table: Table, columns: Sequence[str], *, skip_on: Sequence[str] = ()) -> None:
        """Compile the statement for every driver (once, at import of the module that declares it)."""
        unknown = [name for name in columns if name not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
        self.columns = tuple(columns)
        self._sql: dict[Driver, str] = {}
        order: list[str] = []
        for driver, dialect in _DIALECTS.items():
            stmt = _insert(table, columns, driver=driver, skip_on=skip_on)
            compiled = stmt.compile(dialect=dialect)
            self._sql[driver] = compiled.string
            order = list(compiled.positiontup or [])
        # Core renders columns in the table's order; rows in another order are rearranged to match.
        self._arrange: Callable[[Sequence[Any]], Any] | None = None
        if order != list(columns):
            self._arrange = operator.itemgetter(*(self.columns.index(name) for name in order))

    def sql(self, driver: Driver) -> str:
        """Return the statement with the driver's placeholders."""
        return self._sql[driver]

    def row(self, values: Sequence[Any]) -> Sequence[Any]:
        """Return one row's values in the statement's placeholder order."""
        return values if self._arrange is None else self._arrange(values)

    def rows(self, rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        """Return rows in the statement's placeholder order (as they are when the orders agree)."""
        if self._arrange is None:
            return rows
        arrange = self._arrange
        return [arrange(r) for r in rows]


class DriverSql:
    """SQL with named binds (`:seq`), compiled once per driver; arguments go in `params` order."""

    __slots__ = ("_sql", "params")

    def __init__(self, sql: str, *params: str) -> None:
        """Compile `sql` for every driver; `params` must name its binds in the order they appear."""
        self.params = params
        self._sql: dict[Driver, str] = {}
        for driver, dialect in _DIALECTS.items():
            compiled = text(sql).compile(dialect=dialect)
            if list(compiled.positiontup or []) != list(params):
                raise ValueError(f"binds {compiled.positiontup} in {sql!r}, not {params}")
            self._sql[driver] = compiled.string

    def sql(self, driver: Driver) -> str:
        """Return the statement with the driver's placeholders."""
        return self._sql[driver]
