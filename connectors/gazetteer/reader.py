"""Read gazetteer.csv (code,name,level,parent_code) and resolve village names within a county."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from connectors.sdk.errors import ConfigError, Reason, RecordInvalid

HEADER = ("code", "name", "level", "parent_code")


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """Yield the rows of a gazetteer file as dicts of its header."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ConfigError(f"gazetteer {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in HEADER if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"gazetteer {path}: missing columns {', '.join(missing)}")
        for row in reader:
            yield {k: (row.get(k) or "").strip() for k in HEADER}


@dataclass
class VillageIndex:
    """The villages of one county, by code and by name (names may repeat across townships)."""

    county: str
    names: dict[str, str] = field(default_factory=dict)  # code -> name
    codes: dict[str, list[str]] = field(default_factory=dict)  # name -> codes

    def resolve(self, name: str | None, code: str | None) -> str:
        """Return the 12-digit code of a village given by code, or by name when the code is blank."""
        name = (name or "").strip()
        code = (code or "").strip()
        if code:
            padded = code.ljust(12, "0") if code.isdigit() and len(code) <= 12 else code
            known = self.names.get(padded)
            if known is None:
                raise RecordInvalid(
                    Reason.UNKNOWN_VILLAGE, f"村代码 {code!r} is not a village of the gazetteer"
                )
            if name and name != known:
                raise RecordInvalid(
                    Reason.VILLAGE_MISMATCH, f"村代码 {code} is {known}, but 户籍所在村 says {name!r}"
                )
            return padded
        if not name:
            raise RecordInvalid(Reason.UNKNOWN_VILLAGE, "户籍所在村 and 村代码 are both blank")
        found = self.codes.get(name, [])
        if not found:
            raise RecordInvalid(Reason.UNKNOWN_VILLAGE, f"no village named {name!r} in county {self.county}")
        if len(found) > 1:
            raise RecordInvalid(
                Reason.AMBIGUOUS_VILLAGE,
                f"{len(found)} villages named {name!r} in county {self.county}: {found}",
            )
        return found[0]


def village_index(path: Path, *, county: str | None) -> VillageIndex:
    """Index the villages of `county` (its 6-digit code; default: the gazetteer's only county)."""
    rows = list(read_rows(path))
    if county is None:
        counties = sorted({r["code"][:6] for r in rows if r["level"] == "county"})
        if len(counties) != 1:
            raise ConfigError(f"gazetteer {path} holds {len(counties)} counties: set county_code")
        county = counties[0]
    county = county[:6]
    index = VillageIndex(county=county)
    for row in rows:
        code = row["code"].ljust(12, "0")
        if row["level"] == "village" and code.startswith(county):
            index.names[code] = row["name"]
            index.codes.setdefault(row["name"], []).append(code)
    return index
