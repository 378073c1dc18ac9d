"""The console in the auditor's language: Chinese labels read from the code tables, the sharing catalogue,
the purposes and the client registry (so they stay in step with the policy)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from policies.engine import PolicyEngine
from schemas.codes import Department

DECISIONS = {"allow": "允许", "deny": "拒绝", "error": "错误"}
KINDS = {"access": "数据访问", "token": "令牌", "admin": "管理操作", "audit": "审计查询"}
# Client departments outside the code table of data-owning departments (schemas.codes.Department).
OTHER_DEPARTMENTS = {"township": "乡镇", "audit": "审计", "village_service": "村便民服务站"}
# Why a request was refused: the decision kinds of policies/decide.py and the gateway's problem types,
# matched on the reason text they write (one place each), most specific first.
REASONS: tuple[tuple[str, str], ...] = (
    (r"state a purpose in X-Purpose", "未说明用途(X-Purpose)"),
    (r"only acting for one resident", "须凭居民授权代办"),
    (r"^(no )?consent |X-Consent-Id", "居民授权不适用"),
    (r"^no grant for purpose", "该用途未获授权"),
    (r"^no grant gives client", "无访问授权"),
    (r"is not in the sharing catalogue", "资源不在共享目录"),
    (r"has no region for its grants", "客户端未设管辖区域"),
    (r"^console-login-refused$", "控制台登录被拒"),
    (r"^http-401$", "未认证或令牌无效"),
    (r"^http-403$", "权限范围不足"),
    (r"^http-404$", "记录不存在或不在管辖范围"),
    (r"^http-429$", "超出访问频率限制"),
)
_REASONS = [(re.compile(p), label) for p, label in REASONS]
# Reasons of allowed requests: the granting rules, and the steps routes record (consents, worklists).
STEPS = {
    "consent recorded": "记录居民授权",
    "consent read": "查看居民授权",
    "consent revoked": "撤回居民授权",
    "appeal recorded": "登记诉求",
    "appeal read": "查看诉求",
    "appeal answered": "答复诉求",
    "appeal closed": "办结诉求",
    "appeal forwarded to": "转办诉求至",
    "alert closed:": "办结预警:",
    "policy disabled": "未启用访问策略",
}
_RESIDENT_ID = re.compile(r"^R[0-9A-Z]{11}$")


def reason_label(reason: str | None) -> str:
    """Return the Chinese label of a reason (the text itself when no kind matches)."""
    if not reason:
        return "(未注明)"
    if reason.startswith("allowed by "):
        return "依授权 " + "、".join(reason.removeprefix("allowed by ").split(", "))
    for step, label in STEPS.items():
        if reason.startswith(step):
            return label + reason.removeprefix(step)
    for pattern, label in _REASONS:
        if pattern.search(reason):
            return label
    return reason


def is_resident(record_id: str, *, resource: str | None) -> bool:
    """Tell whether a disclosed record id names a resident (ingest keys and other records are not)."""
    return resource != "ingest" and bool(_RESIDENT_ID.match(record_id))


@dataclass(frozen=True, slots=True)
class Labels:
    """Code -> Chinese label tables for one page."""

    departments: Mapping[str, str]
    purposes: Mapping[str, str]
    fields: Mapping[str, str]
    clients: Mapping[str, str] = field(default_factory=dict)

    def department(self, code: str | None) -> str:
        """Return a department's label."""
        return self.departments.get(code or "", code or "")

    def purpose(self, code: str | None) -> str:
        """Return a purpose's name from purposes.yaml."""
        return self.purposes.get(code or "", code or "")

    def field(self, name: str) -> str:
        """Return a field's description from the sharing catalogue."""
        return self.fields.get(name, name)

    def client(self, client_id: str | None) -> str:
        """Return a client's registered name (its id when it has none of its own)."""
        return self.clients.get(client_id or "", client_id or "")


def build(engine: PolicyEngine, *, clients: Mapping[str, str] | None = None) -> Labels:
    """Build the label tables from the running policy and the client registry's names."""
    fields: dict[str, str] = {}
    for info in engine.docs.catalogue.resources.values():
        for name, spec in info.fields.items():
            if spec.description and name not in fields:
                # "标签 (低保、残疾等)" -> "标签": the short name reads better in a table cell.
                fields[name] = spec.description.split(" (")[0]
    return Labels(
        departments={**Department.labels(), **OTHER_DEPARTMENTS},
        purposes={p.id: p.name for p in engine.docs.purposes.purposes},
        fields=fields,
        clients=dict(clients or {}),
    )


def denial_rows(denials: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Group (reason, count) by the reason's label, most frequent first."""
    counts: Counter[str] = Counter()
    for reason, n in denials:
        counts[reason_label(reason)] += n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
