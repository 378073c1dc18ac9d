"""`make demo`: generate the demo county, sync it through the connectors, register clients, serve.

Everything goes the way production goes: the county is written in the departments' own formats,
the HR part is read over HTTP from the fake HR API, the store is migrated with `gateway db upgrade`
and filled by `gateway sync`. Only the size and the secrets are the demo's own; they stay in the demo's
root (default var/demo, ignored by git), with env.sh for the shells that talk to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.demo import staff as demo_staff
from gateway.demo.county import SHIFAN, DemoCounty, load_county, sample_residents
from gateway.demo.envfile import ready_block, receiver_url, write_env
from gateway.federation import demo as federation_demo

READY_TIMEOUT = 120.0


def _secret_file(path: Path, data: bytes) -> None:
    """Write a new file readable by its owner only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _keys(root: Path) -> tuple[Path, Path]:
    """Create the demo's key-encryption key and Ed25519 audit key in root (a deployment mounts Secrets)."""
    kek, audit = root / "key-encryption.key", root / "audit-key.pem"
    _secret_file(kek, Fernet.generate_key())
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _secret_file(audit, pem)
    return kek, audit


def demo_env(root: Path, *, port: int, kek: Path, audit: Path) -> dict[str, str]:
    """Return the environment the demo's commands and server run with."""
    return {
        **os.environ,
        "GATEWAY_DATABASE_URL": f"sqlite:///{(root / 'gateway.db').resolve()}",
        "GATEWAY_SOURCES_CONFIG": str((root / "sources.yaml").resolve()),
        "GATEWAY_KEY_ENCRYPTION_KEY": kek.read_text(encoding="ascii").strip(),
        "GATEWAY_AUDIT_KEY_FILE": str(audit.resolve()),
        "GATEWAY_HR_API_KEY": secrets.token_urlsafe(16),
        "GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_PORT": str(port),
        "GATEWAY_WEBHOOK_ALLOWED_URLS": os.environ.get("GATEWAY_WEBHOOK_ALLOWED_URLS") or receiver_url(),
    }


def build(
    root: Path, *, county: DemoCounty, residents: int, port: int
) -> tuple[dict[str, str], list[dict[str, str]], list[dict[str, str]]]:
    """Build a county from scratch in root (store, keys, clients, staff, env.sh); return env, clients
    and staff accounts."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    kek, audit = _keys(root)
    env = demo_env(root, port=port, kek=kek, audit=audit)
    creds = load_county(county, root=root, residents=residents, env=env)
    staff = demo_staff.provision(root, env=env)
    samples = sample_residents(county, database_url=env["GATEWAY_DATABASE_URL"])
    write_env(root / "env.sh", env=env, kek_file=kek, creds=creds, samples=samples, staff=staff)
    return env, creds, staff


def _die_with_parent() -> None:
    # The server must not outlive the demo, even when the demo is killed with SIGKILL (Linux only).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def serve_until_stopped(env: dict[str, str], *, base: str, block: str) -> int:
    """Run `gateway serve`; print the block once /readyz answers; stop it on Ctrl-C or SIGTERM."""
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve"], env=env, preexec_fn=_die_with_parent)
    signal.signal(signal.SIGTERM, lambda *_: proc.terminate())
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    typer.echo(block)
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            if proc.poll() is None:
                typer.echo(f"error: the gateway did not become ready on {base} in time", err=True)
                proc.terminate()
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=20)
        typer.echo("demo stopped")
        return 0


def main(
    residents: int = typer.Option(3000, help="Residents in the demo county."),
    root: Path = typer.Option(Path("var/demo"), help="Where the demo keeps its sources, store and keys."),
    port: int = typer.Option(8000, help="Port to serve on (127.0.0.1)."),
    serve: bool = typer.Option(True, help="Serve after loading (off: load, register and stop)."),
    second_county: bool = typer.Option(
        False, "--second-county", help="Also serve a second county (乙县) on port+1, federated with this one."
    ),
) -> None:
    """Build the demo county from scratch and serve it on 127.0.0.1."""
    env, creds, staff = build(root, county=SHIFAN, residents=residents, port=port)
    base = env["GATEWAY_PUBLIC_URL"]
    if second_county:  # gateway/federation/demo.py: county B, and env.sh gains the federation settings
        env, env_b = federation_demo.build_second_county(root, env_a=env, port=port + 1, make_keys=_keys)
        federation_demo.print_cross_county(port=port, client=creds[0], root=root)
        if serve:  # stops with the demo, like the demo county's server
            cmd = [sys.executable, "-m", "gateway", "serve"]
            subprocess.Popen(cmd, env=env_b, preexec_fn=_die_with_parent)  # noqa: S603
    if not serve:
        typer.echo(f"demo loaded in {root}; serve it with: source {root / 'env.sh'} && gateway serve")
        return
    raise typer.Exit(
        serve_until_stopped(env, base=base, block=ready_block(base=base, root=root, creds=creds, staff=staff))
    )
