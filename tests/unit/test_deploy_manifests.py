"""The deployment files agree with the code: compose.yaml, ops/Dockerfile and ops/k8s use
pinned images, only environment variables the settings know, probes on routes the app
serves and real `fiscaflow` commands; stateful singletons stay single."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from api.app import create_app
from ops.cli import app as cli_app
from ops.settings import SETTINGS, Settings
from projections.registry import PROJECTIONS
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "ops" / "Dockerfile"
K8S = ROOT / "ops" / "k8s"

# The standard OpenTelemetry variables our processes may get besides our settings: those
# ops/telemetry.py honours (the SDK and its OTLP/HTTP exporters read them).
OTEL_VARIABLES = frozenset(
    {
        "OTEL_SDK_DISABLED",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
        "OTEL_METRIC_EXPORT_INTERVAL",
    }
)
KNOWN_VARIABLES = frozenset(s.name for s in SETTINGS) | OTEL_VARIABLES
SECRET_NAME = re.compile(r"PASSWORD|SECRET|ACCESS_KEY|SIGNING_KEY|_PASS$|^DATABASE_URL$")
STACK = {"postgres", "redis", "rabbitmq", "elasticsearch", "minio", "otel-collector", "jaeger"}
APPS = {"api", "projectors", "relay"}
# Compose services whose health check is switched off on purpose, and why.
NO_HEALTHCHECK = {
    "projectors": "no HTTP server in the process: the image's /health check cannot answer",
    "relay": "no HTTP server in the process: the image's /health check cannot answer",
    "otel-collector": "an image without a shell or HTTP client: nothing inside to probe with",
}


def load_all(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(K8S.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in load_all(path)
    ]


@pytest.fixture(scope="module")
def served_paths() -> set[str]:
    settings = Settings(jwt_secret="unit-test-secret-0123456789-abcdefghijklmnop")
    app = create_app(settings, conninfo="postgresql://unused@127.0.0.1:1/unused")  # not started
    return {route.path for route in app.routes}


def deployments(manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in manifests if doc["kind"] == "Deployment"]


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run our image (built from ops/Dockerfile)."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


def assert_pinned(image: str) -> None:
    tag = image.split("@", maxsplit=1)[0].rsplit("/", 1)[-1].partition(":")[2]
    assert tag and tag != "latest", f"{image} is not pinned to a tag"
    assert re.search(r"\d+\.\d+|RELEASE\.\d{4}-", tag), f"{image}: pin a version, not {tag!r}"


def fiscaflow_command(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse a container's command as the `fiscaflow` CLI does; its command path and params."""
    assert args[0] == "fiscaflow", f"{args} does not run fiscaflow"
    command: Any = typer.main.get_command(cli_app)  # typer's own click: duck-typed
    words, rest = [], list(args[1:])
    while hasattr(command, "commands"):
        assert rest, f"{args} names no command"
        word = rest.pop(0)
        found = command.commands.get(word)
        assert found is not None, f"{args}: `{word}` is not a fiscaflow command"
        command, words = found, [*words, word]
    ctx = command.make_context(" ".join(["fiscaflow", *words]), rest)  # raises on bad options
    path = " ".join(words)
    if path == "project":
        assert ctx.params["action"] == "run", args
        unknown = set(ctx.params["names"] or ()) - set(PROJECTIONS)
        assert not unknown, f"{args}: unknown projections {unknown}"
    return path, ctx.params


def projections_of(args: list[str]) -> list[str]:
    return list(fiscaflow_command(args)[1]["names"] or PROJECTIONS)


def assert_known(names: Iterator[str] | set[str], where: str) -> None:
    unknown = set(names) - KNOWN_VARIABLES
    assert not unknown, f"{where}: {sorted(unknown)} are neither settings (ops/settings.py) nor OTEL_*"


def probe_path(url_or_path: str) -> str:
    return urlsplit(url_or_path).path


# ---- compose.yaml


def compose_command() -> list[str]:
    """Docker's compose plugin, else the standalone docker-compose (Debian's package, which
    .ci/run installs): `config` validates the file and needs no Docker engine."""
    if shutil.which("docker") is not None:
        version = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if version.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose") is None:
        service_missing("neither `docker compose` nor `docker-compose` is installed to validate compose.yaml")
    return ["docker-compose"]


