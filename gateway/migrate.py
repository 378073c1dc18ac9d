"""Schema migrations (Alembic), run by `gateway db upgrade` and checked by `gateway serve`."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def alembic_config(engine: Engine | None = None) -> Config:
    """Return an Alembic config pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("gateway") / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, *, revision: str = "head") -> None:
    """Migrate the store to `revision`."""
    command.upgrade(alembic_config(engine), revision)


def head_revisions() -> set[str]:
    """Return the revisions the code expects."""
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    """Return the revisions the store is at (empty for an unmigrated store)."""
    return set(MigrationContext.configure(connection).get_current_heads())


def schema_state(connection: Connection) -> str:
    """Return `current`, `behind`, `ahead` (a newer release migrated it) or `unmigrated`."""
    current = current_revisions(connection)
    if not current:
        return "unmigrated"
    heads = head_revisions()
    if current == heads:
        return "current"
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    # A revision this code does not know was written by a newer release during a rolling upgrade:
    # the expand/contract rule keeps the old code working on it, so it stays ready.
    return "ahead" if current - known else "behind"


def is_current(connection: Connection) -> bool:
    """Tell whether this code may serve the store: migrated to its head, or ahead of it."""
    return schema_state(connection) in ("current", "ahead")
