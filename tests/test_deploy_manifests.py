"""The Kubernetes manifests in docs/deploy/: valid against Kubernetes' own schemas, and
consistent with Touchpoint (its settings, its health route, its shutdown) and each other.

`kubernetes-validate` ships the schemas of every Kubernetes release; the check runs with
every socket refused, so it never depends on a network.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from adapters.slack.app import DRAIN_TIMEOUT
from touchpoint.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = sorted((ROOT / "docs" / "deploy").glob("*.yaml"))
KUBERNETES = "1.30"
"""The oldest release still maintained by the major managed offerings when this was written;
every field used here exists from it on."""


def documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in MANIFESTS:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((f"{path.name}:{document['kind']}/{document['metadata']['name']}",
                              document))
    return found


def one(kind: str, name: str) -> dict[str, Any]:
    matches = [d for _, d in documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}"
    return matches[0]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket fails the test."""
    def refuse(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("the manifest check tried to reach the network")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_manifests_are_there() -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in documents()}
    assert {("Deployment", "touchpoint"), ("Service", "touchpoint"),
            ("PodDisruptionBudget", "touchpoint"), ("StatefulSet", "redis"),
            ("Service", "redis"), ("ConfigMap", "redis"),
            ("PodDisruptionBudget", "redis")} <= kinds


@pytest.mark.parametrize(("where", "document"), documents(), ids=[w for w, _ in documents()])
def test_each_document_is_valid_kubernetes(where: str, document: dict[str, Any],
                                           offline: None) -> None:
    """Strict: a misspelt or misplaced field is an error, not silently ignored."""
    try:
        kubernetes_validate.validate(document, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        pytest.fail(f"{where}: {path}: {exc.message}")


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (found,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(found)


def test_the_deployment_is_ready_on_healthz_and_drains_within_its_grace() -> None:
    deployment = one("Deployment", "touchpoint")
    spec = deployment["spec"]["template"]["spec"]
    app = container(deployment)
    port = {p["name"]: p["containerPort"] for p in app["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert app[probe]["httpGet"]["path"] == "/healthz", probe
        assert app[probe]["httpGet"]["port"] in port, probe
    assert port["http"] == int(Settings.from_env({}).port)
    pause = app["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    assert int(pause[1]) + DRAIN_TIMEOUT + 10 <= spec["terminationGracePeriodSeconds"], \
        "the pause, the drain of answers being posted, and time to close must fit the grace"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"--uid {spec['securityContext']['runAsUser']} " in dockerfile


@pytest.mark.parametrize("name", ["touchpoint", "redis"])
def test_each_disruption_budget_covers_its_pods_and_leaves_most_running(name: str) -> None:
    budget = one("PodDisruptionBudget", name)
    kind = "Deployment" if name == "touchpoint" else "StatefulSet"
    workload = one(kind, name)
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["maxUnavailable"] == 1 < workload["spec"]["replicas"] - 1


def test_the_settings_are_touchpoints_own_and_find_the_sentinels() -> None:
    """The manifest's environment, with the Secret's values made up, starts Touchpoint."""
    app = container(one("Deployment", "touchpoint"))
    env = {e["name"]: e["value"] for e in app["env"]}
    secret = {"SLACK_BOT_TOKEN": "xoxb-1-2-made-up", "SLACK_SIGNING_SECRET": "s" * 32,
              "REDIS_URL": "redis://:made-up@redis/0", "TOUCHPOINT_ADMIN_TOKEN": "a" * 32}
    settings = Settings.from_env({**env, **secret})
    assert settings.uses_redis and settings.redis_sentinels
    redis = one("StatefulSet", "redis")
    service = one("Service", "redis")
    assert service["spec"]["clusterIP"] == "None"
    assert redis["spec"]["serviceName"] == service["metadata"]["name"]
    sentinel_port = next(p["port"] for p in service["spec"]["ports"] if p["name"] == "sentinel")
    pods = {f"redis-{n}.{service['metadata']['name']}" for n in range(redis["spec"]["replicas"])}
    assert {host for host, _ in settings.redis_sentinels} == pods
    assert {port for _, port in settings.redis_sentinels} == {sentinel_port}
    scripts = one("ConfigMap", "redis")["data"]
    monitored = re.findall(r"sentinel monitor (\S+) ", scripts["start-sentinel.sh"])
    assert monitored == [settings.redis_sentinel_service]
