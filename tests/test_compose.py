"""docker-compose.yml parses and wires its services with the setting names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shixin.settings import Settings

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
SETTING_NAMES = {name.upper() for name in Settings.model_fields}
# variables the third-party images read themselves
IMAGE_PREFIXES = ("KAFKA_", "POSTGRES_")
IMAGE_NAMES = {"CLUSTER_ID", "PGDATA"}
OWN_SERVICES = ("processor", "projector", "topics")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def test_compose_file_has_the_brokers_and_the_long_running_services() -> None:
    services = _compose()["services"]

    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert services["postgres"]["image"] == "postgres:17"
    assert services["processor"]["command"] == ["process"]
    assert services["projector"]["command"] == ["project"]


def test_our_services_use_only_setting_names() -> None:
    services = _compose()["services"]

    for name in OWN_SERVICES:
        env = _environment(services[name])
        unknown = sorted(set(env) - SETTING_NAMES)
        assert unknown == [], f"service '{name}': not fields of Settings: {unknown}"
        assert {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"} <= set(env), name


def test_image_services_use_only_known_image_variables() -> None:
    services = _compose()["services"]

    for name, service in services.items():
        if name in OWN_SERVICES:
            continue
        for key in _environment(service):
            known = key in SETTING_NAMES or key in IMAGE_NAMES
            assert known or key.startswith(IMAGE_PREFIXES), f"{name}: {key}"


def test_our_services_point_at_the_compose_brokers() -> None:
    services = _compose()["services"]
    env = _environment(services["processor"])

    host = env["KAFKA_BOOTSTRAP_SERVERS"].split(":")[0]
    assert host in services
    assert "@postgres:" in env["DATABASE_URL"]
    assert int(env["TOPIC_PARTITIONS"]) > 0
