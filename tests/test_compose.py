"""docker-compose.yml cannot run here (no Docker), so check that its pieces fit together:
every variable is one the app reads, and every address points at a service and port that exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from config import Settings
from runner.temporal_server import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker")


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return dict(compose["services"])


def env(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with compose defaults applied (`${BASE_URL:-http://...}` -> default)."""
    raw = service.get("environment", {})
    pairs = [item.split("=", 1) for item in raw] if isinstance(raw, list) else raw.items()
    return {key: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value)) for key, value in pairs}


def container_ports(service: dict[str, Any]) -> set[int]:
    """Container-side ports: from `host:container` mappings and from `expose`."""
    published = [str(p).split(":")[-1] for p in service.get("ports", [])]
    return {int(p) for p in published + [str(p) for p in service.get("expose", [])]}


def host_ports(service: dict[str, Any]) -> dict[int, int]:
    """host port -> container port."""
    pairs = (str(p).split(":")[-2:] for p in service.get("ports", []))
    return {int(host): int(container) for host, container in pairs}


def test_every_service_of_the_stack_exists(services: dict[str, dict[str, Any]]) -> None:
    expected = {"postgres", "temporal", "temporal-ui", "temporal-admin-tools", "mail", *APP_SERVICES}
    assert expected <= services.keys()


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_only_set_variables_the_settings_read(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    fields = {field.upper() for field in Settings.model_fields}
    variables = env(services[name])
    assert variables, f"{name} has no environment"
    assert set(variables) - fields == set()
    assert variables["ENVIRONMENT"] == "production"
    for required in ("SECRET_KEY", "PAYMENT_NOTIFY_SECRET", "DATABASE_URL", "TEMPORAL_ADDRESS"):
        assert required in variables


def test_database_url_matches_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    url = make_url(env(services["web"])["DATABASE_URL"])
    pg = services["postgres"]
    pg_env = env(pg)
    assert url.drivername == "postgresql+psycopg"
    assert url.host == "postgres"
    assert url.port in container_ports(pg)
    assert url.username == pg_env["POSTGRES_USER"]
    assert url.password == pg_env["POSTGRES_PASSWORD"]
    assert url.database == pg_env["POSTGRES_DB"]


def test_temporal_address_points_at_the_temporal_service(services: dict[str, dict[str, Any]]) -> None:
    for name in (*APP_SERVICES, "temporal-ui", "temporal-admin-tools"):
        host, port = env(services[name])["TEMPORAL_ADDRESS"].split(":")
        assert host == "temporal", name
        assert int(port) in container_ports(services["temporal"]), name


def test_mail_goes_to_the_mail_service(services: dict[str, dict[str, Any]]) -> None:
    app_env = env(services["web"])
    assert app_env["SMTP_HOST"] == "mail"
    assert int(app_env["SMTP_PORT"]) in container_ports(services["mail"])
    assert urlsplit(app_env["MAILCATCHER_URL"]).port in host_ports(services["mail"])


def test_temporal_ui_is_on_8233(services: dict[str, dict[str, Any]]) -> None:
    assert host_ports(services["temporal-ui"]) == {8233: 8080}
    assert urlsplit(env(services["web"])["TEMPORAL_UI_URL"]).port == 8233


def test_registered_search_attributes_are_the_runners(services: dict[str, dict[str, Any]]) -> None:
    command = " ".join(services["temporal-admin-tools"]["command"])
    registered = re.findall(r"--name (\w+) --type (\w+)", command)
    assert registered == [(name, "Keyword") for name in SEARCH_ATTRIBUTES]


def test_web_and_worker_run_the_app(services: dict[str, dict[str, Any]]) -> None:
    web = services["web"]
    assert web["command"][:3] == ["uvicorn", "api.app:create_app", "--factory"]
    assert host_ports(web) == {8000: 8000}
    assert services["worker"]["command"] == ["python", "worker.py"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "alembic upgrade head" in " ".join(services["migrate"]["command"])


def test_prometheus_scrapes_the_web_app_and_every_worker(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    mounted = {v.split(":")[0]: v.split(":")[1] for v in prometheus["volumes"] if v.startswith("./")}
    assert mounted["./deploy/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"web", "worker"}
    targets = {name: job["dns_sd_configs"][0] for name, job in jobs.items()}
    assert targets["web"]["names"] == ["web"] and targets["web"]["port"] in container_ports(services["web"])
    # the worker's metrics server listens where Prometheus looks for it, on every replica
    worker = services["worker"]
    metrics_port = int(env(worker)["WORKER_METRICS_ADDRESS"].rsplit(":", 1)[1])
    assert targets["worker"]["names"] == ["worker"] and targets["worker"]["port"] == metrics_port
    assert metrics_port in container_ports(worker)
    assert env(worker)["WORKER_METRICS_ADDRESS"].startswith("0.0.0.0:")  # reachable from the other container
    assert host_ports(prometheus) == {9090: 9090}
