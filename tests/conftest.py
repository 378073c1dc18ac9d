"""The suite's root: loads the harness (tests/support) and keeps generated keys out of the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.env import IN_CI, REPO, skip_or_fail

__all__ = ["IN_CI", "REPO", "skip_or_fail"]  # imported by tests that predate tests/support/env.py

pytest_plugins = ["tests.support.plugin", "tests.support.stores"]

SAMPLES = REPO / "tests" / "fixtures" / "samples"
_VAR_BEFORE = pytest.StashKey[set[str]]()


def _checkout_var() -> set[str]:
    # var/demo is left out: a `make demo` running beside the tests may write there meanwhile.
    var = REPO / "var"
    if not var.is_dir():
        return set()
    return {str(p.relative_to(REPO)) for p in var.rglob("*") if p.relative_to(var).parts[0] != "demo"}


def pytest_configure(config: pytest.Config) -> None:
    """Keep the suite's generated keys out of the checkout; note what var/ holds before it runs."""
    import tempfile

    from tests.support.keys import write_audit_key

    # Apps built without an audit key would create ./var/audit-key.pem in the checkout.
    keys = Path(tempfile.mkdtemp(prefix="xiangzhi-test-keys-"))
    if "GATEWAY_AUDIT_KEY_FILE" not in os.environ:
        os.environ["GATEWAY_AUDIT_KEY_FILE"] = str(write_audit_key(keys / "audit-key.pem"))
    os.environ.setdefault("GATEWAY_KEY_ENCRYPTION_KEY_FILE", str(keys / "key-encryption.key"))
    config.stash[_VAR_BEFORE] = _checkout_var()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the tests wrote into the checkout's var/ (a newcomer's tree stays clean)."""
    new = _checkout_var() - session.config.stash.get(_VAR_BEFORE, set())
    if new:
        print(f"\nthe tests wrote into the checkout: {sorted(new)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def samples() -> Path:
    """Return the department samples kept in the repository (tests/fixtures/samples, docs/sources.md)."""
    return SAMPLES
