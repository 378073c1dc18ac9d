"""The gazetteer (行政区划): region codes and names, loaded into the store's region table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from connectors.gazetteer.reader import read_rows
from connectors.sdk.base import Connector, Extracted
from connectors.sdk.config import SourceSettings
from connectors.sdk.errors import Reason, RecordInvalid
from connectors.sdk.records import Checkpoint, RawItem, RawRecord, Translation
from schemas.codes import Department, RegionLevel
from schemas.models import Region


class GazetteerRow(RawRecord):
    """A row of gazetteer.csv."""

    key_alias = "code"
    kind = "region"

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    level: str
    parent_code: str | None = None


class GazetteerSettings(SourceSettings):
    """Where gazetteer.csv is."""

    path: Path


def _code(raw: str | None, *, field: str) -> str | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 12:
        raise RecordInvalid(Reason.INVALID_REGION, f"{field}: {raw!r} is not a region code")
    return text.ljust(12, "0")  # a shorter prefix code is padded (5115990000 -> 511599000000)


def translate_region(row: GazetteerRow) -> Region:
    """Translate a gazetteer row to a Region."""
    try:
        level = RegionLevel(row.level.strip())
    except ValueError:
        raise RecordInvalid(Reason.INVALID_CODE, f"level: {row.level!r} is not a region level") from None
    code = _code(row.code, field="code")
    assert code is not None
    return Region(
        code=code, name=row.name.strip(), level=level, parent_code=_code(row.parent_code, field="parent_code")
    )


class GazetteerConnector(Connector[GazetteerSettings]):
    """Statistical division codes (统计用区划代码) of the county, as the departments share them.

    Administrative divisions are kept by civil affairs (民政部门管理行政区划), hence the department.
    """

    name: ClassVar[str] = "gazetteer"
    department: ClassVar[Department] = Department.CIVIL_AFFAIRS
    settings_model = GazetteerSettings
    raw_models = (GazetteerRow,)
    order: ClassVar[int] = 0

    def extract(self, *, state: dict[str, Any]) -> Iterator[Extracted]:
        """Read the whole file (it is small)."""
        for row in read_rows(self.settings.path):
            yield RawItem(GazetteerRow, dict(row))
        yield Checkpoint(state={}, final=True)

    def translate(self, raw: RawRecord) -> Translation:
        """Translate a row."""
        assert isinstance(raw, GazetteerRow)
        return translate_region(raw)
