"""The suite over several processes (`make test` runs pytest-xdist): the slowest modules start first.

`make test` runs `pytest -n auto --dist loadfile --no-loadscope-reorder`: a module's tests stay on one
worker (its module fixtures, a live demo or a started app, are built once), and workers take modules in
collection order as they free up. This plugin puts the slowest modules at the head of that order (longest
first), so none of them starts last and leaves the other workers idle at the end. A run without xdist
keeps pytest's order.
"""

from __future__ import annotations

import pytest

# The slowest modules, longest first (their tests and module fixtures, seconds on a quiet 2-core box).
# A stale entry only costs balance; a module not listed runs after these, in collection order.
SLOWEST_FIRST = (
    "tests/contract/test_fuzz.py",
    "tests/connectors/test_reconcile_property.py",
    "tests/contract/test_guide.py",
    "tests/bench/test_bench_smoke.py",
    "tests/audit/test_processes.py",
    "tests/deploy/test_scale.py",
    "tests/changes/test_webhooks.py",
    "tests/disclosure/test_crawl.py",
    "tests/gateway/test_residents.py",
    "tests/connectors/test_reconcile.py",
    "tests/connectors/demo/test_county.py",
    "tests/gateway/test_demo.py",
    "tests/connectors/test_hr_api.py",
    "tests/connectors/test_contract.py",
    "tests/connectors/demo/test_fake_hr.py",
    "tests/audit/test_api.py",
    "tests/auth/test_attacks.py",
)


@pytest.hookimpl(trylast=True)  # after pytest has ordered each module's items for its fixtures
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker, move the slowest modules to the head, each module's items kept together."""
    if not hasattr(config, "workerinput"):
        return
    rank = {module: i for i, module in enumerate(SLOWEST_FIRST)}
    # A stable sort on the module alone: every module stays contiguous, in the order pytest gave it.
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
