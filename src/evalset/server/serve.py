"""`evalset serve`: build the app on an open database, listen, announce, run uvicorn."""

from __future__ import annotations

import errno
import gc
import os
import socket
import threading
from typing import Any

from pydantic import SecretStr

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
    workers = settings.workers or os.cpu_count() or 1
    app = create_app(settings, db=db) if workers == 1 else None  # workers build their own
    first_key = bootstrap(db)
    settle_start_up_objects()
    if app is not None:
        finish_start_up()
    url = f"http://{host}:{sock.getsockname()[1]}"
    if first_key:
        start_log.info(
            "Created project 'default' and its first API key (shown only this once; it signs in to the web UI):"
        )
        start_log.info(first_key)
    else:
        start_log.info(lost_key_hint)
    if workers > 1:
        start_log.info(f"Serving with {workers} worker processes.", extra={"fields": {"workers": workers}})
    start_log.info(f"evalset is serving at {url}  (API docs: {url}/docs)", extra={"fields": {"url": url}})
    admin = " or the admin password" if settings.resolved_admin_password() else ""
    start_log.info(f"Web UI: {url}/  (sign in with an API key{admin})", extra={"fields": {"web_url": url + "/"}})
    if app is not None:
        config = uvicorn.Config(app, log_config=None, access_log=False, server_header=False)
        uvicorn.Server(config).run(sockets=[sock])
        return 0
    return _run_workers(settings, db, sock, workers)


# --- several processes -------------------------------------------------------------------------
# `--workers N`: uvicorn's supervisor starts N fresh interpreters that share the listening socket (the
# kernel spreads connections over them) and restarts any that dies. What must happen once happened
# above, in this process, before any worker starts: migrations, the first key. Each worker builds the
# app from the same settings (passed in the environment: spawned processes do not inherit objects) and
# has its own connection pool and background threads (a key's last-use write, statistics refresh),
# which are safe to run in several processes. Keys are checked per request against the database's
# keys stamp, so a revocation reaches every worker at once; web sessions are signed with a secret
# stored in the database, so every worker accepts them.


def _run_workers(settings: Settings, db: Database, sock: socket.socket, workers: int) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    db.dispose()  # the workers open their own connections
    for name, value in settings:
        if value is None or name == "workers":
            continue
        os.environ[f"EVALSET_{name.upper()}"] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    os.environ["EVALSET_DATABASE_URL"] = db.url
    config = uvicorn.Config(
        "evalset.server.serve:worker_app",
        factory=True,
        workers=workers,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    Multiprocess(config, sockets=[sock]).run()
    return 0


def worker_app() -> Any:
    """The app of one worker process (see _run_workers): settings from the environment the parent set."""
    from evalset.server.allocator import tune_malloc
    from evalset.server.app import create_app
    from evalset.server.logs import configure_logging

    gc.disable()  # as in `serve`
    tune_malloc()
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    settle_start_up_objects()
    finish_start_up()
    return app


def settle_start_up_objects() -> None:
    """Turn the cyclic garbage collector back on (the command turned it off for start-up: its automatic
    collections during the imports walked what was made so far again and again, to free next to nothing),
    with everything loaded so far moved out of its way: that lives as long as the process, and full
    collections during a 10,000-case import need not walk every module, class and route.

    Frozen without a collection first: one would walk all ~85,000 objects (about 0.05 s of CPU, which the
    first request waited for) to free ~700 (0.3 MB: mostly classes that `dataclass(slots=True)` and pydantic
    made and replaced at import), which now stay for the process's life. Not collecting and not freezing
    would not save it: every object made during start-up is still in the youngest generation, so the first
    automatic collection would walk them all."""
    gc.freeze()
    gc.enable()


def finish_start_up() -> None:
    """Build, on a thread of its own, what the first answer did not need and later requests would build on
    first use: the API's deferred models and body validators (about 0.015 s of CPU). Built here, they are
    not counted against the first import's memory, nor its time; a request that needs one meanwhile builds it
    itself (pydantic builds a model under a lock; an adapter built twice is built in full both times)."""
    from evalset.server.api.inputs import build_deferred
    from evalset.server.api.v1.models import Record

    def build() -> None:
        Record.build_all()
        build_deferred()

    threading.Thread(target=build, name="evalset-finish-start-up", daemon=True).start()
