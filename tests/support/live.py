"""A real uvicorn server on 127.0.0.1 in a background thread, for tests that need real HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from tests.support.pgcluster import free_port


class LiveServer:
    """Serve an ASGI app on a free loopback port until stopped."""

    def __init__(self, app: FastAPI, *, port: int | None = None, **options: Any) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        """Start serving and wait until /healthz answers."""
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("live server did not start")

    def stop(self) -> None:
        """Stop serving and join the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen[Any], *, grace: float) -> None:
    """Stop a child process: SIGTERM, then SIGKILL if it has not exited after `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def demo_command(port: int) -> list[str]:
    """Return the command that serves the demo county as `make demo` does (400 residents, var/demo)."""
    return [
        sys.executable,
        "-m",
        "gateway.demo",
        "--residents",
        "400",
        "--root",
        "var/demo",
        "--port",
        str(port),
    ]
