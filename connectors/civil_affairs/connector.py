"""Civil affairs (民政): a legacy relational database read by SQLAlchemy URL, incremental by GXSJ."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field, SecretStr
from sqlalchemy import Engine, create_engine, text

from connectors.civil_affairs.models import (
    CivilAffairsPush,
    CivilEnrollmentRow,
    CivilResidentRow,
    CivilServiceRow,
)
from connectors.civil_affairs.translate import translate_enrollment, translate_resident, translate_service
from connectors.sdk.base import Connector, Extracted
from connectors.sdk.config import SourceSettings
from connectors.sdk.errors import FatalSourceError
from connectors.sdk.normalise import beijing_to_utc, later_watermark, parse_instant, utc_to_beijing_text
from connectors.sdk.records import Checkpoint, Listing, RawItem, RawRecord, Translation
from schemas.codes import Department

# (raw model, table setting, key column): residents first, so enrolments find their resident.
_TABLES: tuple[tuple[type[RawRecord], str, str], ...] = (
    (CivilResidentRow, "residents_table", "JMID"),
    (CivilEnrollmentRow, "enrollments_table", "DBID"),
    (CivilServiceRow, "services_table", "SXBM"),
)

LISTING_CHUNK = 20_000  # keys per Listing: a whole table's keys at once grew memory with the county


class CivilAffairsSettings(SourceSettings):
    """Where the civil-affairs database is; the URL may hold a password, so it is a secret."""

    url: SecretStr = Field(
        description="SQLAlchemy URL (KingbaseES/PostgreSQL, MySQL or SQLite); read-only account"
    )
    residents_table: str = Field(default="T_HJ_JMXX", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    enrollments_table: str = Field(default="T_JZ_DBXX", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    services_table: str = Field(default="T_FW_FWSX", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    fetch_size: int = Field(default=5000, ge=1)


class CivilAffairsConnector(Connector[CivilAffairsSettings]):
    """Residents, social-assistance enrolments and service items of the civil-affairs register."""

    name: ClassVar[str] = "civil_affairs"
    department: ClassVar[Department] = Department.CIVIL_AFFAIRS
    settings_model = CivilAffairsSettings
    raw_models = (CivilResidentRow, CivilEnrollmentRow, CivilServiceRow)
    push_model = CivilAffairsPush
    order: ClassVar[int] = 10
    # A key column of each table lists what the department still holds: deletions are seen every sync.
    lists_keys: ClassVar[bool] = True

    _engine: Engine | None = None

    def open(self) -> None:
        """Connect to the department database."""
        try:
            self._engine = create_engine(self.settings.url.get_secret_value())
        except Exception as exc:  # the message of a bad URL may echo it: say which setting, not the value
            raise FatalSourceError(
                f"civil_affairs: cannot use the configured url ({type(exc).__name__})"
            ) from None

    def close(self) -> None:
        """Disconnect."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _query(
        self, table: str, key: str, mark: dict[str, Any], *, count: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """Build the incremental query of one table: rows at or after the watermark, in (GXSJ, key) order."""
        where, params = "", {}
        after = mark.get("after")
        if after:
            # Resume inside an interrupted pass: strictly after the last committed (GXSJ, key).
            where = f"WHERE (GXSJ > :g OR (GXSJ = :g AND {key} > :k))"
            params = {"g": after[0], "k": after[1]}
        elif mark.get("watermark"):
            # Incremental: GXSJ is Beijing time text; rows at the watermark again (same-second updates).
            where = "WHERE GXSJ >= :g"
            params = {"g": utc_to_beijing_text(parse_instant(mark["watermark"], field="watermark"))}
        if count:
            return f"SELECT COUNT(*) FROM {table} {where}", params  # noqa: S608 - validated identifiers
        return f"SELECT * FROM {table} {where} ORDER BY GXSJ, {key}", params  # noqa: S608

    def estimate(self, *, state: dict[str, Any]) -> int | None:
        """Count the rows extract will read."""
        assert self._engine is not None
        total = 0
        with self._engine.connect() as conn:
            for _model, setting, key in _TABLES:
                table = getattr(self.settings, setting)
                sql, params = self._query(table, key, state.get(table, {}), count=True)
                total += int(conn.execute(text(sql), params).scalar_one())
        return total

    def extract(self, *, state: dict[str, Any]) -> Iterator[Extracted]:
        """Stream the three tables, checkpointing every batch_size rows with a (GXSJ, key) position."""
        if self._engine is None:
            raise FatalSourceError("civil_affairs: extract before open")
        state = {k: dict(v) for k, v in state.items()}
        every = self.settings.batch_size
        with self._engine.connect().execution_options(
            stream_results=True, yield_per=self.settings.fetch_size
        ) as conn:
            for model, setting, key in _TABLES:
                table = getattr(self.settings, setting)
                mark = state.setdefault(table, {})
                sql, params = self._query(table, key, mark)
                try:
                    result = conn.execute(text(sql), params)
                except Exception as exc:
                    raise FatalSourceError(
                        f"civil_affairs: cannot read {table}: {type(exc).__name__}: {exc}"
                    ) from None
                top: str | None = None  # the latest GXSJ read; fixed-width text orders as time
                columns = list(result.keys())
                for n, row in enumerate(result, start=1):
                    payload = dict(zip(columns, row, strict=True))
                    yield RawItem(model, payload)
                    stamp = payload.get("GXSJ")
                    if n % every == 0 and stamp:
                        mark["after"] = [stamp, payload.get(key)]
                        yield Checkpoint(state={k: dict(v) for k, v in state.items()})
                    if stamp and (top is None or stamp > top):
                        top = stamp
                yield from _listings(conn, model, table=table, key=key)
                mark["after"] = None
                mark["watermark"] = later_watermark(mark.get("watermark"), _gxsj(top))
                yield Checkpoint(
                    state={k: dict(v) for k, v in state.items()}, final=True, watermark=_summary(state)
                )

    def translate(self, raw: RawRecord) -> Translation:
        """Dispatch to the pure translation of the row's table."""
        if isinstance(raw, CivilResidentRow):
            return translate_resident(raw)
        if isinstance(raw, CivilEnrollmentRow):
            return translate_enrollment(raw)
        if isinstance(raw, CivilServiceRow):
            return translate_service(raw)
        raise TypeError(f"not a civil-affairs row: {type(raw).__name__}")


