"""The deployment files (issue 6 item 7) are parsed and checked against what the app reads:
compose services, ports and environment vs ``db/settings.py`` Settings, the Dockerfile's
user, port, health check and command, the systemd units and their environment file.
Nothing is started (no docker, no systemd)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from db.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
#: the settings a production process must be given (no defaults that fit production)
REQUIRED = {"DATABASE_URL", "DATA_DIR", "COOKIE_KEY", "DEMO_MODE", "TIMEZONE"}
CHARGEOPS_SERVICES = ("migrate", "app", "sidecar")
SETTINGS_FIELDS = {name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", ...]
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))
    out = []
    for line in text.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _unit(name: str) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    cp.read_string((DEPLOY / "systemd" / name).read_text(encoding="utf-8"))
    return cp


# --- compose ------------------------------------------------------------------------------------


def test_compose_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"postgres", "migrate", "app", "sidecar"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert services["migrate"]["command"] == ["python", "-m", "db.migrate", "upgrade"]
    assert services["sidecar"]["command"] == ["python", "-m", "scheduler"]
    assert "command" not in services["app"]  # the image's CMD: streamlit on 8501
    for name in ("app", "sidecar"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["restart"] == "unless-stopped"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert set(compose["volumes"]) >= {"pgdata", "chargeops-data"}


def test_compose_ports(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["app"]["ports"] == ["8501:8501"]
    for name in ("postgres", "migrate", "sidecar"):
        assert "ports" not in services[name], f"{name} must not be published"


def test_compose_environment_matches_settings(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in CHARGEOPS_SERVICES:
        env = _env(services[name])
        unknown = set(env) - SETTINGS_FIELDS
        assert not unknown, f"{name} sets variables Settings does not read: {unknown}"
        assert set(env) >= REQUIRED, f"{name} misses {REQUIRED - set(env)}"
        assert env["DEMO_MODE"] == "false"
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert "${COOKIE_KEY:?" in env["COOKIE_KEY"], (
            "the cookie key must be required, not defaulted"
        )
        # pydantic accepts the values (placeholders substituted as compose would)
        concrete = {k: re.sub(r"\$\{[^}]*\}", "x", v) for k, v in env.items()}
        Settings(**{k.lower(): v for k, v in concrete.items()})
    app, sidecar = _env(services["app"]), _env(services["sidecar"])
    assert app == sidecar, "app and sidecar must see the same settings"
    for name in ("app", "sidecar"):
        mounts = {v.split(":", 1)[1] for v in services[name]["volumes"]}
        assert _env(services[name])["DATA_DIR"] in mounts, "DATA_DIR must be the shared volume"


def test_compose_postgres_matches_the_image_client(compose: dict[str, Any]) -> None:
    """pg_dump in the image must be at least the server's major version (db.backup checks)."""
    server_major = compose["services"]["postgres"]["image"].split(":")[1].split(".")[0]
    args = dict(_dockerfile())["ARG"]
    assert args == f"PG_MAJOR={server_major}"
    for name in CHARGEOPS_SERVICES:
        assert compose["services"][name]["build"]["args"]["PG_MAJOR"] == server_major


# --- Dockerfile ---------------------------------------------------------------------------------


def test_dockerfile() -> None:
    instructions = _dockerfile()
    by = {}
    for word, rest in instructions:
        by.setdefault(word, []).append(rest)
    assert by["FROM"] == ["python:3.11-slim"]
    assert by["EXPOSE"] == ["8501"]
    assert by["USER"] and by["USER"][-1] not in ("root", "0")
    assert "useradd" in " ".join(by["RUN"])
    assert "ENTRYPOINT" not in by
    cmd = json.loads(by["CMD"][-1])
    assert cmd[:3] == ["streamlit", "run", "app/main.py"]
    assert "--server.port=8501" in cmd and "--server.address=0.0.0.0" in cmd
    (health,) = by["HEALTHCHECK"]
    assert "/_stcore/health" in health and "8501" in health
    assert any(r.startswith("-e .") or " -e ." in r for r in by["RUN"]), "editable install"
    assert "postgresql-client" in " ".join(by["RUN"])
    # USER comes after everything that needs root
    words = [w for w, _ in instructions]
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "var", ".git", ".env"} <= set(ignore)


# --- systemd ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "command"),
    [
        ("chargeops-app.service", "streamlit run app/main.py"),
        ("chargeops-sidecar.service", "python -m scheduler"),
        ("chargeops-migrate.service", "python -m db.migrate upgrade"),
    ],
)
def test_systemd_units(unit: str, command: str) -> None:
    cp = _unit(unit)
    assert cp.sections() == ["Unit", "Service", "Install"]
    svc = cp["Service"]
    exec_start = shlex.split(svc["ExecStart"])
    assert exec_start[0].startswith("/opt/chargeops/.venv/bin/")
    assert command in " ".join([Path(exec_start[0]).name, *exec_start[1:]])
    assert svc["User"] == "chargeops" and svc["WorkingDirectory"] == "/opt/chargeops"
    assert svc["EnvironmentFile"] == "/etc/chargeops/chargeops.env"
    assert svc["NoNewPrivileges"] == "yes" and svc["ProtectSystem"] == "strict"
    assert "/var/lib/chargeops" in svc["ReadWritePaths"]
    assert cp["Install"]["WantedBy"] == "multi-user.target"
    if unit != "chargeops-migrate.service":
        assert svc["Restart"] in ("on-failure", "always")
        assert "chargeops-migrate.service" in cp["Unit"]["Requires"]
        assert "chargeops-migrate.service" in cp["Unit"]["After"]
    else:
        assert svc["Type"] == "oneshot"
    if unit == "chargeops-app.service":
        assert "--server.port=8501" in exec_start


def test_systemd_environment_file() -> None:
    env = {}
    for line in (DEPLOY / "systemd" / "chargeops.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    assert set(env) <= SETTINGS_FIELDS, set(env) - SETTINGS_FIELDS
    assert set(env) >= REQUIRED
    assert env["DEMO_MODE"] == "false"
    assert env["DATA_DIR"].startswith("/var/lib/chargeops")
    Settings(**{k.lower(): v for k, v in env.items()})
