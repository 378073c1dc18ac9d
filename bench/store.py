"""Prepare the bench store once per backend: migrate, then load a synthetic county with a direct bulk loader.

The loader writes unified rows straight into `region`, `household`, `resident` and `resident_tag`
(SQLAlchemy Core executemany; each document is `Resident(...).model_dump_json()`), bypassing the
connectors: the demo generator and `gateway sync` are not wired to the bench yet. The report says so.
SQLite stores are built once per (size, seed, schema head) into a cache and copied per bench run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, text

from bench.scenarios import Fixture
from gateway import migrate
from gateway.regions.repository import insert_regions
from schemas.codes import EmploymentStatus, Relation, ResidentStatus, Sex, Tag
from schemas.models import FieldProvenance, Household, Region, Resident
from store.engines import make_sync_engine
from store.tables import table_of
from store.tables.records import HouseholdRow, RegionRow, ResidentRow, ResidentTagRow

LOADER = "direct"
LOADER_DESCRIPTION = (
    "direct bulk loader (bench/store.py: synthetic residents validated as schemas.models.Resident, "
    "executemany into region/household/resident/resident_tag); not the demo generator + `gateway sync`"
)
LOADER_VERSION = 1  # bump when the generated data changes, to invalidate cached SQLite stores
SAMPLE_IDS = 20_000
TODAY = dt.date(2026, 11, 1)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
_GIVEN = "建国华明丽芳军伟敏静强磊洋艳勇杰娟涛超秀兰霞平刚桂英玉梅春生福德文志红海"
_TOWNSHIPS = (
    "青山镇",
    "石门乡",
    "龙泉镇",
    "白鹤乡",
    "双河镇",
    "大坪乡",
    "柏林镇",
    "新华乡",
    "观音镇",
    "金竹乡",
)
_CHUNK = 5_000


def _check_char(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def _opaque(rng: random.Random, *, prefix: str, seen: set[str]) -> str:
    while True:
        value = prefix + "".join(rng.choices(_ALPHABET, k=11))
        if value not in seen:
            seen.add(value)
            return value


def _regions(villages_per_township: int) -> tuple[list[Region], dict[str, str]]:
    regions = [
        Region(code="510000000000", name="四川省", level="province"),  # type: ignore[arg-type]
        Region(code="511500000000", name="宜宾市", level="city", parent_code="510000000000"),  # type: ignore[arg-type]
        Region(code="511599000000", name="示范县", level="county", parent_code="511500000000"),  # type: ignore[arg-type]
    ]
    villages: dict[str, str] = {}
    for t, tname in enumerate(_TOWNSHIPS, start=1):
        tcode = f"511599{99 + t:03d}000"
        regions.append(Region(code=tcode, name=tname, level="township", parent_code="511599000000"))  # type: ignore[arg-type]
        for v in range(1, villages_per_township + 1):
            vcode = f"{tcode[:9]}{200 + v:03d}"
            villages[vcode] = f"{tname}{tname[:2]}{v}村"
            regions.append(Region(code=vcode, name=f"{tname[:2]}{v}村", level="village", parent_code=tcode))  # type: ignore[arg-type]
    return regions, villages


def _naive_utc(value: dt.datetime, *, sqlite: bool) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None) if sqlite else value


def _people(
    rng: random.Random, *, residents: int, villages: dict[str, str]
) -> Iterator[tuple[Resident, Household]]:
    """Yield residents with their household, in households of 1-5 people living in one village."""
    ids: set[str] = set()
    nids: set[str] = set()
    made = 0
    codes = sorted(villages)
    while made < residents:
        village = rng.choice(codes)
        hid = _opaque(rng, prefix="H", seen=ids)
        size = min(rng.choice((1, 2, 2, 3, 3, 4, 4, 5)), residents - made)
        members = [_opaque(rng, prefix="R", seen=ids) for _ in range(size)]
        household = Household(
            id=hid, household_no=f"{village[6:]}{made:07d}", region_code=village, head_resident_id=members[0]
        )
        surname = rng.choice(_SURNAMES)
        for i, rid in enumerate(members):
            yield (
                _person(
                    rng,
                    rid=rid,
                    nids=nids,
                    village=village,
                    place=villages[village],
                    hid=hid,
                    surname=surname,
                    head=i == 0,
                ),
                household,
            )
        made += size


def _person(
    rng: random.Random,
    *,
    rid: str,
    nids: set[str],
    village: str,
    place: str,
    hid: str,
    surname: str,
    head: bool,
) -> Resident:
    """Return one synthetic resident with a valid citizen ID and a realistic document size."""
    birth = TODAY - dt.timedelta(days=rng.randint((20 if head else 1) * 365, 95 * 365))
    while True:
        first17 = f"{village[:6]}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
        number = first17 + _check_char(first17)
        if number not in nids:
            nids.add(number)
            break
    age = (TODAY - birth).days // 365
    sex = Sex.MALE if int(number[16]) % 2 else Sex.FEMALE
    migrant = 18 <= age < 55 and rng.random() < 0.25
    tags = [Tag.ELDERLY] if age >= 60 else []
    tags += [Tag.MIGRANT_WORKER] if migrant else []
    tags += [Tag.LOW_INCOME] if rng.random() < 0.05 else []
    tags += [Tag.LEFT_BEHIND_CHILD] if age < 16 and rng.random() < 0.2 else []
    employment = (
        EmploymentStatus.MIGRANT
        if migrant
        else (EmploymentStatus.RETIRED if age >= 60 else EmploymentStatus.EMPLOYED if age >= 18 else None)
    )
    updated = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randint(0, 40_000))
    civil, hr = _sources(rng, updated=updated)
    phone = f"1{rng.choice('3589')}{rng.randint(0, 10**9 - 1):09d}" if age >= 16 else None
    provenance = {"name": civil, "address": civil}
    provenance |= {"phone": hr if migrant else civil} if phone else {}
    provenance |= {"employment_status": hr} if employment else {}
    return Resident(
        id=rid,
        national_id=number,
        name=surname + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2)))),
        sex=sex,
        birth_date=birth,
        ethnicity="01" if rng.random() < 0.9 else "07",  # type: ignore[arg-type]
        region_code=village,
        address=f"四川省宜宾市示范县{place}{rng.randint(1, 12)}组{rng.randint(1, 99)}号",
        phone=phone,
        household_id=hid,
        relation=Relation.HEAD if head else rng.choice((Relation.SPOUSE, Relation.SON, Relation.DAUGHTER)),
        status=ResidentStatus.ACTIVE if rng.random() < 0.97 else ResidentStatus.DECEASED,
        tags=tags,
        employment_status=employment,
        updated_at=updated,
        provenance=provenance,
    )


def _sources(rng: random.Random, *, updated: dt.datetime) -> tuple[FieldProvenance, FieldProvenance]:
    """Return the civil-affairs and HR provenance of one resident (record keys drawn in that order)."""
    civil = FieldProvenance(
        source="civil_affairs",
        department="civil_affairs",  # type: ignore[arg-type]
        record_key=f"MZ{rng.randint(0, 10**8):08d}",
        updated_at=updated,
    )
    hr = FieldProvenance(
        source="hr_api",
        department="hr",  # type: ignore[arg-type]
        record_key=f"RS{rng.randint(0, 10**7):07d}",
        updated_at=updated,
    )
    return civil, hr


def load_county(engine: Engine, *, residents: int, seed: int) -> None:
    """Insert a synthetic county (gazetteer, households, residents, tags) into a migrated store."""
    sqlite = engine.dialect.name == "sqlite"
    rng = random.Random(seed)
    regions, villages = _regions(villages_per_township=max(2, min(30, residents // 2_000)))
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        insert_regions(conn, regions)
    people: list[dict[str, Any]] = []
    tags: list[dict[str, str]] = []
    households: dict[str, dict[str, Any]] = {}

    def flush() -> None:
        with engine.begin() as conn:
            if households:
                conn.execute(insert(table_of(HouseholdRow)), list(households.values()))  # type: ignore[arg-type]
            conn.execute(insert(table_of(ResidentRow)), people)  # type: ignore[arg-type]
            if tags:
                conn.execute(insert(table_of(ResidentTagRow)), tags)  # type: ignore[arg-type]
        people.clear(), tags.clear(), households.clear()

    for res, hh in _people(rng, residents=residents, villages=villages):
        if hh.head_resident_id == res.id:
            households[hh.id] = {
                "id": hh.id,
                "household_no": hh.household_no,
                "region_code": hh.region_code,
                "head_resident_id": hh.head_resident_id,
                "updated_at": _naive_utc(now, sqlite=sqlite),
            }
        people.append(
            {
                "id": res.id,
                "national_id": res.national_id,
                "region_code": res.region_code,
                "household_id": res.household_id,
                "status": res.status.value,
                "needs_review": res.needs_review,
                "updated_at": _naive_utc(res.updated_at, sqlite=sqlite),
                "created_at": _naive_utc(now, sqlite=sqlite),
                "doc": res.model_dump_json(),
            }
        )
        tags.extend({"resident_id": res.id, "tag": t.value} for t in res.tags)
        if len(people) >= _CHUNK:
            flush()
    if people:
        flush()
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def _facts(engine: Engine, *, seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return a random sample of resident ids and every village code in the store."""
    r, g = table_of(ResidentRow).c, table_of(RegionRow).c
    with engine.connect() as conn:
        ids = list(conn.execute(select(r.id)).scalars())
        villages = tuple(conn.execute(select(g.code).where(g.level == "village").order_by(g.code)).scalars())
    sample = random.Random(seed + 1).sample(ids, min(SAMPLE_IDS, len(ids)))
    return tuple(sample), villages


