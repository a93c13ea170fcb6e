"""Page routes, one module per area; each route parses, calls one service, renders."""

from evalset.server.web.routes import add_to_dataset, auth, cases, datasets, evals, keys, live, upload

ROUTERS = [
    auth.router,
    datasets.router,
    cases.router,
    upload.router,
    live.router,
    add_to_dataset.router,
    evals.router,
    keys.router,
]

__all__ = ["ROUTERS"]
