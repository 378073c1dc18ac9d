"""`make demo`: generate the demo county, sync it through the connectors, register clients, serve.

Everything goes the way production goes: the county is written in the departments' own formats,
the HR part is read over HTTP from the fake HR API, the store is migrated with `gateway db upgrade`
and filled by `gateway sync`. Only the size and the secrets are the demo's own.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import typer
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from connectors.demo.county import generate_county
from connectors.demo.fake_hr import FakeHrServer
from gateway.auth.clients import create_client
from gateway.db import make_sync_engine
from schemas.tables import ResidentRow

COUNTY = "511599000000"
TOWNSHIP = "511599100000"
READ = ["residents:read", "households:read", "enrollments:read", "services:read", "notices:read"]
# (client id, department, region, scopes, a purpose its grants allow); each department may push to its
# own sources (ingest:{source}), never to another department's.
DEMO_CLIENTS: list[tuple[str, str, str | None, list[str], str]] = [
    (
        "civil-affairs",
        "civil_affairs",
        COUNTY,
        [
            *READ,
            "residents.sensitive:read",
            "statistics:read",
            "changes:read",
            "subscriptions:write",
            "alerts:read",
            "alerts:write",
            "appeals:read",
            "appeals:write",
            "ingest:civil_affairs",
        ],
        "social-assistance-review",
    ),
    # HR follows deaths (stop pensions the same day): the change feed and webhook subscriptions.
    (
        "hr",
        "hr",
        COUNTY,
        [
            *READ,
            "statistics:read",
            "changes:read",
            "subscriptions:write",
            "alerts:read",
            "alerts:write",
            "appeals:read",
            "appeals:write",
            "ingest:hr_api",
            "ingest:hr_migrant_register",
        ],
        "pension-eligibility",
    ),
    (
        "publicity",
        "publicity",
        COUNTY,
        ["notices:read", "notices:write", "services:read", "ingest:publicity"],
        "public-information",
    ),
    (
        "qingshan-township",
        "township",
        TOWNSHIP,
        [*READ, "statistics:read", "changes:read"],
        "social-assistance-review",
    ),
    ("auditor", "audit", COUNTY, ["audit:read", "disclosures:read"], "audit"),
    # 青山村便民服务站: a village agent acting for residents without smartphones, under their consent (代办).
    (
        "qingshan-agent",
        "village_service",
        "511599100201",
        [
            "residents:read",
            "households:read",
            "notices:read",
            "consents:read",
            "consents:write",
            "appeals:read",
            "appeals:write",
        ],
        "pension-eligibility",
    ),
]


# What the registry calls each demo client (the auditor console shows these names).
DEMO_NAMES = {
    "civil-affairs": "县民政局社会救助系统",
    "hr": "县人社局社保与就业系统",
    "publicity": "县融媒体中心",
    "qingshan-township": "青山镇人民政府",
    "auditor": "县审计局",
    "qingshan-agent": "青山村便民服务站代办",
}


def _sources_yaml(src: Path, *, hr_url: str) -> str:
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


def _gateway(*args: str, env: dict[str, str]) -> None:
    """Run the `gateway` command as an operator would."""
    cmd = [sys.executable, "-m", "gateway", *args]
    subprocess.run(cmd, check=True, env=env)  # noqa: S603


def main(
    residents: int = typer.Option(3000, help="Residents in the demo county."),
    root: Path = typer.Option(Path("var/demo"), help="Where the demo keeps its sources and store."),
    port: int = typer.Option(8000, help="Port to serve on (127.0.0.1)."),
    serve: bool = typer.Option(True, help="Serve after loading (off: load, register and stop)."),
) -> None:
    """Build the demo county from scratch and serve it on 127.0.0.1."""
    if root.exists():
        shutil.rmtree(root)
    src = root / "sources"
    root.mkdir(parents=True)
    typer.echo(f"generating a demo county of {residents} residents in the departments' formats: {src}")
    generate_county(src, residents=residents, seed=2026)
    kek = Fernet.generate_key().decode()
    hr_key = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"sqlite:///{(root / 'gateway.db').resolve()}",
        "GATEWAY_SOURCES_CONFIG": str((root / "sources.yaml").resolve()),
        "GATEWAY_KEY_ENCRYPTION_KEY": kek,
        "GATEWAY_AUDIT_KEY_FILE": str((root / "audit-key.pem").resolve()),
        "GATEWAY_HR_API_KEY": hr_key,
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_PORT": str(port),
    }
    _write_audit_key(root / "audit-key.pem")
    _gateway("db", "upgrade", env=env)
    with FakeHrServer(src / "hr_api", api_key=hr_key) as hr:
        (root / "sources.yaml").write_text(_sources_yaml(src.resolve(), hr_url=hr.url), encoding="utf-8")
        typer.echo(f"syncing the four department sources (HR over HTTP from the fake HR API at {hr.url})")
        _gateway("sync", env=env)
    creds = _register(env["GATEWAY_DATABASE_URL"])
    (root / "clients.json").write_text(json.dumps(creds, ensure_ascii=False, indent=2), encoding="utf-8")
    os.chmod(root / "clients.json", 0o600)
    sample = _sample_resident(env["GATEWAY_DATABASE_URL"])
    _print_tour(creds, sample=sample, port=port, root=root)
    if serve:
        os.execve(sys.executable, [sys.executable, "-m", "gateway", "serve"], env)  # noqa: S606


def _write_audit_key(path: Path) -> None:
    """Create the demo's Ed25519 audit signing key (a real deployment mounts it from a Secret)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def _register(database_url: str) -> list[dict[str, str]]:
    engine = make_sync_engine(database_url)
    out = []
    try:
        for client_id, department, region, scopes, purpose in DEMO_CLIENTS:
            record, secret = create_client(
                engine,
                name=DEMO_NAMES.get(client_id, f"demo {client_id}"),
                department=department,
                subsystem="demo",
                scopes=scopes,
                region_code=region,
                client_id=client_id,
            )
            assert secret is not None
            out.append({"client_id": record.client_id, "client_secret": secret, "purpose": purpose})
    finally:
        engine.dispose()
    return out


