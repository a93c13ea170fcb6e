"""Shared fixtures: a fresh PostgreSQL database per run, the real server on a loopback port, keys.

Every server-side test runs on both backends: `live_server` and `db_url` are parametrised over
SQLite (a fresh file) and PostgreSQL (a database created for this run on 127.0.0.1:5432).

The PostgreSQL half needs a server: by default `postgresql://postgres@127.0.0.1:5432/postgres`
(trust auth), else the admin URL in `EVALSET_TEST_PG_URL`. When none answers, that half is skipped
with a message saying so, unless `EVALSET_TEST_REQUIRE_PG=1` (set by CI), which makes it fail.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

BACKENDS = ("sqlite", "postgresql")
PG_ADMIN_URL = (
    os.environ.get("EVALSET_TEST_PG_URL")
    or os.environ.get("EVALSET_TEST_PG_ADMIN_URL")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("EVALSET_TEST_REQUIRE_PG") == "1"
TEST_BODY_LIMIT = 4 * 1024 * 1024
READ = "project:read_datasets"
WRITE = "project:write_datasets"


@functools.cache
def pg_unavailable() -> str | None:
    """Why the tests' PostgreSQL server cannot be used, or None when it answers."""
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=5).close()
    except psycopg.Error as error:
        reason = str(error).strip().splitlines()[0]
        return (
            f"PostgreSQL half skipped: no server answers at {PG_ADMIN_URL} ({reason}). Start one on "
            "127.0.0.1:5432 (user postgres, trust auth), or set EVALSET_TEST_PG_URL to the admin URL of another."
        )
    return None


def pytest_report_header(config: pytest.Config) -> str:
    problem = pg_unavailable()
    if problem is None:
        return f"PostgreSQL for the tests: {PG_ADMIN_URL}"
    return problem + (" CI requires it (EVALSET_TEST_REQUIRE_PG=1): those tests fail." if REQUIRE_PG else "")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    problem = pg_unavailable()
    if problem is not None and not REQUIRE_PG:
        terminalreporter.write_sep("=", "PostgreSQL", yellow=True)
        terminalreporter.write_line(problem)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for this test run (one per xdist worker), dropped afterwards."""
    import psycopg

    problem = pg_unavailable()
    if problem is not None:
        if REQUIRE_PG:
            pytest.fail(problem.replace("skipped", "required (EVALSET_TEST_REQUIRE_PG=1)"), pytrace=False)
        pytest.skip(problem)

    name = f"evalset_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _backend_url(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{directory / 'evalset.db'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the run's PostgreSQL database emptied."""
    url = _backend_url(request, request.param, tmp_path)
    if request.param == "postgresql":
        _reset_postgres(url)
    yield url


def _reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@dataclass
class LiveServer:
    """The real server, started as `evalset serve` in a subprocess on a free loopback port."""

    base_url: str
    db_url: str
    backend: str
    process: subprocess.Popen[bytes]
    _db: object | None = field(default=None, repr=False)

    @property
    def db(self):  # noqa: ANN201
        if self._db is None:
            from evalset.server.storage import Database

            self._db = Database(self.db_url)
        return self._db

    def new_key(self, *scopes: str, project: str | None = None) -> tuple[str, str]:
        """A key with these scopes (default read+write) in `project` (default: a new one). Returns (key, project)."""
        from evalset.server.services.keys import create_key

        project = project or f"p-{uuid.uuid4().hex[:10]}"
        secret, _ = create_key(self.db, project=project, scopes=list(scopes or (READ, WRITE)))  # type: ignore[arg-type]
        return secret, project

    def client(self, key: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]


def start_server(db_url: str, log: Path, *, env: dict[str, str] | None = None, backend: str = "") -> LiveServer:
    environment = {**os.environ, "EVALSET_MAX_BODY_BYTES": str(TEST_BODY_LIMIT), **(env or {})}
    environment.pop("EVALSET_DATABASE_URL", None)
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "evalset.server.cli", "--db", db_url, "serve", "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    deadline = time.monotonic() + 30
    base_url = None
    while time.monotonic() < deadline:
        text = log.read_text()
        if "serving at " in text:
            base_url = text.split("serving at ", 1)[1].split()[0]
            break
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{text}")
        time.sleep(0.05)
    if base_url is None:
        process.kill()
        raise RuntimeError(f"server did not start in 30 s:\n{log.read_text()}")
    return LiveServer(base_url=base_url, db_url=db_url, backend=backend, process=process)


def stop_server(server: LiveServer) -> None:
    if server._db is not None:
        server._db.dispose()  # type: ignore[attr-defined]
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session", params=BACKENDS)
def live_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp(f"server-{request.param}")
    url = _backend_url(request, request.param, directory)
    server = start_server(url, directory / "server.log", backend=request.param)
    yield server
    stop_server(server)


@pytest.fixture
def key(live_server: LiveServer) -> str:
    """A read+write key in a project of its own, so tests never see each other's data."""
    return live_server.new_key()[0]


@pytest.fixture
def api(live_server: LiveServer, key: str) -> Iterator[httpx.Client]:
    """An HTTP client with a read+write key of a fresh project."""
    with live_server.client(key) as client:
        yield client


@pytest.fixture
def make_client(live_server: LiveServer) -> Iterator[Callable[..., httpx.Client]]:
    """Build more clients: make_client(key) or make_client(scopes=[...], project=...)."""
    opened: list[httpx.Client] = []

    def make(key: str | None = None, *, scopes: tuple[str, ...] = (), project: str | None = None) -> httpx.Client:
        if key is None and scopes:
            key, _ = live_server.new_key(*scopes, project=project)
        client = live_server.client(key)
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()
