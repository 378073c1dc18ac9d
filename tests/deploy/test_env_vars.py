"""Every GATEWAY_* name in deploy/ is a Settings field, or allow-listed and documented as another's."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.settings import Settings
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
ALLOW_LIST = DEPLOY / "env-vars.txt"
OPERATIONS = REPO / "docs" / "operations.md"
VAR = re.compile(r"\bGATEWAY_[A-Z0-9_]+\b")
TEXT_SUFFIXES = {"", ".yaml", ".yml", ".conf", ".md", ".txt", ".example", ".env"}


def deploy_files() -> list[Path]:
    """Return the text files of deploy/ (the allow-list itself and local wheels excluded)."""
    return [
        p
        for p in sorted(DEPLOY.rglob("*"))
        if p.is_file()
        and p != ALLOW_LIST
        and p.suffix in TEXT_SUFFIXES
        and "wheelhouse" not in p.relative_to(DEPLOY).parts
    ]


def referenced() -> dict[str, set[str]]:
    """Map each GATEWAY_* variable in deploy/ to the files that mention it."""
    found: dict[str, set[str]] = {}
    for path in deploy_files():
        for name in VAR.findall(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def settings_vars() -> set[str]:
    """Return the environment variable of each Settings field (read at test time: Settings grows)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def allow_listed() -> dict[str, str]:
    """Return the allow-list: variable -> owner."""
    out: dict[str, str] = {}
    for line in ALLOW_LIST.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, owner, *_ = line.split()
            out[name] = owner
    return out


def test_deploy_is_scanned() -> None:
    """The scan sees the Dockerfile, compose and the manifests (guards a broken file filter)."""
    names = {p.name for p in deploy_files()}
    assert {"Dockerfile", "compose.yaml", "deployment.yaml"} <= names


def test_every_variable_is_known() -> None:
    """A variable that is neither a Settings field nor allow-listed is a typo or an undocumented setting."""
    known = settings_vars() | set(allow_listed())
    unknown = {name: sorted(files) for name, files in referenced().items() if name not in known}
    assert not unknown, f"unknown GATEWAY_* variables (add to Settings or deploy/env-vars.txt): {unknown}"


def test_allow_listed_variables_are_documented_in_operations() -> None:
    """Each allow-listed variable is explained in docs/operations.md with its owner."""
    doc = OPERATIONS.read_text(encoding="utf-8")
    missing = [name for name in allow_listed() if name not in doc]
    assert not missing, f"document these in docs/operations.md: {missing}"


def test_allow_list_has_no_stale_entries() -> None:
    """An allow-listed variable is still used in deploy/ (a renamed one must not linger)."""
    used = set(referenced())
    stale = sorted(set(allow_listed()) - used)
    assert not stale, f"deploy/env-vars.txt lists variables deploy/ no longer uses: {stale}"
