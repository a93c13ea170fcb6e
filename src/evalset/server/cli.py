"""The `evalset` command: serve, projects and keys (dataset push/pull arrive with the SDK)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from evalset._cli import DATASET_COMMANDS, add_dataset_commands, run_dataset_command
from evalset.server.domain.auth import SCOPES

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="evalset", description="Self-hosted managed evaluation datasets.")
    parser.add_argument(
        "--db",
        default=os.environ.get("EVALSET_DATABASE_URL"),
        metavar="URL",
        help="database URL (postgresql://... or sqlite:///path); default: $EVALSET_DATABASE_URL, "
        "else SQLite in $EVALSET_DATA_DIR (./.evalset)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the server (creates a first key on an empty database)")
    serve.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000; 0 picks a free one)")

    projects = commands.add_parser("projects", help="manage projects").add_subparsers(dest="action", required=True)
    projects.add_parser("create", help="create a project").add_argument("name")
    projects.add_parser("list", help="list projects")

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="action", required=True)
    create = keys.add_parser("create", help="create a key; prints it alone on the last line")
    create.add_argument("--project", required=True, help="project name (created if missing)")
    create.add_argument("--scope", action="append", required=True, choices=SCOPES, help="repeatable")
    create.add_argument("--name", default=None, help="a label for the key")
    keys.add_parser("list", help="list keys (never the secrets)").add_argument("--project", default=None)
    keys.add_parser("revoke", help="revoke a key").add_argument("key", help="the key, or its 12-character id")
    add_dataset_commands(commands)
    return parser


def _settings(args: argparse.Namespace):  # noqa: ANN202
    from evalset.server.settings import Settings

    settings = Settings()
    if args.db:
        settings.database_url = args.db
    return settings


def _database(args: argparse.Namespace):  # noqa: ANN202
    from evalset.server.storage import Database, migrate

    db = Database(_settings(args).resolved_database_url())
    migrate(db)
    return db


def _serve(args: argparse.Namespace) -> int:
    import gc
    import socket

    import uvicorn

    from evalset.server.app import create_app
    from evalset.server.services.keys import bootstrap

    settings = _settings(args)
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    app = create_app(settings)
    first_key = bootstrap(app.state.db)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # before the URL is announced: from then on, connections queue instead of being refused
    # Everything loaded so far lives as long as the process: move it out of the cyclic collector's way,
    # so full collections during a 10,000-case import do not walk every module, class and route.
    gc.collect()
    gc.freeze()
    url = f"http://{host}:{sock.getsockname()[1]}"
    print(f"evalset is serving at {url}  (API docs: {url}/docs)", flush=True)
    if first_key:
        print("Created project 'default' and its first API key (shown only this once):", flush=True)
        print(first_key, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _projects(args: argparse.Namespace) -> int:
    from evalset.server.services import keys

    db = _database(args)
    if args.action == "create":
        project = keys.ensure_project(db, name=args.name)
        print(f"{project['name']}\t{project['id']}")
    else:
        for project in keys.list_projects(db):
            print(f"{project['name']}\t{project['id']}")
    return 0


def _keys(args: argparse.Namespace) -> int:
    from evalset.server.services import keys

    db = _database(args)
    if args.action == "create":
        secret, row = keys.create_key(db, project=args.project, scopes=args.scope, name=args.name)
        print(f"Created key {row['lookup']} ({row['name']}) for project {args.project!r} with {row['scopes']}.")
        print("Store it now: it is shown only this once.")
        print(secret)
    elif args.action == "list":
        for row in keys.list_keys(db, project=args.project):
            state = "revoked" if row["revoked_at"] else "active"
            print(f"{row['lookup']}\t{row['project_name']}\t{row['name']}\t{row['scopes']}\t{state}")
    else:
        if not keys.revoke_key(db, key=args.key):
            print(f"No active key {args.key!r}.", file=sys.stderr)
            return 1
        print("Revoked.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in DATASET_COMMANDS:
        return run_dataset_command(args)
    handler = {"serve": _serve, "projects": _projects, "keys": _keys}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