def _listings(conn: Any, model: type[RawRecord], *, table: str, key: str) -> Iterator[Listing]:
    """List every key of a table now, in chunks (read after its rows: whatever the pass read is listed)."""
    sql = f"SELECT {key} FROM {table}"  # noqa: S608 - validated identifiers
    try:
        result = conn.execute(text(sql))
        chunk = result.fetchmany(LISTING_CHUNK)
        while True:  # at least one Listing, empty for an empty table: the kind was listed
            yield Listing(model.kind, frozenset(str(k) for (k,) in chunk if k is not None))
            if not (chunk := result.fetchmany(LISTING_CHUNK)):
                break
    except Exception as exc:
        raise FatalSourceError(f"civil_affairs: cannot list {table}: {type(exc).__name__}: {exc}") from None


def _gxsj(gxsj: str | None) -> dt.datetime | None:
    """Return a GXSJ (Beijing text) as UTC; None when absent or unreadable (it cannot advance the mark)."""
    try:
        return beijing_to_utc(gxsj) if gxsj is not None else None
    except ValueError:
        return None


def _summary(state: dict[str, Any]) -> str | None:
    """Return the oldest table watermark (what an operator needs to know is covered)."""
    marks = [v.get("watermark") for v in state.values() if v.get("watermark")]
    return min(marks, key=lambda m: dt.datetime.fromisoformat(m.replace("Z", "+00:00"))) if marks else None
