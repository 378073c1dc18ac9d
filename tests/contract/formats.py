"""Hypothesis strategies for the OpenAPI document's own string formats; loaded by the fuzz runs.

`make fuzz` loads this module as Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.contract.formats); the
in-process suite imports it. Registering is idempotent.
"""

from __future__ import annotations

import datetime as dt

import schemathesis
from hypothesis import strategies as st
from stdnum.cn import ric


def _citizen_id(region: int, birth: dt.date, sequence: int) -> str:
    body = f"{region:06d}{birth:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


# GB 11643-1999: 6-digit region, birth date, 3-digit sequence, computed check character (0-9 or X).
CITIZEN_ID = st.builds(
    _citizen_id,
    st.integers(110000, 659999),
    st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)),
    st.integers(0, 999),
)

schemathesis.openapi.format("gb11643", CITIZEN_ID)


@schemathesis.hook
def map_headers(ctx: schemathesis.HookContext, headers: dict[str, object] | None) -> dict[str, object] | None:
    """Send every header as text: a value a stateful link carries over from a JSON body may be a number."""
    return {k: str(v) for k, v in headers.items()} if headers else headers
