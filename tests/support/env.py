"""Where the suite runs: the checkout, whether under CI, and how a missing part is reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parents[2]


def skip_or_fail(reason: str) -> None:
    """Skip with a reason on a user's machine; under CI=true a missing part is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this may not skip)")
    pytest.skip(reason)
