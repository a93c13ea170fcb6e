"""Page routes, one module per area; each route parses, calls one service, renders."""

from evalset.server.web.routes import add_to_dataset, auth, cases, datasets, keys, live, upload

ROUTERS = [auth.router, datasets.router, cases.router, upload.router, keys.router, live.router, add_to_dataset.router]

__all__ = ["ROUTERS"]
