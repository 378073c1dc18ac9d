"""The suite's root: loads the harness (tests/support) and keeps generated keys out of the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.env import IN_CI, REPO, skip_or_fail

__all__ = ["IN_CI", "REPO", "skip_or_fail"]  # imported by tests that predate tests/support/env.py

pytest_plugins = ["tests.support.plugin", "tests.support.stores", "tests.support.parallel"]

SAMPLES = REPO / "tests" / "fixtures" / "samples"
_VAR_BEFORE = pytest.StashKey[set[str]]()
_KEYS_DIR = "XZ_TEST_KEYS_DIR"  # the directory of the key files this suite's pytest_configure made


def _checkout_var() -> set[str]:
    # var/demo is left out: a `make demo` running beside the tests may write there meanwhile.
    var = REPO / "var"
    if not var.is_dir():
        return set()
    return {str(p.relative_to(REPO)) for p in var.rglob("*") if p.relative_to(var).parts[0] != "demo"}


def _drop_inherited_keys() -> None:
    # An xdist worker inherits the key files its controller's pytest_configure chose; each worker makes its
    # own, or two workers' first apps would race to create the same key-encryption key file.
    inherited = os.environ.pop(_KEYS_DIR, None)
    for var in ("GATEWAY_AUDIT_KEY_FILE", "GATEWAY_KEY_ENCRYPTION_KEY_FILE"):
        if inherited and os.environ.get(var, "").startswith(inherited + os.sep):
            del os.environ[var]


def pytest_configure(config: pytest.Config) -> None:
    """Keep the suite's generated keys out of the checkout; note what var/ holds before it runs."""
    import tempfile

    from tests.support.keys import write_audit_key

    # Apps built without an audit key would create ./var/audit-key.pem in the checkout.
    keys = Path(tempfile.mkdtemp(prefix="xiangzhi-test-keys-"))
    _drop_inherited_keys()
    os.environ[_KEYS_DIR] = str(keys)
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