def _sqlite_template(cache_dir: Path, *, residents: int, seed: int, log: Callable[[str], None]) -> Path:
    # The migrations' content, not only their head: an edited revision must not reuse an old store.
    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(versions.glob("*.py")))).hexdigest()[:10]
    head = "-".join(sorted(migrate.head_revisions())) + f"-{digest}"
    path = cache_dir / f"county-{residents}-s{seed}-{head}-v{LOADER_VERSION}.db"
    if path.exists():
        log(f"store: reusing cached {path.name}")
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    log(f"store: building {residents:,} residents into {path.name} (direct loader)")
    engine = make_sync_engine(f"sqlite:///{partial}")
    try:
        migrate.upgrade(engine)
        load_county(engine, residents=residents, seed=seed)
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        engine.dispose()
    partial.rename(path)
    return path


@contextmanager
def prepare(
    backend: str, *, residents: int, seed: int, work_dir: Path, cache_dir: Path, log: Callable[[str], None]
) -> Iterator[Fixture]:
    """Yield a loaded store of `backend` ('sqlite' or 'postgresql') as a Fixture; tear it down after."""
    if backend == "sqlite":
        template = _sqlite_template(cache_dir, residents=residents, seed=seed, log=log)
        db = work_dir / "gateway.db"
        shutil.copyfile(template, db)
        url = f"sqlite:///{db}"
        engine = make_sync_engine(url)
        try:
            ids, villages = _facts(engine, seed=seed)
        finally:
            engine.dispose()
        yield Fixture(
            backend=backend,
            database_url=url,
            residents=residents,
            resident_ids=ids,
            village_codes=villages,
            work_dir=work_dir,
        )
        return
    if backend != "postgresql":
        raise SystemExit(f"unknown backend {backend!r}: use sqlite or postgresql")
    from tests.support.pgcluster import PgCluster, find_pg_bin

    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries are not installed (make system-deps)")
    cluster = PgCluster(bin_dir).start()
    try:
        log(f"store: PostgreSQL on 127.0.0.1:{cluster.port}; loading {residents:,} residents (direct loader)")
        engine = make_sync_engine(cluster.url())
        try:
            migrate.upgrade(engine)
            load_county(engine, residents=residents, seed=seed)
            ids, villages = _facts(engine, seed=seed)
        finally:
            engine.dispose()
        yield Fixture(
            backend=backend,
            database_url=cluster.url(),
            residents=residents,
            resident_ids=ids,
            village_codes=villages,
            work_dir=work_dir,
        )
    finally:
        cluster.stop()
