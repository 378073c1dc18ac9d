"""`make demo FEDERATION=1`: a second county (乙县) beside the demo county, each gateway under its own policy.

County B is small: its own gazetteer and a handful of residents, three of whom moved there from the demo
county (same citizen ID numbers). Both gateways pin each other's published signing key; B registers the
demo county as member client `county-a` with a grant of its own (fields, purposes, rows).
"""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
import yaml
from sqlalchemy import Engine, insert, select

from gateway import migrate
from gateway.auth.clients import create_peer_client
from gateway.auth.keys import ensure_signing_key, load_keyring
from gateway.regions.repository import insert_regions
from gateway.settings import Settings
from policies.loader import DEFAULT_DIR
from schemas.models import Region, Resident
from schemas.regions import region_level
from store.engines import make_sync_engine
from store.tables import table_of
from store.tables.records import ResidentRow

COUNTY_A = "511599000000"
COUNTY_B = "511521000000"
GAZETTEER_B = [
    ("510000000000", "四川省", None),
    ("511500000000", "宜宾市", "510000000000"),
    (COUNTY_B, "乙县", "511500000000"),
    ("511521100000", "柏溪镇", COUNTY_B),
    ("511521100201", "新村", "511521100000"),
    ("511521100202", "河坝村", "511521100000"),
]
PURPOSE = "social-assistance-review"
B_GRANT = {
    "id": "county-a-residents",
    "client": "county-a",
    "resource": "residents",
    "fields": ["name", "sex", "birth_date", "region_code", "status"],
    "masked": ["national_id"],
    "regions": [COUNTY_B],
    "purposes": [PURPOSE],
}


def signing_key(database_url: str, kek: str) -> tuple[str, dict[str, Any]]:
    """Create the gateway's first signing key now (the peer pins it); return its kid and public JWKS."""
    settings = Settings(database_url=database_url, key_encryption_key=kek)
    engine = make_sync_engine(database_url)
    try:
        ensure_signing_key(engine, settings)
        ring = load_keyring(engine, settings)
    finally:
        engine.dispose()
    assert ring.signer_kid is not None
    return ring.signer_kid, ring.jwks


def _fill_store(engine: Engine, moved: list[dict[str, Any]]) -> None:
    """Write B's gazetteer and residents: the three who moved from A, and two of B's own."""
    now = dt.datetime.now(dt.UTC)
    regions = [Region(code=c, name=n, level=region_level(c), parent_code=p) for c, n, p in GAZETTEER_B]
    people = [
        Resident(id=f"B{i:010d}", updated_at=now, region_code="511521100201", **person)
        for i, person in enumerate(moved, start=1)
    ]
    people.append(
        Resident(
            id="B0000000009",
            updated_at=now,
            national_id="511521197001010115",
            name="王强",
            region_code="511521100202",
        )
    )
    with engine.begin() as conn:
        insert_regions(conn, regions)
        conn.execute(
            insert(ResidentRow),
            [
                {
                    "id": p.id,
                    "national_id": p.national_id,
                    "region_code": p.region_code,
                    "status": p.status.value,
                    "needs_review": False,
                    "household_id": None,
                    "birth_date": p.birth_date,
                    "updated_at": now,
                    "created_at": now,
                    "doc": p.model_dump_json(),
                }
                for p in people
            ],
        )


def _movers(database_url: str) -> list[dict[str, Any]]:
    """Pick three residents of the demo county who moved to county B (their ID numbers stay theirs)."""
    engine = make_sync_engine(database_url)
    r = table_of(ResidentRow).c
    try:
        with engine.connect() as conn:
            docs = conn.execute(
                select(r.doc).where(r.status == "active", r.national_id.is_not(None)).order_by(r.id).limit(3)
            ).scalars()
            people = [json.loads(d) for d in docs]
    finally:
        engine.dispose()
    keep = ("national_id", "name", "sex", "birth_date", "ethnicity")
    return [{k: p.get(k) for k in keep if p.get(k) is not None} for p in people]


def _policy(root: Path) -> Path:
    directory = root / "policy"
    shutil.copytree(DEFAULT_DIR, directory, ignore=shutil.ignore_patterns("tests"))
    grants = yaml.safe_load((directory / "grants.yaml").read_text(encoding="utf-8"))
    grants["grants"].append(B_GRANT)
    (directory / "grants.yaml").write_text(yaml.safe_dump(grants, allow_unicode=True), encoding="utf-8")
    return directory


def county_b_document(a_url: str, a_pins: list[str]) -> dict[str, Any]:
    """Return county B's federation document: it answers county A, registered as client county-a."""
    return {
        "name": "county-b",
        "region_code": COUNTY_B,
        "members": [
            {
                "name": "county-a",
                "title": "示范县",
                "region_code": COUNTY_A,
                "base_url": a_url,
                "pins": a_pins,
                "client_id": "county-a",
            }
        ],
    }


