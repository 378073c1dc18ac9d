"""Kustomize overlays: rendered offline by real Kustomize, checked against strict Kubernetes 1.31 schemas."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.conftest import REPO, skip_or_fail
from tests.deploy.kustomize import Renderer, find_renderer

K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod", "county-b")
K8S_VERSION = "1.31.0"  # kubernetes-validate ships this schema set (strict = no unknown fields)
NAMESPACES = {"dev": "xiangzhi-dev", "prod": "xiangzhi", "county-b": "xiangzhi-county-b"}
SOURCES = ("civil_affairs", "hr_api", "hr_migrant_register", "publicity")
EXTERNAL_SECRETS = {"xiangzhi-gateway-secrets", "xiangzhi-source-credentials", "xiangzhi-audit-key"}
WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")

Obj = dict[str, Any]


@pytest.fixture(scope="session")
def renderer() -> Renderer:
    """Return the Kustomize on this machine, or skip (fail under CI)."""
    found, why = find_renderer()
    if found is None:
        skip_or_fail(why)
    assert found is not None
    return found


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, renderer: Renderer) -> tuple[str, list[Obj]]:
    """Return (overlay name, its rendered objects)."""
    name: str = request.param
    return name, renderer.render(K8S / "overlays" / name)


def by_kind(objs: list[Obj], kind: str) -> list[Obj]:
    """Return the objects of one kind."""
    return [o for o in objs if o["kind"] == kind]


def one(objs: list[Obj], kind: str) -> Obj:
    """Return the single object of a kind."""
    found = by_kind(objs, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def component(objs: list[Obj], kind: str, name: str) -> Obj:
    """Return the single object of a kind whose pods are the named component."""
    found = [o for o in by_kind(objs, kind) if pod_labels(o).get("app.kubernetes.io/component") == name]
    assert len(found) == 1, f"expected one {kind} of component {name}, found {len(found)}"
    return found[0]


def api_deployment(objs: list[Obj]) -> Obj:
    """Return the API's Deployment (the webhook worker has its own)."""
    return component(objs, "Deployment", "api")


def pod_spec(obj: Obj) -> Obj:
    """Return the pod spec of a Deployment, Job or CronJob."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: Obj) -> dict[str, str]:
    """Return the pod template labels of a workload."""
    template = (
        obj["spec"]["jobTemplate"]["spec"]["template"]
        if obj["kind"] == "CronJob"
        else obj["spec"]["template"]
    )
    return template["metadata"]["labels"]


def workloads(objs: list[Obj]) -> Iterator[Obj]:
    """Yield every object that runs pods."""
    return (o for o in objs if o["kind"] in WORKLOAD_KINDS)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Tell whether matchLabels select a label set."""
    return all(labels.get(k) == v for k, v in selector.items())


def test_renderer_is_real_kustomize(renderer: Renderer) -> None:
    """Name the renderer in the report (a real Kustomize, not a re-implementation)."""
    assert "kustomize" in " ".join(renderer.argv), renderer


def test_every_object_validates_against_kubernetes_schemas(overlay: tuple[str, list[Obj]]) -> None:
    """Validate each rendered object with kubernetes-validate's strict 1.31 schemas (shipped, offline)."""
    name, objs = overlay
    assert objs, f"{name} rendered nothing"
    errors = []
    for obj in objs:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(exc.message)
    assert not errors, "\n".join(errors)


def test_strict_validation_catches_an_unknown_field(overlay: tuple[str, list[Obj]]) -> None:
    """Negative control: a misspelt container field must fail strict validation."""
    _, objs = overlay
    broken = copy.deepcopy(api_deployment(objs))
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kinds_and_namespace(overlay: tuple[str, list[Obj]]) -> None:
    """The overlay renders the whole set, every namespaced object in the overlay's namespace."""
    name, objs = overlay
    kinds = {o["kind"] for o in objs}
    assert {
        "Namespace", "ServiceAccount", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "ConfigMap", "CronJob", "Job", "NetworkPolicy",
    } <= kinds  # fmt: skip
    for obj in objs:
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == NAMESPACES[name]
            assert obj["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        else:
            assert obj["metadata"].get("namespace") == NAMESPACES[name], obj["metadata"]["name"]


def test_deployment_probes_and_rollout(overlay: tuple[str, list[Obj]]) -> None:
    """Readiness on /readyz, liveness on /healthz, port 8000, surge-only rollout, replicas left to the HPA."""
    _, objs = overlay
    dep = api_deployment(objs)
    assert "replicas" not in dep["spec"]
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    (container,) = pod_spec(dep)["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == 8000
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["args"][:4] == ["gateway", "serve", "--host", "0.0.0.0"]


def test_pods_are_locked_down(overlay: tuple[str, list[Obj]]) -> None:
    """Every pod: non-root, RuntimeDefault seccomp, read-only root, no capabilities, requests and limits."""
    _, objs = overlay
    for obj in workloads(objs):
        spec = pod_spec(obj)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] != 0, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert spec["automountServiceAccountToken"] is False, where
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            for key in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][key]), f"{where}: resources.{key}"
            assert not any("subPath" in m for m in c.get("volumeMounts", [])), (
                f"{where}: subPath stops updates"
            )


