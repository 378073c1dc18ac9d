"""Register the demo clients in an existing, synced store and write their secrets to a file (compose demo).

    python -m gateway.demo.register --out /srv/demo/clients.json

The store is GATEWAY_DATABASE_URL; the clients are named after the synced gazetteer's regions. A client
that exists already is left alone (the file then lacks its secret: `gateway clients rotate-secret`).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import typer
from sqlalchemy import select

from gateway.auth.clients import CLIENTS
from gateway.demo.county import SHIFAN, DemoCounty, register
from gateway.settings import get_settings
from store.engines import make_sync_engine
from store.tables import table_of
from store.tables.records import RegionRow


def register_missing(county: DemoCounty, *, database_url: str) -> list[dict[str, str]]:
    """Register the county's clients the store lacks; return their ids, secrets and purposes."""
    engine = make_sync_engine(database_url)
    regions = table_of(RegionRow).c
    try:
        with engine.connect() as conn:
            names = {code: name for code, name in conn.execute(select(regions.code, regions.name))}
            known = set(conn.execute(select(CLIENTS.c.client_id)).scalars())
    finally:
        engine.dispose()
    missing = [c.region for c in county.clients if c.region not in names]
    if missing:
        raise typer.BadParameter(f"the store has no region {missing[0]}: sync the gazetteer first")
    new = tuple(c for c in county.clients if c.client_id not in known)
    todo = dataclasses.replace(county, clients=new)
    return register(todo, database_url=database_url, names=names)


def main(out: Path = typer.Option(..., help="File to write the new clients' secrets to (0600).")) -> None:
    """Register the demo clients and write their secrets to OUT."""
    creds = register_missing(SHIFAN, database_url=get_settings().database_url)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(creds, fh, ensure_ascii=False, indent=2)
    typer.echo(f"registered {len(creds)} demo clients; their secrets are in {out}")


if __name__ == "__main__":
    typer.run(main)