def _documents(root: Path, *, a_url: str, b_url: str, a_kid: str, b_kid: str) -> tuple[Path, Path]:
    a_doc = {
        "name": "county-a",
        "region_code": COUNTY_A,
        "members": [
            {
                "name": "county-b",
                "title": "乙县",
                "region_code": COUNTY_B,
                "base_url": b_url,
                "pins": [b_kid],
                "as_client_id": "county-a",
            }
        ],
        "allow": [{"department": "civil_affairs", "members": ["county-b"], "purposes": [PURPOSE]}],
    }
    b_doc = county_b_document(a_url, [a_kid])
    paths = (root / "federation-a.yaml", root / "federation.yaml")
    for path, doc in zip(paths, (a_doc, b_doc), strict=True):
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return paths


def build_second_county(
    root: Path, *, env_a: dict[str, str], port: int, make_keys: Callable[[Path], tuple[Path, Path]]
) -> tuple[dict[str, str], dict[str, str]]:
    """Build county B under `root`/county-b (port `port`); return A's and B's environments, federated."""
    home = root / "county-b"
    home.mkdir(parents=True)
    a_url, b_url = env_a["GATEWAY_PUBLIC_URL"], f"http://127.0.0.1:{port}"
    kek_file, audit_file = make_keys(home)  # county B's own keys, never county A's
    kek = kek_file.read_text(encoding="ascii").strip()
    env_b = {
        **env_a,
        "GATEWAY_DATABASE_URL": f"sqlite:///{(home / 'gateway.db').resolve()}",
        "GATEWAY_KEY_ENCRYPTION_KEY": kek,
        "GATEWAY_AUDIT_KEY_FILE": str(audit_file.resolve()),
        "GATEWAY_PUBLIC_URL": b_url,
        "GATEWAY_PORT": str(port),
        "GATEWAY_POLICY_DIR": str(_policy(home).resolve()),
    }
    engine_b = make_sync_engine(env_b["GATEWAY_DATABASE_URL"])
    movers = _movers(env_a["GATEWAY_DATABASE_URL"])
    try:
        migrate.upgrade(engine_b)  # in process: `gateway db upgrade` would import everything again
        _fill_store(engine_b, movers)
        a_kid, a_jwks = signing_key(env_a["GATEWAY_DATABASE_URL"], env_a["GATEWAY_KEY_ENCRYPTION_KEY"])
        b_kid, _ = signing_key(env_b["GATEWAY_DATABASE_URL"], kek)
        create_peer_client(engine_b, "county-a", name="示范县数据共享网关", jwks=a_jwks, region_code=COUNTY_A)
    finally:
        engine_b.dispose()
    fed_a, fed_b = _documents(home, a_url=a_url, b_url=b_url, a_kid=a_kid, b_kid=b_kid)
    env_b["GATEWAY_FEDERATION_FILE"] = str(fed_b.resolve())
    facts = {"url": b_url, "moved_national_ids": [m["national_id"] for m in movers]}
    (home / "federation.json").write_text(json.dumps(facts), encoding="utf-8")
    with (root / "env.sh").open("a", encoding="utf-8") as fh:  # the demo county's shell settings
        fh.write(
            "# Federation (make demo FEDERATION=1): county B serves on " + b_url + "\n"
            f"export GATEWAY_FEDERATION_FILE={shlex.quote(str(fed_a.resolve()))}\n"
            f"export MOVED_NATIONAL_ID={shlex.quote(facts['moved_national_ids'][0])}\n"
        )
    typer.echo(f"second county 乙县 (county-b) built in {home}; it serves on {b_url}")
    return {**env_a, "GATEWAY_FEDERATION_FILE": str(fed_a.resolve())}, env_b


def print_cross_county(*, port: int, client: dict[str, str], root: Path) -> None:
    """Print the curl line of a cross-county lookup from the demo county's civil-affairs system."""
    moved = json.loads((root / "county-b" / "federation.json").read_text(encoding="utf-8"))[
        "moved_national_ids"
    ]
    base = f"http://127.0.0.1:{port}"
    token = (
        f"$(curl -s -u {client['client_id']}:{client['client_secret']} -d grant_type=client_credentials "
        f"{base}/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    typer.echo("\nA resident who moved to county B, asked across counties (B decides what A sees):\n")
    typer.echo(
        f'curl -s -H "Authorization: Bearer {token}" -H "X-Purpose: {PURPOSE}" '
        f"-H 'Content-Type: application/json' -d '{{\"national_id\": \"{moved[0]}\"}}' "
        f"{base}/v1/federation/county-b/residents:lookup"
    )
    typer.echo("")
