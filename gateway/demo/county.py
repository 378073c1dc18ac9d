"""A demo county: its generated sources, its clients, and the steps that load it into a store.

The demo is described as data (`DemoCounty`), so another module can describe a second county and load
it with the same steps (`load_county`) into its own root and store.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import typer
from sqlalchemy import func, select

from connectors.demo.county import generate_county
from connectors.demo.fake_hr import FakeHrServer
from gateway.auth.clients import create_client
from store.engines import make_sync_engine
from store.tables import table_of
from store.tables.records import ResidentRow

READ = ("residents:read", "households:read", "enrollments:read", "services:read", "notices:read")


@dataclass(frozen=True)
class ClientProfile:
    """A client to register: its id, department, the region it serves (a gazetteer code), scopes, purpose."""

    client_id: str
    department: str
    region: str
    scopes: tuple[str, ...]
    purpose: str | None  # None: a client whose operations need none (the auditor)


@dataclass(frozen=True)
class DemoClient(ClientProfile):
    """A demo client: its profile, the organisation it speaks for and its prefix in env.sh."""

    purpose: str  # every demo client states one (env.sh hands it to the tour)
    role: str  # the organisation, named with its region's gazetteer name: "{region}人民政府"
    env: str  # prefix of its variables in env.sh: CLIENT -> CLIENT_ID, CLIENT_SECRET


@dataclass(frozen=True)
class DemoCounty:
    """A county the demo generates: code, seed, and the places and clients the tour and guides use."""

    code: str
    seed: int
    township: str  # the township of RESIDENT_ID and of the township client
    other_township: str  # a township outside it (OTHER_RESIDENT_ID)
    village: str  # the village agent's village (VILLAGE_NATIONAL_ID)
    clients: tuple[DemoClient, ...]


SHIFAN = DemoCounty(
    code="511599000000",
    seed=2026,
    township="511599100000",
    other_township="511599200000",
    village="511599100201",
    clients=(
        DemoClient(
            "civil-affairs",
            "civil_affairs",
            "511599000000",
            (*READ, "residents.sensitive:read", "employment:read", "migrations:read", "statistics:read",
             "changes:read", "subscriptions:write",
             "alerts:read", "alerts:write", "appeals:read", "appeals:write", "ingest:civil_affairs"),
            "social-assistance-review",
            "{region}民政局",
            "CLIENT",
        ),
        # HR follows deaths (stop pensions the same day): the change feed and webhook subscriptions.
        DemoClient(
            "hr",
            "hr",
            "511599000000",
            (*READ, "employment:read", "migrations:read", "statistics:read", "changes:read",
             "subscriptions:write", "alerts:read", "alerts:write", "appeals:read", "appeals:write",
             "ingest:hr_api", "ingest:hr_migrant_register"),
            "pension-eligibility",
            "{region}人力资源和社会保障局",
            "HR_CLIENT",
        ),
        DemoClient(
            "publicity",
            "publicity",
            "511599000000",
            ("notices:read", "notices:write", "services:read", "ingest:publicity"),
            "public-information",
            "{region}融媒体中心",
            "PUBLICITY_CLIENT",
        ),
        DemoClient(
            "qingshan-township",
            "township",
            "511599100000",
            (*READ, "statistics:read", "changes:read"),
            "social-assistance-review",
            "{region}人民政府",
            "TOWNSHIP_CLIENT",
        ),
        DemoClient(
            "auditor", "audit", "511599000000", ("audit:read", "disclosures:read"), "audit",
            "{region}审计局", "AUDITOR_CLIENT",
        ),
        # A village agent acting for residents without smartphones, under their consent (代办).
        DemoClient(
            "qingshan-agent",
            "village_service",
            "511599100201",
            ("residents:read", "households:read", "notices:read", "consents:read", "consents:write",
             "appeals:read", "appeals:write"),
            "pension-eligibility",
            "{region}便民服务站",
            "AGENT_CLIENT",
        ),
    ),
)  # fmt: skip


def sources_yaml(src: Path, *, hr_url: str) -> str:
    """Return the sources config of a generated county (HR read over HTTP from `hr_url`)."""
    return f"""# Written by `make demo`: the demo county's department sources.
