"""The demo's `env.sh` (everything a shell needs to talk to the demo) and the block that ends `make demo`."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Sequence
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
CONSOLES = {"/dashboard/": "village dashboard", "/audit/": "auditor console"}
TOTP_NOW = "import sys, pyotp; print(pyotp.TOTP(sys.argv[1]).now())"  # env.sh's `totp SECRET`


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
    staff: Sequence[dict[str, str]] = (),
) -> None:
    """Write env.sh (0600): the demo's settings, every demo client's id and secret, the staff accounts'
    factors and a `totp` command, residents that exist."""
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
    lines += [
        "# Staff accounts of the dashboard and the auditor console (password + TOTP, RFC 6238).",
        '# `totp "$DASHBOARD_TOTP_SECRET"` prints the current 6-digit code, as an authenticator app would.',
        f'totp() {{ {q(sys.executable)} -c {q(TOTP_NOW)} "$1"; }}',
    ]
    for s in staff:
        lines.append(
            f"export {s['env']}_USER={q(s['account'])} {s['env']}_PASSWORD={q(s['password'])} "
            f"{s['env']}_TOTP_SECRET={q(s['totp_secret'])}  # {s['name']}, {s['site']}"
        )
    lines.append("# Residents that exist in this demo (RESIDENT_ID and NATIONAL_ID are one person).")
    lines.append("export " + " ".join(f"{k}={q(v)}" for k, v in samples.items()))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _sign_in_lines(base: str, env_sh: Path, staff: Sequence[dict[str, str]]) -> str:
    """Return how to sign in to each console: account, password, and the command printing the code."""
    out = []
    for s in staff:
        out.append(
            f"{CONSOLES.get(s['site'], s['site']):18} {base}{s['site']}\n"
            f"  account {s['account']}   password {s['password']}\n"
            f'  code    source {env_sh} && totp "${s["env"]}_TOTP_SECRET"\n'
            f"          (or add to an authenticator app: {s['otpauth_uri']})"
        )
    return "\n".join(out)


def ready_block(
    *,
    base: str,
    root: Path,
    creds: list[dict[str, str]],
    staff: Sequence[dict[str, str]] = (),
) -> str:
    """Return the block that ends `make demo`: where, ready, how to stop, how to sign in, what next."""
    env_sh = root / "env.sh"
    ids = ", ".join(c["client_id"] for c in creds)
    consoles = _sign_in_lines(base, env_sh, staff) or (
        f"auditor console    {base}/audit/\nvillage dashboard  {base}/dashboard/"
    )
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
Sign in to the consoles as staff: account, password and the 6-digit code (TOTP) of the moment.
{consoles}
Webhooks: targets under {receiver_url()} are allowed; run a receiver with
  python -m gateway.demo.receiver    and deliver with    gateway worker
{bar}
"""
