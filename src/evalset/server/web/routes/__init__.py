"""Page routes, one module per area; each route parses, calls one service, renders."""

from evalset.server.web.routes import auth, cases, datasets, evals, keys, upload

ROUTERS = [auth.router, datasets.router, cases.router, upload.router, evals.router, keys.router]

__all__ = ["ROUTERS"]
