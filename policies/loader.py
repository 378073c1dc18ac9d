"""Load and validate the policy YAML documents; every error names its file and line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from policies.alerts import AlertRules
from policies.models import Catalogue, Grants, Purposes, RateLimits

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
FILES: dict[str, type[BaseModel]] = {
    "catalogue.yaml": Catalogue,
    "grants.yaml": Grants,
    "purposes.yaml": Purposes,
    "rate_limits.yaml": RateLimits,
}
# Read when present: a policy directory without early-warning rules raises no alerts.
OPTIONAL: dict[str, type[BaseModel]] = {"alerts.yaml": AlertRules}
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a policy document, located by file, line and path."""

    file: str
    line: int
    loc: Loc
    message: str

    def __str__(self) -> str:
        """Render as `file:line: path: message` (the shape editors jump to)."""
        path = ".".join(str(p) for p in self.loc) or "(document)"
        return f"{self.file}:{self.line}: {path}: {self.message}"


class PolicyInvalid(Exception):
    """A policy directory failed validation; carries every issue found."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Documents:
    """The validated documents of one policy directory, with their nodes for later messages."""

    directory: Path
    version: str
    catalogue: Catalogue
    grants: Grants
    purposes: Purposes
    rate_limits: RateLimits
    nodes: dict[str, yaml.Node]
    alerts: AlertRules = field(default_factory=AlertRules)

    def issue(self, file: str, loc: Loc, message: str) -> Issue:
        """Make an issue located at `loc` of `file` (cross-document checks use it)."""
        return Issue(file, line_of(self.nodes.get(file), loc), loc, message)


def line_of(node: yaml.Node | None, loc: Loc) -> int:
    """Return the 1-based line of the deepest node along `loc` (a pydantic error location)."""
    if node is None:
        return 1
    best = node
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    nxt = value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break  # e.g. a missing key: the enclosing mapping is the place to look
        node = best = nxt
    return best.start_mark.line + 1


def _read(directory: Path, name: str, issues: list[Issue]) -> tuple[bytes, yaml.Node | None, Any]:
    path = directory / name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        issues.append(Issue(name, 1, (), f"cannot read: {exc.strerror or exc}"))
        return b"", None, None
    try:
        node = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
        data = yaml.safe_load(raw)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        issues.append(Issue(name, (mark.line + 1) if mark else 1, (), f"not valid YAML: {exc}"))
        return raw, None, None
    return raw, node, data


def load_documents(directory: Path | str = DEFAULT_DIR) -> Documents:
    """Read and validate the documents of `directory`, or raise PolicyInvalid with every issue."""
    directory = Path(directory)
    issues: list[Issue] = []
    digest = hashlib.sha256()
    nodes: dict[str, yaml.Node] = {}
    models: dict[str, BaseModel] = {}
    present = [name for name in OPTIONAL if (directory / name).is_file()]
    for name, model in [*FILES.items(), *((n, OPTIONAL[n]) for n in present)]:
        raw, node, data = _read(directory, name, issues)
        digest.update(name.encode() + b"\0" + raw + b"\0")
        if node is None:
            continue
        nodes[name] = node
        try:
            models[name] = model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
                issues.append(Issue(name, line_of(node, loc), loc, err["msg"]))
    if issues:
        raise PolicyInvalid(issues)
    return Documents(
        directory=directory,
        version=digest.hexdigest()[:12],
        catalogue=models["catalogue.yaml"],  # type: ignore[arg-type]
        grants=models["grants.yaml"],  # type: ignore[arg-type]
        purposes=models["purposes.yaml"],  # type: ignore[arg-type]
        rate_limits=models["rate_limits.yaml"],  # type: ignore[arg-type]
        nodes=nodes,
        alerts=models.get("alerts.yaml", AlertRules()),  # type: ignore[arg-type]
    )
