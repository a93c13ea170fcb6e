"""The `evalset` command: the server and its administration, plus the SDK's dataset file commands.

Server commands (serve, migrate, backup, projects, keys) need the `server` extra; this module imports
nothing of it at load time, so `pip install evalset` (the SDK alone) still gets a working `evalset`
whose push, pull and `datasets list` work and whose server commands say what to install.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib.util import find_spec
from typing import Any

from evalset._cli import DATASET_COMMANDS, add_dataset_commands, run_dataset_command
from evalset._version import __version__
from evalset.server.domain.auth import SCOPES  # a pure module: no server packages needed

__all__ = ["main", "build_parser"]

SERVER_PACKAGES = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "psycopg", "orjson", "jsonschema_rs")
WHERE_HELP = """\
where the data is (one of, first wins):
  --db URL / EVALSET_DATABASE_URL    sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE
  --data-dir DIR / EVALSET_DATA_DIR  SQLite file DIR/evalset.db (default: ./.evalset, from the current folder)
Every server command prints the database it uses (`Database: ...`). Only `serve`, `migrate` and commands
given --create make a new database; the others stop with an error saying where they looked."""


def _missing_server_packages() -> list[str]:
    return [name for name in SERVER_PACKAGES if find_spec(name) is None]


def _server_options(*, suppress: bool) -> argparse.ArgumentParser:
    """The options every server command takes, accepted before or after the command name."""
    options = argparse.ArgumentParser(add_help=False)
    default: Any = argparse.SUPPRESS if suppress else None
    group = options.add_argument_group("database and logs (also accepted before the command)")
    group.add_argument("--db", metavar="URL", default=default, help="database URL (see 'where the data is')")
    group.add_argument("--data-dir", metavar="DIR", default=default, help="folder of the SQLite database")
    group.add_argument(
        "--create",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="create the database if it does not exist (serve and migrate always do)",
    )
    group.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=default)
    group.add_argument("--log-format", choices=("text", "json"), default=default, help="server log format")
    return options


def build_parser() -> argparse.ArgumentParser:
    missing = _missing_server_packages()
    needs = " [needs the server extra: pip install 'evalset[server]']" if missing else ""
    parser = argparse.ArgumentParser(
        prog="evalset",
        description="Self-hosted managed evaluation datasets.",
        epilog=WHERE_HELP
        + (
            "\n\nServer commands (serve, migrate, backup, projects, keys) need the server extra, which is not "
            "installed here: pip install 'evalset[server]'. push, pull and datasets work with the SDK alone."
            if missing
            else ""
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_server_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"evalset {__version__}")
    server = [_server_options(suppress=True)]
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", parents=server, help="run the server (creates the database and a first key)" + needs
    )
    serve.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000; 0 picks a free one)")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="server processes sharing the port (default 1; 0: one per CPU core; see docs/performance.md)",
    )
    serve.add_argument(
        "--admin-password-file",
        default=None,
        metavar="PATH",
        help="file holding the web UI's admin password (or set $EVALSET_ADMIN_PASSWORD)",
    )

    commands.add_parser("migrate", parents=server, help="create or upgrade the database schema, then exit" + needs)
    backup = commands.add_parser("backup", parents=server, help="copy a live SQLite database to a file" + needs)
    backup.add_argument("file", help="the new backup file")

    projects = commands.add_parser("projects", parents=server, help="manage projects" + needs)
    project_actions = projects.add_subparsers(dest="action", required=True)
    project_actions.add_parser("create", parents=server, help="create a project").add_argument("name")
    project_actions.add_parser("list", parents=server, help="list projects")

    keys = commands.add_parser("keys", parents=server, help="manage API keys" + needs)
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", parents=server, help="create a key; prints it alone on the last line")
    create.add_argument("--project", required=True, help="project name (created if missing)")
    create.add_argument("--scope", action="append", required=True, choices=SCOPES, help="repeatable")
    create.add_argument("--name", default=None, help="a label for the key")
    key_actions.add_parser("list", parents=server, help="list keys (never the secrets)").add_argument(
        "--project", default=None
    )
    revoke = key_actions.add_parser("revoke", parents=server, help="revoke a key")
    revoke.add_argument("key", help="the key, or its 12-character id")
    add_dataset_commands(commands)
    return parser


class Failure(Exception):
    """An operator mistake: printed as `evalset COMMAND: message`, exit status 1, no traceback."""


def _settings(args: argparse.Namespace) -> Any:
    from evalset.server.settings import Settings

    overrides = {
        field: getattr(args, option)
        for field, option in (
            ("database_url", "db"),
            ("data_dir", "data_dir"),
            ("log_level", "log_level"),
            ("log_format", "log_format"),
            ("workers", "workers"),
        )
        if getattr(args, option, None) is not None
    }
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:  # a bad EVALSET_* value
        problems = [f"EVALSET_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        raise Failure(f"invalid setting {'; '.join(problems)}.") from None


def _where(settings: Any, args: argparse.Namespace) -> str:
    """Why the database is where it is (for messages about a missing one)."""
    if getattr(args, "db", None):
        return "from --db"
    if os.environ.get("EVALSET_DATABASE_URL"):
        return "from EVALSET_DATABASE_URL"
    if getattr(args, "data_dir", None):
        return "from --data-dir"
    if os.environ.get("EVALSET_DATA_DIR"):
        return "from EVALSET_DATA_DIR"
    return f"the default data dir ./.evalset, in the current folder {os.getcwd()}"


def _open(args: argparse.Namespace, *, create: bool, announce: bool = True, say: Callable[[str], None] = print) -> Any:
    """Settings and database of a server command, after printing which database it is (on stderr, so
    that scripts read stdout alone)."""
    from evalset.server.storage import setup

    settings = _settings(args)
    url = settings.resolved_database_url()
    if announce:
        sys.stderr.write(f"Database: {setup.describe(url)}\n")
    db = setup.open_database(url, create=create or args.create, where=_where(settings, args), announce=say)
    return settings, db


def _admin_database(args: argparse.Namespace) -> Any:
    """The database of an admin command: it must exist with a current schema (or --create makes it)."""
    from evalset.server.storage import setup

    _, db = _open(args, create=False)
    schema = setup.schema_state(db)
    if schema.current is None and not args.create:
        raise Failure(
            "this database has no evalset tables yet: start `evalset serve` on it, or run `evalset migrate` "
            "(or add --create) to create them."
        )
    if not schema.ready and schema.current is not None and not args.create:
        raise Failure(
            f"the database's schema is at revision {schema.current!r}, and this evalset needs {schema.head!r}: "
            "run `evalset migrate` (or start `evalset serve`, which migrates on start)."
        )
    setup.upgrade(db)
    return db


def _serve(args: argparse.Namespace) -> int:
    import gc

    gc.disable()  # start-up makes what lives as long as the process: serve() freezes it and re-enables
    from evalset.server.allocator import tune_malloc

    tune_malloc()  # before start-up allocates: fixed glibc malloc thresholds (allocator.py)
    from evalset.server.logs import configure_logging, start_log
    from evalset.server.serve import serve

    settings = _settings(args)
    if args.admin_password_file:
        from pathlib import Path

        settings.admin_password_file = Path(args.admin_password_file)
        if settings.resolved_admin_password() is None:
            print(f"The admin password file {args.admin_password_file} is empty.", file=sys.stderr)
            return 2
    configure_logging(settings.log_level, settings.log_format)
    start_log.info(f"evalset {__version__}", extra={"fields": {"version": __version__}})
    _, db = _open(args, create=True, announce=False, say=start_log.info)  # serve's start-up lines name it
    return serve(settings, db, host=args.host, port=args.port, lost_key_hint=_lost_key_hint(args))


def _lost_key_hint(args: argparse.Namespace) -> str:
    where = f" --data-dir {args.data_dir}" if args.data_dir else ""
    if args.db:
        from sqlalchemy.engine import make_url

        where = f" --db '{make_url(args.db).render_as_string(hide_password=True)}'"  # never repeat a password
    return (
        f"Lost the first key? Make another: evalset{where} keys create --project default "
        "--scope project:read_datasets --scope project:write_datasets"
    )


def _migrate(args: argparse.Namespace) -> int:
    from evalset.server.storage import setup

    _, db = _open(args, create=True)
    before = setup.upgrade(db)
    if before.ready:
        print(f"The schema is current (revision {before.head}); nothing to do.")
    else:
        print(f"Migrated the schema from {before.current or 'empty'} to revision {before.head}.")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from evalset.server.storage import setup

    db = _admin_database(args)
    target = Path(args.file)
    setup.backup_sqlite(db, target)
    print(f"Backed up to {target} ({target.stat().st_size / 1e6:.1f} MB). To restore: stop the server, then copy it")
    print("over the database file and delete the -wal and -shm files beside it.")
    return 0


def _projects(args: argparse.Namespace) -> int:
    from evalset.server.services import keys

    db = _admin_database(args)
    if args.action == "create":
        project = keys.ensure_project(db, name=args.name)
        print(f"{project['name']}\t{project['id']}")
    else:
        for project in keys.list_projects(db):
            print(f"{project['name']}\t{project['id']}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from evalset.server.services import keys

    db = _admin_database(args)
    if args.action == "create":
        secret, row = keys.create_key(db, project=args.project, scopes=args.scope, name=args.name)
        print(f"Created key {row['lookup']} ({row['name']}) for project {args.project!r} with {row['scopes']}.")
        print("Store it now: it is shown only this once.")
        print(secret)
    elif args.action == "list":
        rows = keys.list_keys(db, project=args.project)
        if not rows:
            sys.stderr.write("No keys" + (f" in project {args.project!r}" if args.project else "") + ".\n")
        for row in rows:
            state = "revoked" if row["revoked_at"] else "active"
            print(f"{row['lookup']}\t{row['project_name']}\t{row['name']}\t{row['scopes']}\t{state}")
    else:
        if not keys.revoke_key(db, key=args.key):
            raise Failure(f"no active key {args.key!r} (`evalset keys list` shows the keys and their ids).")
        print("Revoked.")
    return 0


_SERVER_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "backup": _backup,
    "projects": _projects,
    "keys": _keys,
}


def _run_server_command(args: argparse.Namespace) -> int:
    missing = _missing_server_packages()
    if missing:
        raise Failure(
            f"this command needs the server extra, which is not installed (missing: {', '.join(missing)}): "
            "pip install 'evalset[server]'"
        )
    from evalset.server.errors import EvalsetError
    from evalset.server.storage.setup import DatabaseProblem

    try:
        return _SERVER_COMMANDS[args.command](args)
    except (DatabaseProblem, EvalsetError) as exc:
        raise Failure(str(exc)) from None


def main(argv: Sequence[str] | None = None) -> int:
    # Third-party pydantic plugins (logfire installs one) would be imported at the first model and wrap every
    # validation of evalset's own models; this process configures none of them. PYDANTIC_DISABLE_PLUGINS=""
    # in the environment keeps them.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = build_parser().parse_args(argv)
    command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    try:
        if args.command in DATASET_COMMANDS:
            return run_dataset_command(args)
        return _run_server_command(args)
    except Failure as exc:
        sys.stderr.write(f"evalset {command}: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`evalset datasets list | head -2`): stop quietly, as Unix
        # tools do, and keep Python from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
