"""The production topology in deploy/ is valid as written: the compose file against the
Compose Specification schema, every Kubernetes manifest against the Kubernetes API schemas
(both schemas ship in PyPI packages, so nothing is downloaded), every ``SKILLFLOW_*``
variable they pass is a setting, every role they run is a ``skillflow`` command, and every
probe reaches a health path on the port that role's settings give it."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.main import get_command

from api.app import create_app
from skillflow.cli import app as cli_app
from skillflow.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.32.0"
ROLES = ("worker", "consumers", "api")
# The port each role's health endpoints answer on, by setting.
HEALTH_PORT_SETTING = {
    "worker": "SKILLFLOW_WORKER_HEALTH_PORT",
    "consumers": "SKILLFLOW_CONSUMERS_HEALTH_PORT",
    "api": "SKILLFLOW_API_PORT",
}
# The worker's and consumers' HealthServer answers exactly these (skillflow/health.py).
HEALTH_SERVER_PATHS = {"/health/live", "/health/ready"}
SETTING = re.compile(r"\bSKILLFLOW_[A-Z0-9_]+\b")
# Interpolated by compose itself from deploy/.env, never passed to a role.
COMPOSE_ONLY_VARIABLES = {"SKILLFLOW_DB_PASSWORD"}


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def _manifests() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                found.append((path.name, document))
    return found


def _deployments() -> dict[str, dict[str, Any]]:
    return {
        doc["spec"]["template"]["spec"]["containers"][0]["args"][0]: doc
        for _, doc in _manifests()
        if doc["kind"] == "Deployment"
    }


def _settings_names() -> set[str]:
    return {f"SKILLFLOW_{name.upper()}" for name in Settings.model_fields}


def _api_paths() -> set[str]:
    app = create_app(Settings())  # routes only: the lifespan (which connects) never runs
    return set(app.openapi()["paths"])


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    jsonschema.validate(_compose(), schema)
    services = _compose()["services"]
    for needed in ("temporal", "temporal-ui", "kafka", "postgres", "prometheus", *ROLES):
        assert needed in services, needed
    # KRaft, no ZooKeeper; Temporal persists to PostgreSQL.
    assert "controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["temporal"]["environment"]["DB"].startswith("postgres")


def test_a_broken_compose_file_fails_the_schema() -> None:
    """The schema check has teeth: a misspelt key is refused."""
    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    broken = _compose()
    broken["services"]["worker"]["restart_policy"] = "always"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


@pytest.mark.parametrize("name_and_doc", _manifests(), ids=lambda nd: f"{nd[0]}:{nd[1]['kind']}")
def test_kubernetes_manifest_follows_the_api_schema(name_and_doc: tuple[str, Any]) -> None:
    _, document = name_and_doc
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_fails_the_schema() -> None:
    deployment = _deployments()["worker"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = (
        "/x"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_example_secret() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in KUBERNETES.glob("*.yaml")} - {
        "kustomization.yaml",
        "secret.example.yaml",
    }
    assert listed == on_disk


def test_every_skillflow_variable_passed_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    known = _settings_names()
    texts = {
        path.relative_to(DEPLOY): path.read_text()
        for path in [
            DEPLOY / "compose.yaml",
            DEPLOY / "production.env.example",
            *sorted(KUBERNETES.glob("*.yaml")),
        ]
    }
    for path, text in texts.items():
        for name in set(SETTING.findall(text)) - COMPOSE_ONLY_VARIABLES:
            assert name in known, f"{path} passes {name}, which no setting reads"
    # and the whole shared block is a valid production configuration
    env = {
        k: v
        for k, v in _compose()["x-skillflow-settings"].items()
        if "${" not in str(v)  # secrets interpolated from .env
    }
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    Settings()  # read as a role reads them: from the environment


def test_production_manifests_run_in_production_mode_with_secrets_from_a_secret() -> None:
    config = next(doc for _, doc in _manifests() if doc["kind"] == "ConfigMap")["data"]
    assert config["SKILLFLOW_ENVIRONMENT"] == "production"
    assert _compose()["x-skillflow-settings"]["SKILLFLOW_ENVIRONMENT"] == "production"
    secret_keys = {
        "SKILLFLOW_PERSON_KEY_SECRET",
        "SKILLFLOW_POSTGRES_DSN",
        "SKILLFLOW_API_TOKENS",
        "SKILLFLOW_PAYLOAD_KEYS",
        "SKILLFLOW_PAYLOAD_KEY_ID",
    }
    assert not secret_keys & set(config), "secrets belong in the Secret, not the ConfigMap"
    secret = next(doc for _, doc in _manifests() if doc["kind"] == "Secret")
    assert set(secret["stringData"]) == secret_keys
    for role, deployment in _deployments().items():
        env_from = deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"secretRef": {"name": secret["metadata"]["name"]}} in env_from, role
    # compose takes them from .env by interpolation, refusing to start without them
    settings = _compose()["x-skillflow-settings"]
    for key in ("SKILLFLOW_PERSON_KEY_SECRET", "SKILLFLOW_PAYLOAD_KEYS"):
        assert ":?" in settings[key], key


def test_every_role_run_is_a_skillflow_command() -> None:
    commands = set(get_command(cli_app).commands)  # type: ignore[attr-defined]
    services = _compose()["services"]
    for role in ROLES:
        assert services[role]["command"] == [role]
        assert role in commands
    assert set(_deployments()) == set(ROLES)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["skillflow"]' in dockerfile
    for source in re.findall(r"^COPY (?!--)(\S+)", dockerfile, re.MULTILINE):
        assert (DEPLOY.parent / source).exists(), f"Dockerfile copies missing {source}"


def test_every_probe_reaches_a_health_path_on_the_roles_port() -> None:
    config = next(doc for _, doc in _manifests() if doc["kind"] == "ConfigMap")["data"]
    api_paths = _api_paths()
    for role, deployment in _deployments().items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        paths = HEALTH_SERVER_PATHS if role != "api" else api_paths
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] in paths, f"{role} {probe} {get['path']}"
            assert ports[get["port"]] == int(config[HEALTH_PORT_SETTING[role]]), role
    compose = _compose()
    for role in ROLES:
        command = " ".join(compose["services"][role]["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]+)", command)
        assert url is not None, role
        port, path = url.groups()
        assert path in (HEALTH_SERVER_PATHS if role != "api" else api_paths), role
        assert int(port) == int(compose["x-skillflow-settings"][HEALTH_PORT_SETTING[role]])
    assert HEALTH_SERVER_PATHS <= api_paths


def test_consumer_replicas_fit_the_partitions_and_disruption_budgets_cover_each_role() -> None:
    config = next(doc for _, doc in _manifests() if doc["kind"] == "ConfigMap")["data"]
    partitions = int(config["SKILLFLOW_KAFKA_TOPIC_PARTITIONS"])
    deployments = _deployments()
    assert deployments["consumers"]["spec"]["replicas"] <= partitions
    topics_job = (KUBERNETES / "kafka-topics.yaml").read_text()
    assert f"--partitions {partitions} " in topics_job
    budgets = {
        doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"]: doc
        for _, doc in _manifests()
        if doc["kind"] == "PodDisruptionBudget"
    }
    assert set(budgets) == set(ROLES)
    for role, budget in budgets.items():
        assert budget["spec"]["minAvailable"] < deployments[role]["spec"]["replicas"], role
    for role, deployment in deployments.items():
        resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert resources["requests"] and resources["limits"]["memory"], role