sources:
  gazetteer:
    path: {src / "gazetteer.csv"}
  civil_affairs:
    url: sqlite:///{src / "civil_affairs.sqlite"}
  hr_api:
    base_url: {hr_url}
    api_key_env: GATEWAY_HR_API_KEY
  hr_migrant_register:
    directory: {src}
    pattern: "hr_migrant_register_*.csv"
    gazetteer: {src / "gazetteer.csv"}
  publicity:
    url: {src / "publicity_feed.xml"}
"""


def gateway_cli(*args: str, env: dict[str, str]) -> None:
    """Run the `gateway` command as an operator would."""
    cmd = [sys.executable, "-m", "gateway", *args]
    subprocess.run(cmd, check=True, env=env)  # noqa: S603


def gazetteer_names(src: Path) -> dict[str, str]:
    """Return the generated gazetteer as code -> name."""
    with (src / "gazetteer.csv").open(encoding="utf-8") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


def load_county(
    county: DemoCounty, *, root: Path, residents: int, env: dict[str, str]
) -> list[dict[str, str]]:
    """Generate the county's sources under root, migrate and sync its store, register its clients."""
    src = root / "sources"
    typer.echo(f"generating a demo county of {residents} residents in the departments' formats: {src}")
    generate_county(src, residents=residents, seed=county.seed)
    gateway_cli("db", "upgrade", env=env)
    with FakeHrServer(src / "hr_api", api_key=env["GATEWAY_HR_API_KEY"]) as hr:
        (root / "sources.yaml").write_text(sources_yaml(src.resolve(), hr_url=hr.url), encoding="utf-8")
        typer.echo(f"syncing the department sources (HR over HTTP from the fake HR API at {hr.url})")
        gateway_cli("sync", env=env)
    creds = register(county, database_url=env["GATEWAY_DATABASE_URL"], names=gazetteer_names(src))
    path = root / "clients.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(creds, fh, ensure_ascii=False, indent=2)
    return creds


def register(county: DemoCounty, *, database_url: str, names: dict[str, str]) -> list[dict[str, str]]:
    """Register the county's demo clients, named after their regions; return ids, secrets and purposes."""
    engine = make_sync_engine(database_url)
    out = []
    try:
        for c in county.clients:
            record, secret = create_client(
                engine,
                name=c.role.format(region=names[c.region]),
                department=c.department,
                subsystem="demo",
                scopes=list(c.scopes),
                region_code=c.region,
                client_id=c.client_id,
            )
            assert secret is not None
            out.append(
                {
                    "client_id": record.client_id,
                    "client_secret": secret,
                    "purpose": c.purpose,
                    "name": record.name,
                    "env": c.env,
                }
            )
    finally:
        engine.dispose()
    return out


def sample_residents(county: DemoCounty, *, database_url: str) -> dict[str, str]:
    """Return residents that exist in this demo, by the names of their env.sh variables."""
    engine = make_sync_engine(database_url)
    r = table_of(ResidentRow).c

    def first(region: str, *, adult: bool = False) -> tuple[str, str]:
        prefix = region if region[9:] != "000" else region[:9] if region[6:9] != "000" else region[:6]
        stmt = select(r.id, r.national_id).where(
            r.status == "active", r.national_id.is_not(None), r.region_code.like(f"{prefix}%")
        )
        if adult:  # the guide records a consent for them: a child would need a guardian (PIPL Art. 31)
            born_before = str(dt.date.today().year - 18)
            stmt = stmt.where(func.substr(r.national_id, 7, 4) < born_before)
        row = conn.execute(stmt.order_by(r.id).limit(1)).one()
        return str(row[0]), str(row[1])

    try:
        with engine.connect() as conn:
            resident, national_id = first(county.township)
            other, _ = first(county.other_township)
            _, village_national_id = first(county.village, adult=True)
    finally:
        engine.dispose()
    return {
        "RESIDENT_ID": resident,
        "NATIONAL_ID": national_id,
        "OTHER_RESIDENT_ID": other,
        "VILLAGE_NATIONAL_ID": village_national_id,
    }
