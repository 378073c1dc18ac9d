"""The demo's `env.sh` (everything a shell needs to talk to the demo) and the block that ends `make demo`."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

# Operator settings a shell needs so that `gateway worker`, `gateway audit …` and the other commands act
# on the demo's store with the demo's keys; the HR key is left out (the fake HR API stops after the sync).
OPERATOR_SETTINGS = (
    "GATEWAY_DATABASE_URL",
    "GATEWAY_AUDIT_KEY_FILE",
    "GATEWAY_SOURCES_CONFIG",
    "GATEWAY_PUBLIC_URL",
    "GATEWAY_PORT",
    "GATEWAY_WEBHOOK_ALLOWED_URLS",
    "GATEWAY_POLICY_DIR",
    "GATEWAY_TOKEN_TTL_SECONDS",
)
RECEIVER_PORT = 8765


def receiver_url(port: int = RECEIVER_PORT) -> str:
    """Return the prefix the demo allows webhook targets on (python -m gateway.demo.receiver)."""
    return f"http://127.0.0.1:{port}/hooks/"


def write_env(
    path: Path,
    *,
    env: dict[str, str],
    kek_file: Path,
    creds: list[dict[str, str]],
    samples: dict[str, str],
) -> None:
    """Write env.sh (0600): the demo's settings, every demo client's id and secret, residents that exist."""
    q = shlex.quote
    lines = [
        "# Written by `make demo`. In a shell: source var/demo/env.sh",
        "# The demo's operator settings: `gateway` commands (worker, clients, audit, ...) act on its store.",
        f'export PATH={q(str(Path(sys.executable).parent))}:"$PATH"',
        f'export GATEWAY_KEY_ENCRYPTION_KEY="$(cat {q(str(kek_file.resolve()))})"',
    ]
    lines += [f"export {k}={q(env[k])}" for k in OPERATOR_SETTINGS if env.get(k)]
    lines.append(
        "# `gateway sync` re-reads the demo's files: gateway sync gazetteer civil_affairs hr_migrant_register"
        " publicity (its fake HR API ran only while make demo loaded the county)."
    )
    lines += [
        "# The API, as a department system sees it.",
        f"export GATEWAY_URL={q(env['GATEWAY_PUBLIC_URL'])}",
        "# The demo clients: *_ID, *_SECRET, *_PURPOSE (CLIENT_* is civil affairs, the guides' client).",
    ]
    for c in creds:
        prefix = c["env"]
        lines.append(
            f"export {prefix}_ID={q(c['client_id'])} {prefix}_SECRET={q(c['client_secret'])} "
            f"{prefix}_PURPOSE={q(c['purpose'])}  # {c['name']}"
        )
    lines.append(f"export PURPOSE={q(creds[0]['purpose'])}")
    lines.append("# Residents that exist in this demo (RESIDENT_ID and NATIONAL_ID are one person).")
    lines.append("export " + " ".join(f"{k}={q(v)}" for k, v in samples.items()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def ready_block(*, base: str, root: Path, creds: list[dict[str, str]]) -> str:
    """Return the block that ends `make demo`: where, ready, how to stop, what to do next."""
    env_sh = root / "env.sh"
    ids = ", ".join(c["client_id"] for c in creds)
    bar = "=" * 78
    return f"""
{bar}
Xiangzhi demo is READY and serving on {base}   (Ctrl-C to stop)

In another terminal, from this directory:
  source {env_sh}
      sets GATEWAY_URL, every demo client's id and secret (*_ID, *_SECRET):
        {ids}
      RESIDENT_ID and NATIONAL_ID of a resident in this demo, and the settings
      `gateway` commands (worker, audit, clients, ...) need for this demo's store.
  then paste the README's "A short tour", or follow docs/integrating.md.

API docs (offline) {base}/docs
auditor console    {base}/audit/
village dashboard  {base}/dashboard/
Webhooks: targets under {receiver_url()} are allowed; run a receiver with
  python -m gateway.demo.receiver    and deliver with    gateway worker
{bar}
"""