def _sample_resident(database_url: str) -> str:
    engine = make_sync_engine(database_url)
    r = ResidentRow.__table__.c  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn:
            rid = conn.execute(
                select(r.id)
                .where(r.status == "active", r.region_code.like(f"{TOWNSHIP[:9]}%"))
                .order_by(r.id)
                .limit(1)
            ).scalar_one()
    finally:
        engine.dispose()
    return str(rid)


def _print_tour(creds: list[dict[str, str]], *, sample: str, port: int, root: Path) -> None:
    base = f"http://127.0.0.1:{port}"
    first = creds[0]
    token = (
        f"$(curl -s -u {first['client_id']}:{first['client_secret']} -d grant_type=client_credentials "
        f"{base}/oauth/token | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')"
    )
    typer.echo("")
    typer.echo(
        f"demo clients and secrets: {root / 'clients.json'} (shown once; kept only as hashes in the store)"
    )
    for c in creds:
        typer.echo(f"  {c['client_id']:18} secret {c['client_secret']}  purpose {c['purpose']}")
    typer.echo(
        f"\nAPI docs (offline): {base}/docs   auditor console: {base}/audit/   dashboard: {base}/dashboard/"
    )
    typer.echo("\nA resident, as the civil-affairs department's system asks for one:\n")
    purpose = first["purpose"]
    url = f"{base}/v1/residents/{sample}"
    typer.echo(f'curl -s -H "Authorization: Bearer {token}" -H "X-Purpose: {purpose}" {url}')
    typer.echo("")


if __name__ == "__main__":
    typer.run(main)
