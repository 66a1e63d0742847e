"""Docker does not run here, so the deployment files are checked by reading them: every
service is there, every variable they set is one the settings read, and every variable
the settings require is set."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.composition import SPECS, consumer_services, relay_services
from services.sms_mock.main import SmsMockSettings
from shared.settings import PlatformSettings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = list(SPECS)


def settings_variables() -> dict[str, set[str]]:
    """Every environment variable a service reads, by service (platform variables included)."""
    platform = {f"ONESTOP_{name.upper()}" for name in PlatformSettings.model_fields}
    known: dict[str, set[str]] = {}
    for name, spec in SPECS.items():
        prefix = spec.settings_type.model_config.get("env_prefix", "")
        own = {f"{prefix}{field.upper()}" for field in spec.settings_type.model_fields}
        known[name] = (own - {f"{prefix}PLATFORM"}) | platform
    # The SMS provider mock: deployed beside the services for development.
    known["sms_mock"] = {f"SMS_MOCK_{field.upper()}" for field in SmsMockSettings.model_fields}
    return known


def required_variables(service: str) -> set[str]:
    """What a service needs in distributed mode (no default works there)."""
    prefix = SPECS[service].settings_type.model_config.get("env_prefix", "")
    required = {"ONESTOP_MODE", f"{prefix}DATABASE_URL"}
    if SPECS[service].settings_type.uses_events:
        required |= {"ONESTOP_JWT_SECRET", "ONESTOP_REDIS_URL"}
    if service == "gateway":
        required |= {f"GATEWAY_{n.upper()}_URL" for n in SERVICES if n != "gateway"}
        required.add("GATEWAY_PORTAL_CLIENT_SECRET")  # production refuses the demo one
    if service == "documents":
        required |= {"DOCUMENTS_S3_ENDPOINT", "DOCUMENTS_S3_ACCESS_KEY", "DOCUMENTS_S3_SECRET_KEY"}
    return required


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document["services"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


class TestCompose:
    def test_it_runs_the_servers_every_service_the_relay_and_the_migrations(
        self, compose: dict[str, Any]
    ) -> None:
        assert {"postgres", "redis", "minio", "migrate", "relay", "consumers"} <= set(compose)
        for service in SERVICES:
            command = compose[service.replace("_", "-")]["command"]
            assert command[:2] == ["serve", service]
        assert compose["relay"]["command"] == ["worker", "relay"]
        assert compose["consumers"]["command"] == ["worker", "consume"]
        assert compose["migrate"]["command"] == ["migrate"]

    def test_every_server_and_service_has_a_healthcheck(self, compose: dict[str, Any]) -> None:
        for name in ["postgres", "redis", "minio", *(s.replace("_", "-") for s in SERVICES)]:
            assert compose[name]["healthcheck"]["test"], name

    @pytest.mark.parametrize("service", SERVICES)
    def test_each_service_gets_what_it_requires_and_only_what_it_reads(
        self, compose: dict[str, Any], service: str
    ) -> None:
        environment = compose[service.replace("_", "-")]["environment"]
        assert required_variables(service) <= set(environment)
        unknown = {
            name
            for name in environment
            if not any(name in known for known in settings_variables().values())
        }
        assert unknown == set()

    @pytest.mark.parametrize(
        ("worker", "services"),
        [("relay", relay_services()), ("consumers", consumer_services())],
    )
    def test_each_worker_gets_what_every_service_it_runs_requires(
        self, compose: dict[str, Any], worker: str, services: list[str]
    ) -> None:
        environment = set(compose[worker]["environment"])
        assert "gateway" in services  # its outbox, and the portal sync
        for service in services:
            assert required_variables(service) <= environment, service

    def test_the_migrate_job_gets_what_every_service_requires(
        self, compose: dict[str, Any]
    ) -> None:
        """``onestop migrate`` loads each service's settings: one missing required
        variable (documents' S3 secret) ended the job and every service waited on it."""
        environment = set(compose["migrate"]["environment"])
        for service in SERVICES:
            assert required_variables(service) <= environment, service

    def test_secrets_have_no_default_and_fail_fast(self) -> None:
        text = (ROOT / "docker-compose.yml").read_text()
        for variable in ("ONESTOP_JWT_SECRET", "POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD",
                         "PORTAL_CLIENT_SECRET", "SMS_API_KEY"):  # fmt: skip
            assert re.search(r"\$\{" + variable + r":\?[^}]+\}", text), variable

    def test_the_services_wait_for_migrations_and_redis(self, compose: dict[str, Any]) -> None:
        for service in SERVICES:
            depends = compose[service.replace("_", "-")]["depends_on"]
            assert depends["migrate"]["condition"] == "service_completed_successfully"
            assert depends["redis"]["condition"] == "service_healthy"


class TestDockerfile:
    def test_one_image_installs_the_locked_runtime_and_runs_the_cli_unprivileged(self) -> None:
        text = (ROOT / "Dockerfile").read_text()
        assert "pip install -r requirements.lock" in text
        assert re.search(r"^USER onestop$", text, re.MULTILINE)
        assert 'ENTRYPOINT ["onestop"]' in text


class TestKubernetes:
    def by_kind(self, manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
        return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}

    def test_each_service_has_a_deployment_a_service_and_an_autoscaler(
        self, manifests: list[dict[str, Any]]
    ) -> None:
        deployments = self.by_kind(manifests, "Deployment")
        services = self.by_kind(manifests, "Service")
        autoscalers = self.by_kind(manifests, "HorizontalPodAutoscaler")
        for service in SERVICES:
            name = service.replace("_", "-")
            container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
            assert container["args"][:2] == ["serve", service]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert (
                services[name]["spec"]["selector"]
                == deployments[name]["spec"]["selector"]["matchLabels"]
            )
            assert autoscalers[name]["spec"]["scaleTargetRef"]["name"] == name
        assert deployments["relay"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
            "worker",
            "relay",
        ]
        assert self.by_kind(manifests, "Job")["migrate"]

    def test_config_and_secret_provide_every_required_variable_and_nothing_unknown(
        self, manifests: list[dict[str, Any]]
    ) -> None:
        provided = set(self.by_kind(manifests, "ConfigMap")["onestop-config"]["data"])
        provided |= set(self.by_kind(manifests, "Secret")["onestop-secrets"]["stringData"])
        for service in SERVICES:
            assert required_variables(service) <= provided, service
        known = set().union(*settings_variables().values())
        assert provided - known == set()

    def test_the_kustomization_lists_every_manifest(self) -> None:
        folder = ROOT / "deploy" / "k8s"
        listed = set(yaml.safe_load((folder / "kustomization.yaml").read_text())["resources"])
        present = {p.name for p in folder.glob("*.yaml")} - {
            "kustomization.yaml",
            "secret.template.yaml",
        }
        assert listed == present

    def test_the_dev_overlay_puts_a_mail_catcher_and_the_sms_mock_in_place(
        self, manifests: list[dict[str, Any]]
    ) -> None:
        folder = ROOT / "deploy" / "k8s" / "dev"
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        for resource in kustomization["resources"]:
            assert (folder / resource).exists(), resource
        config = self.by_kind(manifests, "ConfigMap")["onestop-config"]["data"]
        [patch] = kustomization["patches"]
        replaced = {op["path"].removeprefix("/data/"): op["value"] for op in
                    yaml.safe_load(patch["patch"])}  # fmt: skip
        assert set(replaced) <= set(config)  # "replace" needs the key to be there
        assert replaced["NOTIFICATIONS_SMTP_HOST"] == "mailpit.onestop.svc"
        dev: list[dict[str, Any]] = []
        for name in ("mailpit.yaml", "sms-mock.yaml"):
            dev += [d for d in yaml.safe_load_all((folder / name).read_text()) if d]
        deployments = self.by_kind(dev, "Deployment")
        mock = deployments["sms-mock"]["spec"]["template"]["spec"]["containers"][0]
        assert mock["args"][:1] == ["sms-mock"]
        secret = yaml.safe_load((ROOT / "deploy" / "k8s" / "secret.template.yaml").read_text())
        key = mock["env"][0]["valueFrom"]["secretKeyRef"]["key"]
        assert key in secret["stringData"]
        assert mock["env"][0]["name"] in settings_variables()["sms_mock"]
