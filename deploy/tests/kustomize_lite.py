"""A small kustomize renderer for the subset of kustomize that ``deploy/k8s`` uses.

No kustomize binary ships on PyPI, and the suite must run offline, so this renders the overlays
the way ``kubectl kustomize`` does for these fields: ``resources`` (files and directories),
``namespace``, ``labels`` (metadata only, ``includeSelectors: false``), ``images``, ``replicas``
and strategic-merge ``patches`` (maps merge, lists of named items merge by name, other lists
are replaced). Any other field is refused, so that a manifest never silently relies on a
feature this renderer ignores.
"""

import copy
from pathlib import Path
from typing import Any

import yaml

__all__ = ["render"]

Resource = dict[str, Any]
SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
CLUSTER_SCOPED_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}


def render(directory: Path) -> list[Resource]:
    """Every resource the kustomization in ``directory`` produces, transformed."""
    kustomization: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise ValueError(f"{directory}: unsupported kustomization fields {sorted(unsupported)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        resources += render(path) if path.is_dir() else _load_all(path)
    for patch in kustomization.get("patches", []):
        for document in _load_all(directory / patch["path"]):
            _apply_patch(resources, document)
    for resource in resources:
        _set_namespace(resource, kustomization.get("namespace"))
        for label_set in kustomization.get("labels", []):
            _add_labels(resource, label_set)
        for image in kustomization.get("images", []):
            _set_image(resource, image)
        for replicas in kustomization.get("replicas", []):
            _set_replicas(resource, replicas)
    return resources


def _load_all(path: Path) -> list[Resource]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def _apply_patch(resources: list[Resource], patch: Resource) -> None:
    name = patch["metadata"]["name"]
    matches = [r for r in resources if r["kind"] == patch["kind"] and r["metadata"]["name"] == name]
    if len(matches) != 1:
        raise ValueError(f"patch target {patch['kind']}/{name} found {len(matches)} times")
    merged = _merge(matches[0], patch)
    matches[0].clear()
    matches[0].update(merged)


def _merge(base: Any, patch: Any) -> Any:
    """Strategic merge for maps and for lists whose items all have a ``name``."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and _named(base) and _named(patch):
        by_name = {item["name"]: item for item in base}
        result = [_merge(by_name[i["name"]], i) if i["name"] in by_name else i for i in patch]
        patched = {item["name"] for item in patch}
        return [item for item in base if item["name"] not in patched] + result
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return all(isinstance(item, dict) and "name" in item for item in items)


def _set_namespace(resource: Resource, namespace: str | None) -> None:
    if namespace is None:
        return
    if resource["kind"] == "Namespace":
        resource["metadata"]["name"] = namespace
    elif resource["kind"] not in CLUSTER_SCOPED_KINDS:
        resource["metadata"]["namespace"] = namespace


def _add_labels(resource: Resource, label_set: dict[str, Any]) -> None:
    if label_set.get("includeSelectors", False) or label_set.get("includeTemplates", False):
        raise ValueError("only metadata labels (includeSelectors: false) are supported")
    resource["metadata"].setdefault("labels", {}).update(label_set["pairs"])


def _containers(resource: Resource) -> list[dict[str, Any]]:
    if resource["kind"] not in POD_TEMPLATE_KINDS:
        return []
    pod = resource["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _set_image(resource: Resource, image: dict[str, str]) -> None:
    for container in _containers(resource):
        name, _, _tag = container["image"].partition(":")
        if name != image["name"]:
            continue
        new_name = image.get("newName", name)
        container["image"] = (
            f"{new_name}@{image['digest']}"
            if "digest" in image
            else f"{new_name}:{image.get('newTag', _tag or 'latest')}"
        )


def _set_replicas(resource: Resource, replicas: dict[str, Any]) -> None:
    if resource["kind"] == "Deployment" and resource["metadata"]["name"] == replicas["name"]:
        resource["spec"]["replicas"] = replicas["count"]
