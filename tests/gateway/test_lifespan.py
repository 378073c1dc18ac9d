"""The lifespan is exception-safe: whatever started is closed, in reverse order, at shutdown and when a
later subsystem fails to start; routes and middleware read one typed runtime, not loose attributes."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import lifespan
from gateway.app import create_app
from gateway.runtime import Runtime
from tests.auth.helpers import auth_settings

STARTED_FIRST = ["tracing", "metrics", "prometheus", "engine", "read store"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _spy(closed: list[str], name: str, close: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a closer so the test sees it ran (sync or async, as the original)."""
    import inspect

    if inspect.iscoroutinefunction(close):

        async def aclose(*args: Any) -> Any:
            closed.append(name)
            return await close(*args)

        return aclose

    def sclose(*args: Any) -> Any:
        closed.append(name)
        return close(*args)

    return sclose


def _watch_first_subsystems(monkeypatch: pytest.MonkeyPatch, closed: list[str]) -> None:
    """Record when tracing, metrics, the Prometheus endpoint, the engine and the read store close."""

    def provider(build: Callable[..., Any], name: str) -> Callable[..., Any]:
        def make(*args: Any, **kwargs: Any) -> Any:
            built = build(*args, **kwargs)
            built.shutdown = _spy(closed, name, built.shutdown)
            return built

        return make

    monkeypatch.setattr(
        lifespan, "build_tracer_provider", provider(lifespan.build_tracer_provider, "tracing")
    )
    monkeypatch.setattr(lifespan, "build_meter_provider", provider(lifespan.build_meter_provider, "metrics"))
    monkeypatch.setattr(
        lifespan.PrometheusEndpoint, "stop", _spy(closed, "prometheus", lifespan.PrometheusEndpoint.stop)
    )
    real_engine, real_store = lifespan.make_async_engine, lifespan.open_read_store
    ours: list[Any] = []
    real_dispose = AsyncEngine.dispose

    async def dispose(self: AsyncEngine, close: bool = True) -> None:
        if self in ours:  # the lifespan's engine, not those auth and policy build for themselves
            closed.append("engine")
        await real_dispose(self, close)

    def engine(*args: Any, **kwargs: Any) -> Any:
        ours.append(real_engine(*args, **kwargs))
        return ours[-1]

    monkeypatch.setattr(AsyncEngine, "dispose", dispose)

    async def store(*args: Any, **kwargs: Any) -> Any:
        built = await real_store(*args, **kwargs)
        monkeypatch.setattr(built, "close", _spy(closed, "read store", built.close))
        return built

    monkeypatch.setattr(lifespan, "make_async_engine", engine)
    monkeypatch.setattr(lifespan, "open_read_store", store)


@pytest.fixture
def app_settings(tmp_path: Path, _sqlite_template: Path) -> Any:
    """Return settings of an app on a migrated SQLite store with its Prometheus endpoint on."""
    shutil.copyfile(_sqlite_template, tmp_path / "gateway.db")
    return auth_settings(f"sqlite:///{tmp_path / 'gateway.db'}", metrics_port=_free_port())


def test_a_failed_start_closes_the_subsystems_already_started(
    monkeypatch: pytest.MonkeyPatch, app_settings: Any
) -> None:
    """Auth, the fifth subsystem, fails to start: the four before it (and the endpoint) are closed."""
    closed: list[str] = []
    _watch_first_subsystems(monkeypatch, closed)

    async def broken_auth(*args: Any, **kwargs: Any) -> Any:
        assert _listening(app_settings.metrics_port)  # the endpoint was up when auth started
        raise RuntimeError("the key store is unreadable")

    monkeypatch.setattr(lifespan, "start_auth", broken_auth)
    threads = set(threading.enumerate())
    app = create_app(app_settings)
    with pytest.raises(RuntimeError, match="unreadable"), TestClient(app):
        pass
    assert closed == list(reversed(STARTED_FIRST))
    assert not _listening(app_settings.metrics_port)
    assert not [t for t in threading.enumerate() if t not in threads and t.is_alive()]
    assert not hasattr(app.state, "runtime")


def test_shutdown_closes_every_subsystem_in_reverse_order(
    monkeypatch: pytest.MonkeyPatch, app_settings: Any
) -> None:
    """A normal stop closes all ten, the last started first; while serving, one typed runtime."""
    closed: list[str] = []
    _watch_first_subsystems(monkeypatch, closed)
    for name in ("stop_auth", "stop_policy", "stop_audit", "stop_federation", "stop_ingest"):
        monkeypatch.setattr(lifespan, name, _spy(closed, name[5:], getattr(lifespan, name)))
    app = create_app(app_settings)
    with TestClient(app) as tc:
        assert tc.get("/readyz").status_code == 200
        assert isinstance(app.state.runtime, Runtime)
        # The app's state is its configuration, its runtime and the drain flag: nothing loose.
        assert set(vars(app.state)["_state"]) <= {"config", "runtime", "draining", "allow_table"}
        assert closed == []
    assert closed == ["ingest", "federation", "audit", "policy", "auth", *reversed(STARTED_FIRST)]
    assert not _listening(app_settings.metrics_port)
