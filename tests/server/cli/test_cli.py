"""The `evalset` command's server side, run as a real subprocess: keys, projects, serve, migrate, backup,
where the database is, and one or two readable lines (no traceback) for every operator mistake."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import start_server, stop_server

READ, WRITE = "project:read_datasets", "project:write_datasets"


def evalset(
    *args: str, db: str | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **(env or {})}
    for name in ("EVALSET_DATABASE_URL", "EVALSET_DATA_DIR"):
        if name not in (env or {}):
            environment.pop(name, None)
    command = [sys.executable, "-m", "evalset.server.cli", *(("--db", db) if db else ()), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, env=environment)


def assert_readable_failure(result: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Exit status 1, no traceback, the message on one or two lines (after the `Database:` line)."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    message = [line for line in result.stderr.splitlines() if not line.startswith("Database: ")]
    assert 1 <= len(message) <= 2, result.stderr
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def test_keys_and_projects_lifecycle(db_url: str) -> None:
    created = evalset("keys", "create", "--project", "team", "--scope", READ, "--name", "ci", "--create", db=db_url)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("evalset_") and " " not in secret
    assert created.stderr.startswith("Database: ")
    listed = evalset("keys", "list", db=db_url).stdout
    assert "team" in listed and "ci" in listed and secret not in listed and "active" in listed
    assert "team" in evalset("projects", "list", db=db_url).stdout
    assert evalset("projects", "create", "other", db=db_url).returncode == 0
    assert evalset("keys", "revoke", secret, db=db_url).returncode == 0
    assert "revoked" in evalset("keys", "list", "--project", "team", db=db_url).stdout
    assert_readable_failure(evalset("keys", "revoke", secret, db=db_url), "no active key", "evalset keys list")
    bad = evalset("keys", "create", "--project", "team", "--scope", "everything", db=db_url)
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_global_options_go_before_or_after_the_command(db_url: str) -> None:
    assert evalset("migrate", db=db_url).returncode == 0
    before = evalset("--db", db_url, "projects", "create", "front")
    after = evalset("projects", "create", "back", "--db", db_url)
    middle = evalset("projects", "--db", db_url, "list")
    assert (before.returncode, after.returncode, middle.returncode) == (0, 0, 0), (before, after, middle)
    assert "front" in middle.stdout and "back" in middle.stdout
    version = evalset("--version")
    assert version.returncode == 0 and re.fullmatch(r"evalset \d+\.\d+\.\d+\S*\n", version.stdout)


def test_admin_commands_never_create_a_database_silently(tmp_path: Path) -> None:
    listed = evalset("keys", "list", cwd=tmp_path)
    where = tmp_path / ".evalset" / "evalset.db"
    assert_readable_failure(listed, f"No evalset database at {where}", "--db", "--create", "current folder")
    assert listed.stderr.startswith(f"Database: SQLite file {where}\n")
    assert not (tmp_path / ".evalset").exists()
    made = evalset("keys", "create", "--project", "p", "--scope", READ, "--create", cwd=tmp_path)
    assert made.returncode == 0 and where.exists()
    assert evalset("keys", "list", cwd=tmp_path).stdout.count("\tp\t") == 1
    elsewhere = evalset("keys", "list", "--data-dir", str(tmp_path / "other"), cwd=tmp_path)
    assert_readable_failure(elsewhere, f"No evalset database at {tmp_path / 'other' / 'evalset.db'}", "--data-dir")
    from_env = evalset("keys", "list", cwd=tmp_path, env={"EVALSET_DATA_DIR": str(tmp_path / "env")})
    assert_readable_failure(from_env, "from EVALSET_DATA_DIR")


def test_an_empty_database_is_not_an_evalset_database_until_migrated(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).touch()  # an existing, empty file
    assert_readable_failure(evalset("projects", "list", db=db_url), "no evalset tables yet", "evalset migrate")
    migrated = evalset("migrate", db=db_url)
    assert migrated.returncode == 0 and "Migrated the schema from empty" in migrated.stdout
    again = evalset("migrate", db=db_url)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_a_schema_newer_than_the_code_is_refused(db_url: str) -> None:
    assert evalset("migrate", db=db_url).returncode == 0
    from sqlalchemy import text

    from evalset.server.storage import Database

    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'zz99'"))
    db.dispose()
    assert_readable_failure(evalset("keys", "list", db=db_url), "'zz99', newer than this evalset", "upgrade evalset")
    assert_readable_failure(evalset("serve", "--port", "0", db=db_url), "newer than this evalset")


def test_unsupported_and_unreadable_urls(tmp_path: Path) -> None:
    assert_readable_failure(
        evalset("keys", "list", db="mysql://u:p@localhost/x"), "'mysql'", "sqlite:///", "postgresql://"
    )
    assert_readable_failure(evalset("serve", db="not a url"), "Cannot read the database URL", "postgresql://")
    bad_level = evalset("serve", "--data-dir", str(tmp_path), env={"EVALSET_LOG_LEVEL": "loud"})
    assert_readable_failure(bad_level, "invalid setting EVALSET_LOG_LEVEL: Input should be 'debug'")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_postgresql_not_answering_or_refusing_the_user(pg_url: str) -> None:
    down = f"postgresql://postgres:sekret@127.0.0.1:{_free_port()}/evalset"
    result = evalset("keys", "list", db=down)
    assert_readable_failure(result, "Cannot connect to PostgreSQL at 127.0.0.1:", "nothing answers", "--db")
    assert "sekret" not in result.stderr and "postgres:***@" in result.stderr  # the Database line masks it
    nobody = pg_url.replace("postgres@", "nobody_here:pw@")
    assert_readable_failure(evalset("keys", "list", db=nobody), "has no user 'nobody_here'", "--db")


def test_wrong_password_message() -> None:
    """The local server trusts every user, so a refused password is shown with PostgreSQL's own error text."""
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from evalset.server.storage.setup import _connect_failure

    text = 'connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  password authentication failed for user "app"'  # noqa: E501
    error = OperationalError("SELECT 1", {}, psycopg.OperationalError(text))
    message = _connect_failure(make_url("postgresql+psycopg://app:x@10.0.0.5/evalset"), error)
    assert message.startswith("PostgreSQL at 10.0.0.5:5432 refused user 'app': wrong or missing password.")


