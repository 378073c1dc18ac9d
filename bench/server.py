"""One row's server as a subprocess on a free 127.0.0.1 port: start, wait for /healthz, check, stop."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from bench.scenarios import Fixture, Request, Scenario, uvicorn_command

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(scenario: Scenario, *, fixture: Fixture) -> dict[str, str]:
    """Return the server environment: ours minus inherited GATEWAY_* settings, plus store URL and row env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    if fixture.database_url:
        env["GATEWAY_DATABASE_URL"] = fixture.database_url
    env.update(scenario.resolve_env(fixture))
    return env


class Server:
    """A row's server process; a context manager that always stops what it started."""

    def __init__(self, scenario: Scenario, *, fixture: Fixture, log_path: Path) -> None:
        self.scenario = scenario
        self.fixture = fixture
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """Return the server's process id."""
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        """Return the command line that starts this row's server."""
        if self.scenario.command is not None:
            return list(self.scenario.command(self.fixture, port=self.port))
        return uvicorn_command(self.scenario.app, port=self.port)

    def start(self, *, timeout: float = 60.0) -> Server:
        """Start the process and wait until GET /healthz answers 200."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=REPO,
                env=server_env(self.scenario, fixture=self.fixture),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.scenario.name}: server exited {self.proc.returncode}:\n{self._tail()}"
                )
            with contextlib.suppress(OSError):
                if self._get("/healthz")[0] == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.scenario.name}: no /healthz within {timeout:.0f} s:\n{self._tail()}")

    def check(self, requests: list[Request], *, headers: dict[str, str]) -> None:
        """Send the first few requests once and insist on the row's expected status (no silent 404 bench)."""
        for req in requests[:3]:
            status, body = self._get(
                req.path, method=req.method, headers={**headers, **req.headers}, body=req.body
            )
            if status != self.scenario.expect_status:
                raise RuntimeError(
                    f"{self.scenario.name}: {req.method} {req.path} answered {status}, expected "
                    f"{self.scenario.expect_status}: {body[:300]!r}"
                )

    def _get(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: str | None = None,
    ) -> tuple[int, bytes]:
        data = body.encode() if body is not None else None
        req = urllib.request.Request(self.base_url + path, method=method, headers=headers or {}, data=data)
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return int(resp.status), resp.read()
        except urllib.error.HTTPError as err:
            return int(err.code), err.read()

    def _tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
