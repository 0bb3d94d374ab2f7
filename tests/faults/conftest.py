"""Fault-injection fixtures. ``make test`` runs this folder in its own pytest invocation,
after everything else, because ``test_pg_restart`` restarts the PostgreSQL server.

* ``pg_url`` is overridden with one whose admin engine pings its connections, so the private
  database can still be dropped after the server was restarted.
* ``pg_restart`` restarts the local cluster (``pg_ctlcluster --skip-systemctl-redirect``) and
  waits for ``pg_isready``. Without ``pg_ctlcluster`` (or the rights to use it) the test is
  skipped locally and fails with ``CI=true``.
* A PostgreSQL restart would break the other tests' connections, so when this session also
  runs tests outside ``tests/faults`` the restart test is skipped (run ``pytest tests/faults``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from db.engine import make_engine
from tests.conftest import IN_CI, PG_ADMIN_URL

FAULTS_DIR = Path(__file__).resolve().parent
RESTART_MODULE = "test_pg_restart.py"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    outside = [i for i in items if FAULTS_DIR not in Path(str(i.path)).parents]
    if not outside:
        return
    skip = pytest.mark.skip(
        reason="restarts PostgreSQL under the other tests; run it alone: pytest tests/faults"
    )
    for item in items:
        if Path(str(item.path)).name == RESTART_MODULE:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A private PostgreSQL database for this session, dropped at the end (even after a
    server restart: the admin engine pings its pooled connection)."""
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"chargeops_f_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    _wait_ready(120)
    with admin.connect() as c:
        c.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _host_port() -> tuple[str, int]:
    u = make_url(PG_ADMIN_URL)
    return u.host or "127.0.0.1", u.port or 5432


def _ready() -> bool:
    host, port = _host_port()
    if shutil.which("pg_isready") is None:  # pragma: no cover - comes with pg_ctlcluster
        try:
            eng = make_engine(PG_ADMIN_URL, pool_pre_ping=False)
            with eng.connect():
                return True
        except Exception:
            return False
        finally:
            eng.dispose()
    r = subprocess.run(
        ["pg_isready", "-h", host, "-p", str(port), "-t", "1"], capture_output=True, check=False
    )
    return r.returncode == 0


def _wait_ready(timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if _ready():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"PostgreSQL not ready {timeout}s after its restart")


def _local_cluster() -> tuple[str, str] | str:
    """``(version, name)`` of the local cluster on the test port, or why there is none."""
    if shutil.which("pg_ctlcluster") is None or shutil.which("pg_lsclusters") is None:
        return "pg_ctlcluster is not installed"
    host, port = _host_port()
    if host not in ("127.0.0.1", "localhost", "::1"):
        return f"PostgreSQL at {host} is not local"
    if os.geteuid() != 0:
        return "restarting the cluster needs root"
    out = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    ).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == str(port):
            return fields[0], fields[1]
    return f"no local cluster listens on port {port}"


@pytest.fixture
def pg_restart() -> Callable[[], float]:
    """A function that restarts the local PostgreSQL cluster and returns once it accepts
    connections again (the seconds it was unavailable)."""
    cluster = _local_cluster()
    if isinstance(cluster, str):
        if IN_CI:
            pytest.fail(f"the PostgreSQL restart test must run in CI: {cluster}")
        pytest.skip(cluster)
    version, name = cluster

    def restart() -> float:
        start = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart"],
            check=True,
            capture_output=True,
            timeout=180,
        )
        _wait_ready(120)
        return time.monotonic() - start

    return restart
