"""Load and validate the federation document; every error names its file and line (like the policy)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml
from pydantic import ValidationError

from gateway.federation.models import FederationDocument
from policies.loader import Issue, line_of


class FederationInvalid(Exception):
    """The federation document failed validation; carries every issue found."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def load_federation(path: Path, *, purposes: Iterable[str] | None = None) -> FederationDocument:
    """Read and validate `path`; with `purposes`, also check each rule's purposes exist in our policy."""
    name = path.name
    try:
        raw = path.read_text(encoding="utf-8")
        node = yaml.compose(raw, Loader=yaml.SafeLoader)
        data = yaml.safe_load(raw)
    except OSError as exc:
        raise FederationInvalid([Issue(name, 1, (), f"cannot read: {exc.strerror or exc}")]) from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = (mark.line + 1) if mark else 1
        raise FederationInvalid([Issue(name, line, (), f"not valid YAML: {exc}")]) from exc
    try:
        doc = FederationDocument.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            issues.append(Issue(name, line_of(node, loc), loc, err["msg"]))
        raise FederationInvalid(issues) from exc
    issues = [Issue(name, line_of(node, loc), loc, message) for loc, message in doc.problems()]
    if purposes is not None:
        known = set(purposes)
        issues += [
            Issue(
                name,
                line_of(node, ("allow", i, "purposes", j)),
                ("allow", i, "purposes", j),
                f"unknown purpose {p}",
            )
            for i, rule in enumerate(doc.allow)
            for j, p in enumerate(rule.purposes)
            if p not in known
        ]
    if issues:
        raise FederationInvalid(issues)
    return doc
