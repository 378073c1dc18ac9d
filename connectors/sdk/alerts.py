"""After every sync and push: raise the gateway's early-warning items over what was just written."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Connection

log = logging.getLogger(__name__)


def after_write(conn: Connection, *, now: dt.datetime, today: dt.date) -> None:
    """Evaluate the early-warning rules (policies/default/alerts.yaml); a failure is logged, not fatal."""
    # Imported here: the rules and their worklist are the gateway's; the SDK only says when to run them.
    from gateway.alerts.evaluate import raise_alerts

    try:
        raise_alerts(conn, now=now, today=today)
    except Exception:
        # The records are committed; items are keyed, so the next sync or push raises what this missed.
        log.exception("early-warning evaluation failed; it runs again after the next sync or push")
