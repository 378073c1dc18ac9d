"""Schema state: serve refuses an unmigrated or behind store, accepts one a newer release migrated."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from gateway import migrate
from store.engines import make_sync_engine


def test_schema_states(tmp_path: Path) -> None:
    engine = make_sync_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.connect() as conn:
        assert migrate.schema_state(conn) == "unmigrated"
    migrate.upgrade(engine, revision="0001")
    heads = migrate.head_revisions()
    with engine.connect() as conn:
        assert migrate.schema_state(conn) == ("current" if heads == {"0001"} else "behind")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        assert migrate.schema_state(conn) == "current"
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    with engine.connect() as conn:
        assert migrate.schema_state(conn) == "ahead"
        assert migrate.is_current(conn)
    engine.dispose()


def test_upgrade_runs_on_postgresql(pg_url: str) -> None:
    engine = make_sync_engine(pg_url)
    with engine.connect() as conn:
        assert migrate.schema_state(conn) == "current"
    engine.dispose()
