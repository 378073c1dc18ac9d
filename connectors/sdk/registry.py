"""Connector discovery: every installed package registers its connectors in the `gateway.connectors` group."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from connectors.sdk.base import Connector
from connectors.sdk.errors import ConfigError

GROUP = "gateway.connectors"
AnyConnector = Connector[Any]


def available() -> dict[str, type[AnyConnector]]:
    """Return every registered connector class by source name, in sync order."""
    found: dict[str, type[AnyConnector]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            raise ConfigError(f"entry point {ep.name} = {ep.value} is not a Connector class")
        if cls.name != ep.name:
            raise ConfigError(f"entry point {ep.name} loads a connector named {cls.name!r}")
        found[ep.name] = cls
    return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))


def sources_of(department: str | None) -> tuple[str, ...]:
    """Return the names of the sources a department owns (its data stewards' reach), in sync order."""
    return tuple(name for name, cls in available().items() if cls.department.value == department)


def resolve(names: list[str] | None, *, configured: list[str]) -> list[type[AnyConnector]]:
    """Return the connectors to sync: the named ones, or every configured one, in sync order."""
    known = available()
    wanted = names or [n for n in known if n in configured]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ConfigError(f"unknown source(s) {', '.join(unknown)}; installed: {', '.join(known)}")
    missing = [n for n in wanted if n not in configured]
    if missing:
        raise ConfigError(f"source(s) {', '.join(missing)} have no settings in the sources config")
    return [known[n] for n in known if n in wanted]
