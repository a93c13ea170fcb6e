"""`evalset serve`: build the app on an open database, listen, announce, run uvicorn."""

from __future__ import annotations

import errno
import gc
import socket

from evalset.server.logs import start_log
from evalset.server.settings import Settings
from evalset.server.storage import Database
from evalset.server.storage.setup import DatabaseProblem, describe, upgrade

__all__ = ["serve", "ListenProblem", "listen"]


class ListenProblem(DatabaseProblem):
    """The server cannot listen where asked; the message says why and what to do."""


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or a ListenProblem naming the address and the option that changes it."""
    try:
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ListenProblem(
                f"Port {port} on {host} is already in use (another evalset serve?): choose another with "
                "--port (or EVALSET_PORT), or stop the process using it."
            ) from None
        if error.errno == errno.EACCES:
            raise ListenProblem(f"Not allowed to listen on port {port}: use a port above 1023 with --port.") from None
        raise ListenProblem(f"Cannot listen on {host}:{port} ({error.strerror or error}): check --host.") from None
    sock.listen(2048)  # before the URL is announced: from then on, connections queue instead of being refused
    return sock


def serve(settings: Settings, db: Database, *, host: str | None, port: int | None, lost_key_hint: str) -> int:
    import uvicorn

    from evalset.server.app import create_app
    from evalset.server.services.keys import bootstrap

    host = host or settings.host
    port = settings.port if port is None else port
    sock = listen(host, port)  # first: a taken port fails before anything is written
    start_log.info(f"Database: {describe(db.url)}", extra={"fields": {"database": describe(db.url)}})
    before = upgrade(db)
    if not before.ready:
        start_log.info(f"Migrated the database schema from {before.current or 'empty'} to {before.head}.")
    app = create_app(settings, db=db)
    first_key = bootstrap(db)
    # Everything loaded so far lives as long as the process: move it out of the cyclic collector's way,
    # so full collections during a 10,000-case import do not walk every module, class and route.
    gc.collect()
    gc.freeze()
    url = f"http://{host}:{sock.getsockname()[1]}"
    if first_key:
        start_log.info(
            "Created project 'default' and its first API key (shown only this once; it signs in to the web UI):"
        )
        start_log.info(first_key)
    else:
        start_log.info(lost_key_hint)
    start_log.info(f"evalset is serving at {url}  (API docs: {url}/docs)", extra={"fields": {"url": url}})
    admin = " or the admin password" if settings.resolved_admin_password() else ""
    start_log.info(f"Web UI: {url}/  (sign in with an API key{admin})", extra={"fields": {"web_url": url + "/"}})
    config = uvicorn.Config(app, log_config=None, access_log=False, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0