def test_a_missing_postgresql_database_is_explained_or_created_by_serve(pg_url: str, tmp_path: Path) -> None:
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    name = f"evalset_missing_{os.getpid()}"
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        result = evalset("keys", "list", db=url)
        assert_readable_failure(
            result, f"database '{name}' does not exist", f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}"
        )
        with psycopg.connect(PG_ADMIN_URL) as admin:
            assert admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None
        server = start_server(url, tmp_path / "serve.log")  # serve may create it
        try:
            with httpx.Client(base_url=server.base_url) as client:
                assert client.get("/health").status_code == 200
            assert (
                f"Created the PostgreSQL database '{name}' on 127.0.0.1:5432." in (tmp_path / "serve.log").read_text()
            )
        finally:
            stop_server(server)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_port_in_use_names_the_port_and_the_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = evalset("serve", "--port", str(port), "--data-dir", str(tmp_path))
    assert_readable_failure(result, f"Port {port} on 127.0.0.1 is already in use", "--port")


def test_a_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert_readable_failure(
        evalset("serve", "--data-dir", str(blocked / "data")), f"Cannot create the data directory {blocked / 'data'}"
    )
    import tempfile

    locked = Path(tempfile.mkdtemp(prefix="evalset-locked-"))  # in /tmp: other users may enter it
    locked.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anywhere: run the command as `nobody`
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            command += [sys.executable, "-m", "evalset.server.cli", "serve", "--data-dir", str(locked)]
            result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        else:
            result = evalset("serve", "--data-dir", str(locked))
    finally:
        locked.rmdir()
    assert_readable_failure(result, f"The data directory {locked} is not writable", "--data-dir")


def test_serve_on_an_empty_database_prints_url_and_a_working_key(db_url: str, tmp_path: Path) -> None:
    server = start_server(db_url, tmp_path / "serve.log")
    try:
        output = (tmp_path / "serve.log").read_text()
        (key,) = re.findall(r"^evalset_\S+$", output, re.MULTILINE)
        assert re.search(r"^evalset \d+\.\d+", output, re.MULTILINE) and "Database: " in output
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}) as client:
            assert client.post("/v1/datasets/", json={"name": "first"}).status_code == 201
            assert [d["name"] for d in client.get("/v1/datasets").json()] == ["first"]
    finally:
        stop_server(server)
    again = start_server(db_url, tmp_path / "again.log")  # not empty any more: no new key, but how to make one
    try:
        text = (tmp_path / "again.log").read_text()
        assert not re.search("^evalset_", text, re.MULTILINE) and "Lost the first key? Make another: evalset" in text
        assert "keys create --project default" in text
    finally:
        stop_server(again)


def test_backup_copies_a_live_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    secret = evalset("keys", "create", "--project", "p", "--scope", READ, "--create", db=url).stdout.split()[-1]
    server = start_server(url, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {secret}"}) as client:
            assert client.get("/v1/datasets/").status_code == 200
        copy = tmp_path / "copy.db"
        done = evalset("backup", str(copy), db=url)
        assert done.returncode == 0, done.stderr
        assert "To restore" in done.stdout
        assert "\tp\t" in evalset("keys", "list", db=f"sqlite:///{copy}").stdout
        assert_readable_failure(evalset("backup", str(copy), db=url), "exists already")
    finally:
        stop_server(server)


def test_backup_of_postgresql_points_to_pg_dump(pg_url: str, tmp_path: Path) -> None:
    assert evalset("migrate", db=pg_url).returncode == 0
    assert_readable_failure(evalset("backup", str(tmp_path / "pg.db"), db=pg_url), "pg_dump")


def test_the_server_does_not_load_the_http_client() -> None:
    """Start-up time: `evalset serve` imports neither httpx nor the SDK's clients (nor pydantic-evals)."""
    code = (
        "import sys, evalset.server.app, evalset.server.cli;"
        "print(sorted(m for m in ('httpx', 'evalset._client', 'pydantic_evals') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "[]"


def test_a_sqlite_server_does_not_load_postgresql(tmp_path: Path) -> None:
    """Start-up time: an app on an existing SQLite database imports neither psycopg nor SQLAlchemy's PostgreSQL
    dialect package (migrating imports them: the migrations name PostgreSQL's types and options)."""
    url = f"sqlite:///{tmp_path / 'e.db'}"
    assert evalset("migrate", db=url).returncode == 0
    code = (
        "import sys;"
        "from evalset.server.app import create_app; from evalset.server.settings import Settings;"
        "from evalset.server.storage import Database;"
        f"create_app(Settings(), db=Database({url!r}));"
        "print(sorted(m for m in sys.modules if m.startswith(('psycopg', 'sqlalchemy.dialects.postgresql'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize("where", ["before", "after"])
def test_help_lists_the_server_commands_and_where_the_data_is(where: str) -> None:
    result = evalset("--help") if where == "before" else evalset("keys", "list", "--help")
    assert result.returncode == 0
    assert "--db URL" in result.stdout and "--data-dir" in result.stdout
    if where == "before":
        assert all(command in result.stdout for command in ("serve", "migrate", "backup", "keys", "push", "pull"))
        assert "EVALSET_DATABASE_URL" in result.stdout and "server extra" not in result.stdout
