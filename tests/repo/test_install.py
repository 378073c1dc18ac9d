"""`make install` prints no warning of our own (the build backend's included)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_uses_no_deprecated_form() -> None:
    """project.license is an SPDX string: the TOML-table form makes setuptools warn on every build."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project["license"], str) and project["license"] == "Apache-2.0"


def test_make_install_is_quiet() -> None:
    """pip runs with -q, and setuptools' informational notice about editable installs is filtered."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = [x.strip() for x in makefile.splitlines() if "pip install" in x]
    assert installs and all(" -q " in x for x in installs), installs
    (editable,) = [x for x in installs if " -e " in x]
    assert editable.startswith('PYTHONWARNINGS="ignore:Editable installation" ')
