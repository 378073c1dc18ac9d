"""The suite's pytest plugin (tests/conftest.py loads it): cheap password hashing for test clients.

Every API test registers clients; with production argon2 (m=19 MiB, t=2) each registration and each
token costs ~0.3 s on a 2-core box. The registry's hasher is replaced in this process only: hashes stay
argon2id (verification reads the parameters from the hash), production settings are untouched, and
servers the tests start as subprocesses hash as production does.
"""

from __future__ import annotations

import secrets

import pytest
from argon2 import PasswordHasher

# The shared `receiver` and `page_and_blocked` fixtures.
pytest_plugins = ["tests.support.webhooks", "tests.support.browser"]

# The smallest argon2id the library accepts: the suite tests who may sign in, not the hash's cost.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.hookimpl(trylast=True)  # after tests/conftest.py has set the environment the gateway reads
def pytest_configure(config: pytest.Config) -> None:
    """Swap the client registry's argon2 parameters for cheap ones in this test process."""
    from gateway.auth import clients

    clients._HASHER = TEST_HASHER
    clients._DUMMY_HASH = TEST_HASHER.hash(secrets.token_urlsafe(32))
