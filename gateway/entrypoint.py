"""The container's entrypoint: make a lone `docker run` work, then exec the command unchanged.

    python -m gateway.entrypoint gateway serve --host 0.0.0.0

- No policy documents mounted at GATEWAY_POLICY_DIR (the image's empty volume): use the packaged
  default policy (policies/default), and say so on one line.
- The server or the worker on the embedded SQLite store: migrate it first (`gateway db upgrade`).
  PostgreSQL is never migrated here: its migration is one job before every replica (compose
  `migrate`, the Kubernetes Job), not a race between replicas.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from gateway.settings import Settings

MIGRATE_BEFORE = (("gateway", "serve"), ("gateway", "worker"))


def prepare(command: Sequence[str], *, environ: Mapping[str, str]) -> dict[str, str]:
    """Return the environment to exec `command` with, migrating the embedded store if it needs it."""
    env = dict(environ)
    policy = env.get("GATEWAY_POLICY_DIR")
    if policy and not any(Path(policy).glob("*.yaml")):
        print(
            f"entrypoint: no policy documents in {policy}: using the packaged default policy", file=sys.stderr
        )
        del env["GATEWAY_POLICY_DIR"]
    url = env.get("GATEWAY_DATABASE_URL") or str(Settings.model_fields["database_url"].default)
    if tuple(command[:2]) in MIGRATE_BEFORE and url.startswith("sqlite"):
        subprocess.run([sys.executable, "-m", "gateway", "db", "upgrade"], env=env, check=True)
    return env


def main(argv: Sequence[str] | None = None) -> None:
    """Prepare, then replace this process with the command (signals reach it directly)."""
    command = list(sys.argv[1:] if argv is None else argv) or ["gateway", "serve", "--host", "0.0.0.0"]  # noqa: S104
    try:
        env = prepare(command, environ=os.environ)
    except subprocess.CalledProcessError as exc:
        print(f"entrypoint: migrating the embedded store failed (exit {exc.returncode})", file=sys.stderr)
        raise SystemExit(1) from exc
    os.execvpe(command[0], command, env)  # noqa: S606


if __name__ == "__main__":
    main()
