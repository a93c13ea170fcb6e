"""Version 1 of the JSON API, mounted at /v1."""

from fastapi import APIRouter, Depends

from evalset.server.api.inputs import check_request
from evalset.server.api.v1 import cases, datasets, experiments, traces

PREFIX = "/v1"
router = APIRouter(redirect_slashes=False, dependencies=[Depends(check_request)])
"""Include it with `prefix=PREFIX`. Every route is declared with its trailing slash; `app.TrailingSlash` serves
the paths without it. (Given at inclusion, the prefix also spares FastAPI's check of a prefix-less inclusion,
which would analyse every route at start-up: see `evalset.server.routing`.)"""
router.include_router(datasets.router)
router.include_router(cases.router)
router.include_router(experiments.router)
router.include_router(traces.router)

__all__ = ["PREFIX", "router"]