def test_images_come_from_the_county_registry(overlay: tuple[str, list[Obj]]) -> None:
    """Every container image is the overlay's registry image with an explicit, non-latest tag."""
    _, objs = overlay
    for obj in workloads(objs):
        for c in pod_spec(obj)["containers"]:
            image = c["image"]
            assert image.startswith("registry.county.internal/xiangzhi/gateway"), image
            assert "@sha256:" in image or (":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"))


def test_topology_spread(overlay: tuple[str, list[Obj]]) -> None:
    """API pods spread across nodes: hard in prod, soft in dev (a one-node cluster)."""
    name, objs = overlay
    dep = api_deployment(objs)
    (tsc,) = pod_spec(dep)["topologySpreadConstraints"]
    assert tsc["topologyKey"] == "kubernetes.io/hostname"
    assert tsc["whenUnsatisfiable"] == ("DoNotSchedule" if name == "prod" else "ScheduleAnyway")
    assert selects(tsc["labelSelector"]["matchLabels"], pod_labels(dep))


def test_service_hpa_pdb_point_at_the_deployment(overlay: tuple[str, list[Obj]]) -> None:
    """Service, HPA (autoscaling/v2) and PDB select or target the rendered Deployment."""
    _, objs = overlay
    dep = api_deployment(objs)
    labels = pod_labels(dep)
    assert selects(dep["spec"]["selector"]["matchLabels"], labels)
    assert selects(one(objs, "Service")["spec"]["selector"], labels)
    pdb = one(objs, "PodDisruptionBudget")
    assert selects(pdb["spec"]["selector"]["matchLabels"], labels)
    hpa = one(objs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": dep["metadata"]["name"],
    }
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def test_cronjob_per_source_and_migration_job(overlay: tuple[str, list[Obj]]) -> None:
    """A CronJob `gateway sync SOURCE` for each source, one at a time; a Job `gateway db upgrade`."""
    _, objs = overlay
    syncs = {}
    for cj in by_kind(objs, "CronJob"):
        if pod_labels(cj).get("app.kubernetes.io/component") != "sync":
            continue
        (c,) = pod_spec(cj)["containers"]
        assert c["args"][:2] == ["gateway", "sync"]
        syncs[c["args"][2]] = cj
        assert cj["spec"]["concurrencyPolicy"] == "Forbid"
    assert sorted(syncs) == sorted(SOURCES)
    (job,) = by_kind(objs, "Job")
    assert pod_spec(job)["containers"][0]["args"] == ["gateway", "db", "upgrade"]
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_policies_configmap_is_mounted_as_a_directory(overlay: tuple[str, list[Obj]]) -> None:
    """The policy ConfigMap keeps its name across edits and is mounted whole, at GATEWAY_POLICY_DIR."""
    _, objs = overlay
    dep = api_deployment(objs)
    spec = pod_spec(dep)
    (c,) = spec["containers"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    cm_name = volumes["policies"]["configMap"]["name"]
    assert cm_name.endswith("gateway-policies"), "no hash suffix: edits must reach the mounted volume"
    assert mounts["policies"]["mountPath"] == env["GATEWAY_POLICY_DIR"]
    assert cm_name in {o["metadata"]["name"] for o in by_kind(objs, "ConfigMap")}


def test_references_resolve(overlay: tuple[str, list[Obj]]) -> None:
    """Every ConfigMap, Secret, PVC and ServiceAccount a pod names is rendered (prod: external Secrets)."""
    name, objs = overlay
    have = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for obj in workloads(objs):
        spec = pod_spec(obj)
        wanted = [("ServiceAccount", spec["serviceAccountName"])]
        for v in spec.get("volumes", []):
            if "configMap" in v:
                wanted.append(("ConfigMap", v["configMap"]["name"]))
            if "secret" in v:
                wanted.append(("Secret", v["secret"]["secretName"]))
            if "persistentVolumeClaim" in v:
                wanted.append(("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]))
        for c in spec["containers"]:
            wanted += [("Secret", e["secretRef"]["name"]) for e in c.get("envFrom", []) if "secretRef" in e]
        for kind, ref in wanted:
            if name == "prod" and kind == "Secret":
                assert ref in EXTERNAL_SECRETS, f"{obj['metadata']['name']} -> Secret {ref}"
            else:
                assert (kind, ref) in have, f"{obj['metadata']['name']} -> {kind} {ref} is not rendered"


def test_secrets_only_as_placeholders_in_dev(overlay: tuple[str, list[Obj]]) -> None:
    """Dev ships example Secrets, every value an obvious placeholder; prod renders no Secret at all."""
    name, objs = overlay
    secrets = by_kind(objs, "Secret")
    if name == "prod":
        assert secrets == []
        return
    assert secrets
    for s in secrets:
        assert "data" not in s, "example secrets use stringData so that placeholders stay readable"
        for key, value in s["stringData"].items():
            assert "CHANGE-ME" in value, f"{s['metadata']['name']}.{key} is not an obvious placeholder"


def _rule_ports(rule: Obj) -> set[int]:
    return {p["port"] for p in rule.get("ports", [])}


INGRESS_PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
FEDERATION_PEER = {"namespaceSelector": {"matchLabels": {"xiangzhi.gov.cn/federation": "member"}}}


def test_network_policies(overlay: tuple[str, list[Obj]]) -> None:
    """API: in from ingress and federation members on 8000 (plus metrics); out to PostgreSQL, DNS, collector,
    and federation members only."""
    _, objs = overlay
    dep = api_deployment(objs)
    pols = {
        re.sub(r"^.*?gateway-", "gateway-", p["metadata"]["name"]): p for p in by_kind(objs, "NetworkPolicy")
    }
    deny = pols["gateway-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    api = pols["gateway-api"]["spec"]
    assert selects(api["podSelector"]["matchLabels"], pod_labels(dep))
    traffic = [r for r in api["ingress"] if 8000 in _rule_ports(r)]
    assert all(_rule_ports(r) == {8000} for r in traffic)
    # 8000 from the ingress controller, and from federation members' gateways (other counties, a hub).
    assert sorted((peer for r in traffic for peer in r["from"]), key=str) == [INGRESS_PEER, FEDERATION_PEER]
    assert set().union(*(_rule_ports(r) for r in api["ingress"])) == {8000, 9464}
    assert set().union(*(_rule_ports(r) for r in api["egress"])) == {5432, 53, 4318, 8000}
    members = [r for r in api["egress"] if 8000 in _rule_ports(r)]
    assert [peer for r in members for peer in r["to"]] == [FEDERATION_PEER], "8000 out only to members"
    assert not any("ipBlock" in peer for r in api["egress"] for peer in r["to"]), (
        "API pods never call sources"
    )
    sync = pols["gateway-sync"]["spec"]
    assert "ingress" not in sync
    assert any("ipBlock" in peer for r in sync["egress"] for peer in r["to"]), "sync reaches the departments"
    for cj in by_kind(objs, "CronJob"):
        if pod_labels(cj).get("app.kubernetes.io/component") == "sync":
            assert selects(sync["podSelector"]["matchLabels"], pod_labels(cj))
    (job,) = by_kind(objs, "Job")
    assert selects(pols["gateway-migrate"]["spec"]["podSelector"]["matchLabels"], pod_labels(job))


def test_policy_configmap_holds_loadable_documents(overlay: tuple[str, list[Obj]], tmp_path: Path) -> None:
    """The rendered policy ConfigMap, written out as the kubelet mounts it, loads with policies.loader."""
    loader = pytest.importorskip("policies.loader")
    _, objs = overlay
    (cm,) = [o for o in by_kind(objs, "ConfigMap") if o["metadata"]["name"].endswith("gateway-policies")]
    assert set(cm["data"]) == set(loader.FILES) | set(loader.OPTIONAL)  # the early-warning rules too
    for name, text in cm["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert loader.load_documents(tmp_path).alerts.rules


def test_webhook_worker(overlay: tuple[str, list[Obj]]) -> None:
    """`gateway worker` in its own Deployment: non-root, read-only root, store secrets and the audit key,
    the same allow-list ConfigMap as the API, and a NetworkPolicy with no ingress."""
    _, objs = overlay
    worker = component(objs, "Deployment", "webhook-worker")
    spec = pod_spec(worker)
    (container,) = spec["containers"]
    assert container["args"] == ["gateway", "worker"]
    assert spec["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
    api = pod_spec(api_deployment(objs))["containers"][0]
    assert container["envFrom"] == api["envFrom"]  # the same (possibly external) Secret
    allow = {e["name"]: e for e in container["env"]}["GATEWAY_WEBHOOK_ALLOWED_URLS"]
    assert allow == {e["name"]: e for e in api["env"]}["GATEWAY_WEBHOOK_ALLOWED_URLS"]
    ref = allow["valueFrom"]["configMapKeyRef"]["name"]
    assert any(o["kind"] == "ConfigMap" and o["metadata"]["name"] == ref for o in objs), ref
    audit = {v["name"]: v for v in spec["volumes"]}["audit-key"]["secret"]["secretName"]
    api_audit = {v["name"]: v for v in pod_spec(api_deployment(objs))["volumes"]}["audit-key"]
    assert audit == api_audit["secret"]["secretName"]
    (policy,) = [
        o
        for o in by_kind(objs, "NetworkPolicy")
        if selects(o["spec"]["podSelector"]["matchLabels"], pod_labels(worker))
        and "webhook-worker" in str(o["spec"]["podSelector"])
    ]
    assert "Ingress" in policy["spec"]["policyTypes"] and not policy["spec"].get("ingress")


def test_audit_archive_cronjob_and_witness_volume(overlay: tuple[str, list[Obj]]) -> None:
    """`gateway audit archive` monthly, one at a time, with the key, an archive volume and the witness the
    API pods write checkpoints to; its NetworkPolicy allows the store and DNS only."""
    _, objs = overlay
    (cj,) = [
        c for c in by_kind(objs, "CronJob") if pod_labels(c)["app.kubernetes.io/component"] == "audit-archive"
    ]
    assert cj["spec"]["concurrencyPolicy"] == "Forbid" and cj["spec"]["timeZone"] == "Asia/Shanghai"
    spec = pod_spec(cj)
    (c,) = spec["containers"]
    assert c["args"] == ["gateway", "audit", "archive"]
    env = {e["name"]: e.get("value") for e in c["env"]}
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in spec["volumes"]}
    assert claims[mounts[env["GATEWAY_AUDIT_ARCHIVE_DIR"]]].endswith("gateway-audit-archives")
    witness_claim = claims[mounts[env["GATEWAY_AUDIT_WITNESS_DIR"]]]
    assert env["GATEWAY_AUDIT_KEY_FILE"].startswith(next(p for p, n in mounts.items() if n == "audit-key"))
    api = pod_spec(api_deployment(objs))
    (api_c,) = api["containers"]
    api_env = {e["name"]: e.get("value") for e in api_c["env"]}
    api_mounts = {m["mountPath"]: m["name"] for m in api_c["volumeMounts"]}
    api_claims = {v["name"]: v.get("persistentVolumeClaim", {}).get("claimName") for v in api["volumes"]}
    assert api_claims[api_mounts[api_env["GATEWAY_AUDIT_WITNESS_DIR"]]] == witness_claim
    pvc = {p["metadata"]["name"]: p for p in by_kind(objs, "PersistentVolumeClaim")}
    assert pvc[witness_claim]["spec"]["accessModes"] == ["ReadWriteMany"]  # every replica appends
    pols = {
        re.sub(r"^.*?gateway-", "gateway-", p["metadata"]["name"]): p for p in by_kind(objs, "NetworkPolicy")
    }
    archive = pols["gateway-audit-archive"]["spec"]
    assert selects(archive["podSelector"]["matchLabels"], pod_labels(cj))
    assert set().union(*(_rule_ports(r) for r in archive["egress"])) == {5432, 53}
