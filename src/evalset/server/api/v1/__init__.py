"""Version 1 of the JSON API, mounted at /v1."""

from fastapi import APIRouter

from evalset.server.api.v1 import cases, datasets, experiments, traces

router = APIRouter(prefix="/v1", redirect_slashes=False)
"""Every route is declared with its trailing slash; `app.TrailingSlash` serves the paths without it."""
router.include_router(datasets.router)
router.include_router(cases.router)
router.include_router(experiments.router)
router.include_router(traces.router)

__all__ = ["router"]
