"""What a benchmark row is (`Scenario`), what the store preparation hands it (`Fixture`), and the registry.

A row is one server process loaded by one request mix. To add rows, drop a module into `bench/rows/`
that calls `register(Scenario(...))` at import; every module there is imported by `load_rows()`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Protocol

GATEWAY_APP = "gateway.app:create_app"
HELLO_APP = "bench.hello_app:create_app"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixture:
    """A prepared store (or none, for store-less rows) and facts about its contents for building requests."""

    backend: str | None
    database_url: str | None
    residents: int
    resident_ids: tuple[str, ...] = ()
    village_codes: tuple[str, ...] = ()
    work_dir: Path = Path(".")
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Return the suffix a row gets on this backend ('' for the default SQLite and store-less rows)."""
        return "" if self.backend in (None, "sqlite") else f" [{self.backend}]"


@dataclass(frozen=True, slots=True)
class Request:
    """One request of a rotation; plain strings in a request list mean GET of that path."""

    path: str
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None


Headers = Mapping[str, str] | Callable[[Fixture], Mapping[str, str]]
# A target that may differ by backend: one value for all, or {"sqlite": 0.30, "postgresql": 0.25}.
PerBackend = float | Mapping[str, float]


def for_backend(value: PerBackend | None, backend: str | None) -> float | None:
    """Return a target's value on a backend (store-less rows count as SQLite), or None when it has none."""
    if value is None or isinstance(value, int | float):
        return value
    return value.get(backend or "sqlite")


@dataclass(frozen=True, slots=True)
class Scale:
    """A throughput target against another row of the same run: req/s ≥ `times` × row `of`'s req/s."""

    of: str
    times: PerBackend


class Command(Protocol):
    """Build a server command line for a row: `command(fixture, port=...)`."""

    def __call__(self, fixture: Fixture, *, port: int) -> Sequence[str]:
        """Return argv; the server must bind 127.0.0.1:port."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One row of the report: how to start the server and which requests wrk rotates through."""

    name: str
    title: str
    requests: Callable[[Fixture], Sequence[str | Request]]
    app: str = GATEWAY_APP
    command: Command | None = None
    env: Headers = field(default_factory=dict)
    headers: Headers = field(default_factory=dict)
    lua: Callable[[Fixture], str] | None = None
    needs_store: bool = True
    ceiling: bool = False
    connections: int = 32
    duration: float | None = None
    expect_status: int = 200
    order: int = 100
    target_ratio: float | None = None  # req/s ratio to the ceiling
    target_cpu_ratio: PerBackend | None = None  # CPU ratio to the ceiling (ceiling µs/req ÷ row µs/req)
    target_p99_ms: PerBackend | None = None  # p99 latency at the row's connections
    target_scale: Scale | None = None  # req/s against another row (e.g. two workers against one)
    notes: str = ""

    def resolve_env(self, fixture: Fixture) -> dict[str, str]:
        """Return the extra environment of this row's server."""
        return dict(self.env(fixture) if callable(self.env) else self.env)

    def resolve_headers(self, fixture: Fixture) -> dict[str, str]:
        """Return the headers every request of this row carries."""
        return dict(self.headers(fixture) if callable(self.headers) else self.headers)

    def resolve_requests(self, fixture: Fixture) -> list[Request]:
        """Return the rotation as Request objects."""
        out = [r if isinstance(r, Request) else Request(r) for r in self.requests(fixture)]
        if not out:
            raise ValueError(f"scenario {self.name!r} produced no requests")
        return out


SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    """Add a row to the registry; names are unique."""
    if scenario.name in SCENARIOS and SCENARIOS[scenario.name] is not scenario:
        raise ValueError(f"a bench scenario named {scenario.name!r} is already registered")
    SCENARIOS[scenario.name] = scenario
    return scenario


def load_rows() -> list[Scenario]:
    """Import every module of bench/rows (each registers its rows); return rows in report order."""
    from bench import rows

    for mod in sorted(pkgutil.iter_modules(rows.__path__), key=lambda m: m.name):
        importlib.import_module(f"bench.rows.{mod.name}")
    return sorted(SCENARIOS.values(), key=lambda s: (not s.ceiling, s.order, s.name))


def select(rows: Sequence[Scenario], *, only: Sequence[str]) -> list[Scenario]:
    """Keep the named rows (and always the ceiling, which every ratio needs)."""
    if not only:
        return list(rows)
    known = {s.name for s in rows}
    unknown = [n for n in only if n not in known]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return [s for s in rows if s.ceiling or s.name in only]


def uvicorn_command(app: str, *, port: int) -> list[str]:
    """Return the one server command every uvicorn row shares: one worker, fastest loop/parser, no logs."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    cmd += ["--no-proxy-headers", "--no-server-header", "--lifespan", "on"]
    cmd += ["--loop", "uvloop" if find_spec("uvloop") else "asyncio"]
    cmd += ["--http", "httptools" if find_spec("httptools") else "h11"]
    return cmd


def gateway_serve_command(fixture: Fixture, *, port: int) -> list[str]:
    """Return `gateway serve` on a port (for rows that must go through the real CLI and its checks)."""
    gateway = Path(sys.executable).with_name("gateway")
    return [str(gateway), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]


def server_settings() -> str:
    """Describe the shared server settings for the report."""

    loop = "uvloop" if find_spec("uvloop") else "asyncio"
    http = "httptools" if find_spec("httptools") else "h11"
    return f"uvicorn --factory, 1 worker, --loop {loop}, --http {http}, access log off, log level warning"
