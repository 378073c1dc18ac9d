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
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnCollection, Table, bindparam, insert, text
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


Family = Literal["sqlite", "postgresql"]
# Given the table and its `excluded` pseudo-row, return a condition or extra assignments of an upsert.
Excluded = Callable[[Table, ColumnCollection[str, Any]], Any]


class _Conflict(NamedTuple):
    """What a clash on the key `on` does: nothing (`update` None), or an update of the stored row."""

    on: Sequence[str]
    update: Sequence[str] | None
    also: Excluded | None
    where: Excluded | None


def _insert(table: Table, columns: Sequence[str], *, family: Family, conflict: _Conflict | None) -> Insert:
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    if conflict is None:
        return insert(table).inline().values(values)
    stmt = (sqlite.insert if family == "sqlite" else postgresql.insert)(table).inline().values(values)
    if conflict.update is None:
        return stmt.on_conflict_do_nothing(index_elements=conflict.on)
    excluded = stmt.excluded
    assign: dict[str, Any] = {name: excluded[name] for name in conflict.update}
    if conflict.also is not None:
        assign.update(conflict.also(table, excluded))
    where = conflict.where(table, excluded) if conflict.where is not None else None
    return stmt.on_conflict_do_update(index_elements=conflict.on, set_=assign, where=where)


class RowInsert:
    """An INSERT of rows given as tuples in `columns` order (then `binds`), optionally an upsert.

    `skip_on`: rows clashing on that key are skipped. `update_on`: rows clashing on that key update
    the stored row: the `update` columns take the new row's values, `also(table, excluded)` gives
    further assignments, and `where(table, excluded)` (if given) must hold for the update to happen;
    `binds` names the extra bind parameters those use. Constants in them go in as `literal_column`
    so that every placeholder is a row value.
    """

    __slots__ = ("_arrange", "_core", "_sql", "columns")

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        skip_on: Sequence[str] = (),
        update_on: Sequence[str] = (),
        update: Sequence[str] = (),
        also: Excluded | None = None,
        where: Excluded | None = None,
        returning: Sequence[str] = (),
        binds: Sequence[str] = (),
    ) -> None:
        """Compile the statement for every driver (once, at import of the module that declares it)."""
        unknown = [name for name in (*columns, *update, *returning) if name not in table.c]
        if unknown:
            raise ValueError(f"{table.name} has no column {', '.join(unknown)}")
        if skip_on and update_on:
            raise ValueError("a row clashing on a key is either skipped or updates, not both")
        if update_on and not update and also is None:
            raise ValueError("an upsert updates some column: name `update` or give `also`")
        conflict = None
        if skip_on:
            conflict = _Conflict(tuple(skip_on), None, None, None)
        elif update_on:
            conflict = _Conflict(tuple(update_on), tuple(update), also, where)
        self.columns = tuple(columns)
        names = [*columns, *binds]
        self._core: dict[Family, Insert] = {}
        for family in ("sqlite", "postgresql"):
            stmt = _insert(table, columns, family=family, conflict=conflict)
            if returning:
                stmt = stmt.returning(*(table.c[name] for name in returning))
            self._core[family] = stmt
        self._sql: dict[Driver, str] = {}
        orders: set[tuple[str, ...]] = set()
        for driver, dialect in _DIALECTS.items():
            compiled = self._core["sqlite" if driver == "sqlite" else "postgresql"].compile(dialect=dialect)
            self._sql[driver] = compiled.string
            orders.add(tuple(compiled.positiontup or ()))
        (order,) = orders  # one placeholder order for every driver: a row fits each as it is arranged
        if sorted(order) != sorted(names):
            raise ValueError(f"{table.name}: placeholders {order}, not the columns and binds {names}")
        # Core renders columns in the table's order; rows in another order are rearranged to match.
        self._arrange: Callable[[Sequence[Any]], Any] | None = None
        if list(order) != names:
            self._arrange = operator.itemgetter(*(names.index(name) for name in order))

    def sql(self, driver: Driver) -> str:
        """Return the statement with the driver's placeholders."""
        return self._sql[driver]

    def core(self, dialect: str) -> Insert:
        """Return the Core statement for a dialect ('sqlite', 'postgresql'), to run with named binds."""
        return self._core["sqlite" if dialect == "sqlite" else "postgresql"]

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