def test_compose_is_valid_for_docker_compose() -> None:
    required = set(re.findall(r"(?<!\$)\$\{(\w+):\?", COMPOSE.read_text()))
    env = {**os.environ, **dict.fromkeys(required, "x1y2z3w4v5u6t7s8r9q0p1o2n3m4l5k6")}
    command = [*compose_command(), "-f", str(COMPOSE), "config", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr


def test_compose_runs_the_whole_stack(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= STACK | APPS
    assert set(app_services(compose)) >= APPS


def test_compose_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "image" in service, f"{name} has no image"
        assert_pinned(service["image"])
    for name, service in app_services(compose).items():
        assert service["build"] == {"context": ".", "dockerfile": "ops/Dockerfile"}, name


def test_compose_secrets_are_required_variables_without_defaults(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    for reference in re.findall(r"(?<!\$)\$\{[^}]*\}", text):
        assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", reference), f"{reference}: use ${{VAR:?message}}"
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert value is None or "${" in str(value), f"{name}: {key} has a literal value"


def test_compose_health_checks_and_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    disabled = {name for name, s in services.items() if s["healthcheck"].get("disable")}
    assert disabled == set(NO_HEALTHCHECK)
    for name, service in services.items():
        assert service["healthcheck"].get("disable") or service["healthcheck"]["test"], name
        for needed, condition in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on unknown {needed}"
            wanted = condition["condition"]
            assert wanted in {"service_healthy", "service_started"}, f"{name} -> {needed}: {wanted}"
            if wanted == "service_healthy":
                assert needed not in disabled, f"{name} waits for {needed}, which has no health check"
    for name in app_services(compose):
        assert {"postgres"} <= set(services[name]["depends_on"]), name


def test_compose_volumes_are_named_or_files_of_the_repository(compose: dict[str, Any]) -> None:
    for name in STACK - {"otel-collector", "jaeger"}:
        assert compose["services"][name].get("volumes"), f"{name} keeps its data in no volume"
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name}: volume {source} is not declared"


def test_compose_app_containers_run_real_commands_with_known_settings(
    compose: dict[str, Any], served_paths: set[str]
) -> None:
    roles: dict[str, list[dict[str, Any]]] = {}
    for name, service in app_services(compose).items():
        path, _ = fiscaflow_command(service["command"])
        environment = service["environment"]
        assert_known(environment, f"compose service {name}")
        roles.setdefault(path, []).append(environment)
        check = service["healthcheck"]
        if not check.get("disable"):
            url = re.search(r"https?://[^'\" ]+", " ".join(check["test"]))
            assert url and probe_path(url.group()) in served_paths, f"{name} probes {check['test']}"
    assert {"serve", "project", "relay run"} <= set(roles)
    assert projections_of(compose["services"]["projectors"]["command"]) == list(PROJECTIONS)
    serving = [
        (env.get("FISCAFLOW_RUN_PROJECTORS", "true"), env.get("FISCAFLOW_RUN_WORKERS", "true"))
        for env in roles["serve"]
    ]
    assert ("false", "false") in serving, "the api leaves projectors and periodic work to other processes"
    assert ("false", "true") in serving, "one process runs the periodic work (only `serve` does it)"


def test_compose_apps_send_telemetry_to_the_collector(compose: dict[str, Any]) -> None:
    collector = yaml.safe_load((ROOT / "ops" / "otel-collector.yaml").read_text())
    ports = {
        int(protocol["endpoint"].rsplit(":", 1)[1])
        for protocol in collector["receivers"]["otlp"]["protocols"].values()
    }
    for name, service in app_services(compose).items():
        endpoint = urlsplit(service["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint.hostname == "otel-collector", name
        assert endpoint.port in ports, f"{name} sends to a port the collector does not receive on"
        assert service["environment"]["OTEL_SERVICE_NAME"], name
    jaeger = urlsplit("//" + collector["exporters"]["otlp/jaeger"]["endpoint"]).hostname
    assert jaeger in compose["services"]
    for pipeline in collector["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(collector[kind]), pipeline
    assert "otlp/jaeger" in collector["service"]["pipelines"]["traces"]["exporters"]


# ---- ops/Dockerfile


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions (continuation lines joined), by stage."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, argument = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction.upper(), argument.strip()))
    return stages


def dockerfile_user() -> str:
    users = [argument for instruction, argument in dockerfile_stages()[-1] if instruction == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    return users[-1]


def test_dockerfile_is_multi_stage_on_a_pinned_slim_python() -> None:
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base.group(1)), "pin the patch"
    stages = dockerfile_stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1].split()[0]
        assert image == "${PYTHON_IMAGE}", f"FROM {image}: build on the pinned base"
    final = " ".join(argument for instruction, argument in stages[-1] if instruction == "RUN")
    assert "--no-index" in final, "the runtime installs only the wheels of the build stage"
    assert not re.search(r"apt-get install|apk add|gcc|build-essential", final), "build tools"


def test_dockerfile_runs_as_a_numeric_non_root_user_that_kubernetes_runs_as(
    manifests: list[dict[str, Any]],
) -> None:
    uid = dockerfile_user().split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {uid}: numeric and not root (runAsNonRoot)"
    for deployment in deployments(manifests):
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def test_dockerfile_health_check_and_command(served_paths: set[str]) -> None:
    final = dict(dockerfile_stages()[-1])
    url = re.search(r"https?://[^'\" ]+", final["HEALTHCHECK"])
    assert url and probe_path(url.group()) in served_paths
    command = json.loads(final["CMD"])
    assert fiscaflow_command(command)[0] == "serve"
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_dockerfile_copies_every_package_and_the_context_keeps_them() -> None:
    copied = {
        part
        for instruction, argument in dockerfile_stages()[0]
        if instruction == "COPY" and not argument.startswith("--from")
        for part in argument.split()[:-1]
    }
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages | {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    ignored = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    for source in copied:
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), f"{source} is ignored"


# ---- ops/k8s


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    for image in kustomization.get("images", []):
        assert_pinned(f"{image['name']}:{image['newTag']}")


def test_kustomization_builds() -> None:
    if shutil.which("kubectl") is None:
        service_missing("no kubectl on PATH to build the kustomization")
    built = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr


def test_k8s_holds_no_secret_values(manifests: list[dict[str, Any]]) -> None:
    assert all(doc["kind"] != "Secret" for doc in manifests), "create the Secret out of band"
    for doc in manifests:
        if doc["kind"] == "ConfigMap":
            assert_known(doc["data"], "ConfigMap")
            assert not [key for key in doc["data"] if SECRET_NAME.search(key)], doc["data"]
    for deployment in deployments(manifests):
        for container in containers(deployment):
            for variable in container.get("env", []):
                if SECRET_NAME.search(variable["name"]):
                    assert "secretKeyRef" in variable.get("valueFrom", {}), variable["name"]


def test_k8s_containers_are_pinned_bounded_locked_down_and_known(
    manifests: list[dict[str, Any]], served_paths: set[str]
) -> None:
    configmaps = {doc["metadata"]["name"] for doc in manifests if doc["kind"] == "ConfigMap"}
    for deployment in deployments(manifests):
        name = deployment["metadata"]["name"]
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
        for container in containers(deployment):
            assert_pinned(container["image"])
            fiscaflow_command(container["command"])
            assert_known((v["name"] for v in container.get("env", [])), name)
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configmaps, name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name} {kind}"
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
            if "prometheus.io/path" in annotations:
                assert annotations["prometheus.io/path"] in served_paths, f"{name} scrape path"
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in container:
                    assert container[probe]["httpGet"]["path"] in served_paths, f"{name} {probe}"


def test_k8s_api_is_probed_served_and_autoscaled(manifests: list[dict[str, Any]]) -> None:
    (hpa,) = [doc for doc in manifests if doc["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    (api,) = [
        d for d in deployments(manifests) if d["metadata"]["name"] == hpa["spec"]["scaleTargetRef"]["name"]
    ]
    (container,) = containers(api)
    assert fiscaflow_command(container["command"])[0] == "serve"
    env = {v["name"]: v.get("value") for v in container["env"]}
    assert (env["FISCAFLOW_RUN_PROJECTORS"], env["FISCAFLOW_RUN_WORKERS"]) == ("false", "false")
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == 70
    (service,) = [doc for doc in manifests if doc["kind"] == "Service"]
    labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {port["name"] for port in container["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports


def test_k8s_projectors_and_relay_are_single_and_cover_every_projection(
    manifests: list[dict[str, Any]],
) -> None:
    (hpa,) = [doc for doc in manifests if doc["kind"] == "HorizontalPodAutoscaler"]
    projected: list[str] = []
    relays = 0
    for deployment in deployments(manifests):
        if deployment["metadata"]["name"] == hpa["spec"]["scaleTargetRef"]["name"]:
            continue  # the api scales; every other process runs once
        (container,) = containers(deployment)
        path, _ = fiscaflow_command(container["command"])
        assert deployment["spec"]["replicas"] == 1, deployment["metadata"]["name"]
        assert deployment["spec"]["strategy"]["type"] == "Recreate", deployment["metadata"]["name"]
        if path == "project":
            projected += projections_of(container["command"])
        relays += path == "relay run"
    assert sorted(projected) == sorted(PROJECTIONS), "each projection in exactly one Deployment"
    assert relays == 1
