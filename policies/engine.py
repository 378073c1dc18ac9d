"""The running policy: compiled documents plus grants from approvals, decisions cached, swapped atomically."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path

from policies.compile import CompiledGrant, CompiledPolicy, compile_documents, compile_grant
from policies.decide import decide
from policies.decision import Decision, Subject
from policies.loader import DEFAULT_DIR, Documents, load_documents
from policies.models import Grant
from schemas.time import today_cn

log = logging.getLogger(__name__)
_CACHE_MAX = 4096


def load_policy(directory: Path | str = DEFAULT_DIR) -> tuple[Documents, CompiledPolicy]:
    """Load, validate and compile a policy directory (raises PolicyInvalid)."""
    docs = load_documents(directory)
    return docs, compile_documents(docs)


class PolicyEngine:
    """Holds the running policy; a reload builds a new one fully before swapping the reference."""

    def __init__(self, docs: Documents, policy: CompiledPolicy) -> None:
        self.docs = docs
        self.policy = policy
        self.directory = docs.directory
        self._store: dict[str, list[CompiledGrant]] = {}
        self._store_source: list[Grant] = []
        self._cache: dict[tuple[Subject, str, str | None, dt.date, bool], Decision] = {}

    @classmethod
    def load(cls, directory: Path | str = DEFAULT_DIR) -> PolicyEngine:
        """Load a policy directory into a new engine (raises PolicyInvalid)."""
        return cls(*load_policy(directory))

    @property
    def version(self) -> str:
        """Return the content hash of the running documents."""
        return self.policy.version

    def reload(self, directory: Path | str | None = None) -> str:
        """Load the directory again; on any error raise PolicyInvalid and keep the running policy."""
        docs, policy = load_policy(directory or self.directory)
        store = self._compile_store(policy, self._store_source)
        # One assignment each, no await in between: a request sees the old policy or the new one.
        self.docs, self.policy, self.directory, self._store = docs, policy, docs.directory, store
        self._cache = {}
        return policy.version

    def set_store_grants(self, grants: Iterable[Grant]) -> None:
        """Replace the grants created by approvals (merged with the documents' grants at decision time)."""
        source = list(grants)
        store = self._compile_store(self.policy, source)
        self._store_source, self._store = source, store
        self._cache = {}

    @staticmethod
    def _compile_store(policy: CompiledPolicy, grants: list[Grant]) -> dict[str, list[CompiledGrant]]:
        out: dict[str, list[CompiledGrant]] = {}
        for g in grants:
            compiled, problems = compile_grant(g, policy.resources, policy.purposes, origin="approval")
            if compiled is None or compiled.client is None:
                # A catalogue change can orphan an approval; it then grants nothing until re-approved.
                log.warning("approval grant %s no longer compiles: %s", g.id, problems)
                continue
            out.setdefault(compiled.client, []).append(compiled)
        return out

    def decide(
        self,
        subject: Subject,
        resource: str,
        purpose: str | None,
        *,
        today: dt.date | None = None,
        assisted: bool = False,
    ) -> Decision:
        """Return the (cached) decision for a subject, resource and purpose on a day."""
        day = today or today_cn()
        key = (subject, resource, purpose, day, assisted)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_MAX:
                self._cache = {}
            found = self._cache[key] = decide(
                self.policy, subject, resource, purpose, today=day, extra=self._store, assisted=assisted
            )
        return found
