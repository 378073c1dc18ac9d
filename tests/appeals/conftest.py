"""Fixtures of the requests (诉求) tests: the assisted-access world, with HR and a second township's 民政."""

from __future__ import annotations

import pytest

from tests.support.assisted import CLIENTS
from tests.support.assisted import world as world

APPEAL_SCOPES = ["appeals:read", "appeals:write"]


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    """Requests are backend-neutral: SQLite only."""
    return sqlite_url


@pytest.fixture(autouse=True)
def _clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give the world's clients the request scopes; add HR and 石门乡's civil affairs."""
    clients = {
        cid: (dept, region, [*scopes, *APPEAL_SCOPES]) for cid, (dept, region, scopes) in CLIENTS.items()
    }
    clients["auditor"] = ("audit", "511599000000", ["disclosures:read"])  # reads a disclosure report
    clients["hr"] = ("hr", "511599000000", ["residents:read", *APPEAL_SCOPES])
    clients["shimen-civil"] = ("civil_affairs", "511599200000", ["residents:read", *APPEAL_SCOPES])
    monkeypatch.setattr("tests.support.assisted.CLIENTS", clients)
