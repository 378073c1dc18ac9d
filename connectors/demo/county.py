"""Generate a synthetic 示范县 of any size in the four departments' own formats (see docs/sources.md)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from connectors.demo.feed import write_feed
from connectors.demo.gazetteer import Gazetteer, build_gazetteer
from connectors.demo.ids import DateTable
from connectors.demo.people import Population
from connectors.demo.quirks import Broken, QuirkBook
from connectors.demo.reference import REFERENCE_DAY
from connectors.demo.register import RegisterWriter
from connectors.demo.writers import CivilAffairsWriter, HrApiWriter, write_reference

BIRTHS_FROM = dt.date(1920, 1, 1)
MANIFEST_NAME = "manifest.json"
SOURCES = ("civil_affairs", "hr_api", "hr_migrant_register")
QUARANTINE_REASONS = ("invalid_id", "missing_id", "unknown_village", "unrecoverable_id", "ambiguous_village")


class BrokenRecord(BaseModel):
    """A source record written broken on purpose, which a correct connector holds back."""

    source: str = Field(description="civil_affairs, hr_api or hr_migrant_register")
    key: str = Field(description="JMID, personId, or '<filename>#<序号>'")
    reason: str = Field(description="one of QUARANTINE_REASONS")


class CountyManifest(BaseModel):
    """What generate_county wrote: sizes, record counts per file, quirk counts, and the broken records."""

    seed: int
    residents: int = Field(description="rows in T_HJ_JMXX")
    households: int
    hr_only_persons: int = Field(description="people HR knows who are not registered in civil affairs")
    reference_day: str = Field(description="the demo county's 'today'; all data is dated before it")
    months: list[str] = Field(description="months of the migrant registers, oldest first (YYYY-MM)")
    counts: dict[str, int] = Field(
        description="records per file; sqlite tables as 'civil_affairs.sqlite:TABLE'"
    )
    duplicate_village_names: list[str]
    quirks: dict[str, int] = Field(description="how many times each quirk was written")
    broken: list[BrokenRecord]


@dataclass
class _PartResult:
    """What writing some of the sources produced."""

    counts: dict[str, int]
    quirks: Counter[str]
    broken: list[Broken]
    households: int = 0
    hr_only: int = 0
    months: list[str] = field(default_factory=list)


def _stream(name: str, *, seed: int) -> random.Random:
    """Return the random stream of one part of the county, derived from the seed."""
    return random.Random(f"{seed}:{name}")


def _write_parts(
    out_dir: Path, *, parts: tuple[str, ...], gazetteer: Gazetteer, residents: int, seed: int, months: int
) -> _PartResult:
    """Generate the population and stream it into the sources named in `parts` ("civil_affairs", "hr")."""
    # Each source draws from its own random streams, so one source's output never depends on another's.
    dates = DateTable(first=BIRTHS_FROM, last=REFERENCE_DAY - dt.timedelta(days=1))
    books = {part: QuirkBook(_stream(f"quirks:{part}", seed=seed)) for part in parts}
    writers: list[CivilAffairsWriter | HrApiWriter | RegisterWriter] = []
    if "civil_affairs" in parts:
        rng, book = _stream("ca", seed=seed), books["civil_affairs"]
        writers.append(
            CivilAffairsWriter(out_dir / "civil_affairs.sqlite", rng=rng, quirks=book, dates=dates)
        )
    register: RegisterWriter | None = None
    if "hr" in parts:
        writers.append(
            HrApiWriter(out_dir / "hr_api", rng=_stream("hr", seed=seed), quirks=books["hr"], dates=dates)
        )
        rng = _stream("register", seed=seed)
        register = RegisterWriter(out_dir, months=months, rng=rng, quirks=books["hr"], gazetteer=gazetteer)
        writers.append(register)
    result = _PartResult(counts={}, quirks=Counter(), broken=[])
    adders = [w.add for w in writers]
    try:
        for household in Population(gazetteer, rng=_stream("people", seed=seed), dates=dates).households(
            residents
        ):
            result.households += 1
            result.hr_only += household.members[-1].hr_only
            for add in adders:
                add(household)
    finally:
        for writer in writers:
            result.counts |= writer.close()
    for book in books.values():
        result.quirks.update(book.counts)
        result.broken += book.broken
    if register is not None:
        result.months = [n.removeprefix("hr_migrant_register_").removesuffix(".csv") for n in register.names]
    return result


def generate_county(out_dir: Path, *, residents: int, seed: int = 2026, months: int = 2) -> CountyManifest:
    """Write a deterministic synthetic county of `residents` registered people into `out_dir`."""
    if residents < 1:
        raise ValueError("residents must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gazetteer = build_gazetteer(residents, rng=_stream("gazetteer", seed=seed))
    counts = write_reference(out_dir, gazetteer=gazetteer)
    sources = _write_parts(
        out_dir,
        parts=("civil_affairs", "hr"),
        gazetteer=gazetteer,
        residents=residents,
        seed=seed,
        months=months,
    )
    feed_book = QuirkBook(_stream("quirks:feed", seed=seed))
    counts["publicity_feed.xml"] = write_feed(
        out_dir / "publicity_feed.xml",
        gaz=gazetteer,
        residents=residents,
        rng=_stream("feed", seed=seed),
        quirks=feed_book,
    )
    counts |= sources.counts
    quirks = sources.quirks + Counter(feed_book.counts)
    manifest = CountyManifest(
        seed=seed,
        residents=residents,
        households=sources.households,
        hr_only_persons=sources.hr_only,
        reference_day=REFERENCE_DAY.isoformat(),
        months=sources.months,
        counts=dict(sorted(counts.items())),
        duplicate_village_names=gazetteer.duplicate_names,
        quirks=dict(sorted(quirks.items())),
        broken=[
            BrokenRecord(source=b.source, key=b.key, reason=b.reason)
            for b in sorted(sources.broken, key=lambda b: SOURCES.index(b.source))
        ],
    )
    text = json.dumps(manifest.model_dump(), ensure_ascii=False, indent=1)
    (out_dir / MANIFEST_NAME).write_text(text + "\n", encoding="utf-8")
    return manifest


def load_manifest(out_dir: Path) -> CountyManifest:
    """Read the manifest.json of a generated county."""
    return CountyManifest.model_validate_json((Path(out_dir) / MANIFEST_NAME).read_bytes())


def county_sources(directory: Path, *, hr_url: str, hr_key_env: str, **hr_options: object) -> dict[str, Any]:
    """Return the `sources` section reading a generated county (or the samples) in `directory`."""
    return {
        "gazetteer": {"path": str(directory / "gazetteer.csv")},
        "civil_affairs": {"url": f"sqlite:///{directory / 'civil_affairs.sqlite'}"},
        "hr_api": {"base_url": hr_url, "api_key_env": hr_key_env, **hr_options},
        "hr_migrant_register": {"directory": str(directory)},
        "publicity": {"url": str(directory / "publicity_feed.xml")},
    }
