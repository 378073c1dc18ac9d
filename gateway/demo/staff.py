"""The demo's staff accounts: a township official for the dashboard, an auditor for the console.

They are provisioned as an operator would, with `gateway clients create-staff` (audited); the
password and TOTP secret it prints once go to staff.json and env.sh (0600), and the READY block says
how to sign in: account, password, and `totp "$…_TOTP_SECRET"` for the current code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoStaff:
    """A demo staff account: its sign-in name, post, region, scope and the env.sh prefix of its factors."""

    account: str
    name: str
    department: str
    region: str
    scope: str
    env: str  # DASHBOARD -> DASHBOARD_USER, DASHBOARD_PASSWORD, DASHBOARD_TOTP_SECRET
    site: str  # the console it signs in to, e.g. /dashboard/


STAFF = (
    DemoStaff("qingshan-li", "李敏(青山镇人民政府)", "township", "511599100000", "statistics:read",
              "DASHBOARD", "/dashboard/"),
    DemoStaff("county-auditor", "王审(示范县审计局)", "audit", "511599000000", "audit:read",
              "AUDITOR", "/audit/"),
)  # fmt: skip


def provision(root: Path, *, env: dict[str, str]) -> list[dict[str, str]]:
    """Create the demo's staff accounts with the CLI; write their factors to staff.json (0600)."""
    out = []
    for s in STAFF:
        cmd = [sys.executable, "-m", "gateway", "clients", "create-staff", s.account, "--name", s.name,
               "--department", s.department, "--region", s.region, "--scope", s.scope, "--json"]  # fmt: skip
        done = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)  # noqa: S603
        view = json.loads(done.stdout)
        out.append(
            {
                "account": s.account,
                "name": s.name,
                "site": s.site,
                "env": s.env,
                "password": view["password"],
                "totp_secret": view["totp_secret"],
                "otpauth_uri": view["otpauth_uri"],
            }
        )
    fd = os.open(root / "staff.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(out, fh, ensure_ascii=False, indent=2)
    return out
