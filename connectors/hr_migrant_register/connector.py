"""The monthly migrant-worker register: a directory of GBK CSV files, one a month, a later month wins."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field

from connectors.gazetteer.reader import VillageIndex, village_index
from connectors.hr_migrant_register.models import FILE_FIELD, HEADER, MigrantRegisterPush, RegisterRow
from connectors.hr_migrant_register.translate import file_month, translate_row
from connectors.sdk.base import Connector, Extracted
from connectors.sdk.config import SourceSettings
from connectors.sdk.errors import ConfigError, FatalSourceError
from connectors.sdk.records import Checkpoint, RawItem, RawRecord, Translation
from schemas.codes import Department


class RegisterSettings(SourceSettings):
    """Where the monthly files are, and the gazetteer that resolves their village names."""

    directory: Path
    pattern: str = "hr_migrant_register_*.csv"
    # GB 18030 decodes every GBK file and the few characters GBK lacks (rare surnames).
    encoding: str = "gb18030"
    gazetteer: Path | None = Field(default=None, description="default: gazetteer.csv in the directory")
    county_code: str | None = Field(default=None, pattern=r"^\d{6}(\d{6})?$")


class MigrantRegisterConnector(Connector[RegisterSettings]):
    """Every row of every monthly file, each pass; the person's latest month is what is served."""

    name: ClassVar[str] = "hr_migrant_register"
    department: ClassVar[Department] = Department.HR
    settings_model = RegisterSettings
    raw_models = (RegisterRow,)
    push_model = MigrantRegisterPush
    order: ClassVar[int] = 30

    villages: VillageIndex | None = None

    @classmethod
    def for_push(cls, settings: Any) -> Self:
        """Build the connector for pushes: village names resolve through the configured gazetteer only."""
        if not isinstance(settings, RegisterSettings):
            raise ConfigError("hr_migrant_register: pushes need the source configured (its gazetteer)")
        return cls(settings)

    def open(self) -> None:
        """Index the county's villages."""
        self.prepare()

    def prepare(self) -> None:
        """Index the county's villages (the gazetteer file; the register's directory is not read)."""
        path = self.settings.gazetteer or self.settings.directory / "gazetteer.csv"
        if not path.is_file():
            raise ConfigError(f"hr_migrant_register: gazetteer {path} not found (set gazetteer)")
        self.villages = village_index(path, county=self.settings.county_code)

    def files(self) -> list[Path]:
        """Return the monthly files, oldest month first."""
        if not self.settings.directory.is_dir():
            raise FatalSourceError(f"hr_migrant_register: directory {self.settings.directory} not found")
        found = self.settings.directory.glob(self.settings.pattern)
        return sorted(found, key=lambda p: (file_month(p.name), p.name))

    def estimate(self, *, state: dict[str, Any]) -> int | None:
        """Count data lines of the files (reading them in blocks: memory stays flat)."""
        total = 0
        for path in self.files():
            with path.open("rb") as handle:
                lines = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
            total += max(0, lines - 1)
        return total

    def extract(self, *, state: dict[str, Any]) -> Iterator[Extracted]:
        """Read every file in month order; checkpoints resume a pass inside the file it stopped in."""
        done: list[str] = list(state.get("done") or [])
        current, skip = state.get("file"), int(state.get("rows") or 0)
        every = self.settings.batch_size
        for path in self.files():
            if path.name in done:
                continue
            skip_here = skip if path.name == current else 0
            for n, payload in enumerate(self._rows(path), start=1):
                if n <= skip_here:
                    continue
                yield RawItem(RegisterRow, payload)
                if n % every == 0:
                    yield Checkpoint(state={"done": done, "file": path.name, "rows": n})
            done.append(path.name)
            yield Checkpoint(state={"done": done, "file": None, "rows": 0})
        months = [file_month(name) for name in done]
        yield Checkpoint(state={}, final=True, watermark=max(months) if months else None)

    def _rows(self, path: Path) -> Iterator[dict[str, Any]]:
        """Stream one file's rows keyed by the Chinese header (decoded as read: memory stays flat)."""
        with path.open(encoding=self.settings.encoding, newline="") as handle:
            try:
                reader = csv.reader(handle)
                header = [h.strip().lstrip("\ufeff") for h in next(reader, [])]
                missing = [h for h in HEADER if h not in header]
                if missing:
                    raise FatalSourceError(
                        f"hr_migrant_register: {path.name} lacks columns {', '.join(missing)}"
                    )
                for cells in reader:
                    if not any(c.strip() for c in cells):
                        continue
                    payload: dict[str, Any] = dict(zip(header, cells, strict=False))
                    payload[FILE_FIELD] = path.name
                    yield payload
            except UnicodeDecodeError as exc:
                raise FatalSourceError(
                    f"hr_migrant_register: {path.name} is not {self.settings.encoding}: {exc.reason}"
                ) from None

    def translate(self, raw: RawRecord) -> Translation:
        """Translate a row against the village index."""
        assert isinstance(raw, RegisterRow) and self.villages is not None
        return translate_row(raw, villages=self.villages)
