"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temp dir, a free port on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN_DIRS = [
    Path(p)
    for p in ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin")
]


def find_pg_bin() -> Path | None:
    """Return the directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    env = os.environ.get("GATEWAY_PG_BIN")
    for cand in ([Path(env)] if env else []) + PG_BIN_DIRS:
        if (cand / "initdb").exists() and (cand / "pg_ctl").exists():
            return cand
    return None


def memory_dir() -> Path | None:
    """Return a RAM-backed directory (Linux's /dev/shm) for a throwaway cluster, or None."""
    shm = Path("/dev/shm")  # a tmpfs; the cluster gets its own mkdtemp directory in it
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    """Start and stop a private PostgreSQL server; as root it runs as the `postgres` user.

    `base_dir` holds the cluster's files: the test suite puts them in RAM (`memory_dir()`), where creating a
    database per test and removing a few hundred of them at the end cost seconds, not minutes of disk I/O.
    """

    def __init__(self, bin_dir: Path, *, port: int | None = None, base_dir: Path | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="xz-pg-", dir=base_dir))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_root:
            # PostgreSQL refuses to run as root; the temp dir and log must be the postgres user's.
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PgCluster:
        """Create and start the cluster; return self."""
        if self._as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        return self.start_server()

    def start_server(self) -> PgCluster:
        """Start the server of an initialised cluster (again, after stop_server) and wait for its port."""
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=256MB"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "start"
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start; see {self.log}")

    def stop_server(self, *, mode: str = "fast") -> None:
        """Stop the server, keeping its files (a restart, a fail-over): every connection breaks."""
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        """Return a SQLAlchemy URL for a database of this cluster."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server and remove its files."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
