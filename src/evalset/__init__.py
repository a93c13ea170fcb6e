# pyright: strict
"""evalset: self-hosted managed evaluation datasets for pydantic-evals.

```python
from evalset import DatasetsClient

with DatasetsClient(api_key='...', base_url='http://127.0.0.1:8000') as client:
    client.push_dataset(my_local_dataset)
    dataset = client.export_dataset('my-dataset', MyInput, MyOutput)
```

The SDK needs only httpx, pydantic and pydantic-evals; the server lives in `evalset.server`
(the `server` extra) and is never imported from here.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from evalset._version import __version__

if TYPE_CHECKING:
    from evalset._client import AsyncDatasetsClient, DatasetsClient
    from evalset.errors import (
        CaseNotFoundError,
        DatasetApiError,
        DatasetNotFoundError,
        ExperimentNotFoundError,
        VersionConflictError,
    )
    from evalset.types import (
        CaseData,
        CaseDetail,
        CaseRevision,
        DatasetDetail,
        DatasetSummary,
        EvaluationRun,
        EvaluatorSpec,
        ExperimentCase,
        ExperimentComparison,
        ExperimentDetail,
        ExperimentSummary,
        ExportedCase,
        ExportedDataset,
    )

    LogfireDatasetsClient = DatasetsClient
    AsyncLogfireDatasetsClient = AsyncDatasetsClient

# The public names load on first use (PEP 562), so `import evalset.server...` (the server lives in
# this package too) does not pay for httpx and the clients at start-up.
_LAZY: dict[str, tuple[str, str]] = {
    "DatasetsClient": ("evalset._client", "DatasetsClient"),
    "AsyncDatasetsClient": ("evalset._client", "AsyncDatasetsClient"),
    # The names Logfire's docs use: seed examples run after changing only their import line.
    "LogfireDatasetsClient": ("evalset._client", "DatasetsClient"),
    "AsyncLogfireDatasetsClient": ("evalset._client", "AsyncDatasetsClient"),
    **{
        name: ("evalset.errors", name)
        for name in (
            "DatasetApiError",
            "DatasetNotFoundError",
            "CaseNotFoundError",
            "ExperimentNotFoundError",
            "VersionConflictError",
        )
    },
    **{
        name: ("evalset.types", name)
        for name in (
            "DatasetSummary",
            "DatasetDetail",
            "CaseDetail",
            "CaseData",
            "CaseRevision",
            "EvaluatorSpec",
            "ExportedCase",
            "ExportedDataset",
            "ExperimentSummary",
            "ExperimentDetail",
            "ExperimentCase",
            "ExperimentComparison",
            "EvaluationRun",
        )
    },
}


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'evalset' has no attribute {name!r}") from None
    value = getattr(import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "__version__",
    "DatasetsClient",
    "AsyncDatasetsClient",
    "LogfireDatasetsClient",
    "AsyncLogfireDatasetsClient",
    "DatasetApiError",
    "DatasetNotFoundError",
    "CaseNotFoundError",
    "ExperimentNotFoundError",
    "VersionConflictError",
    "DatasetSummary",
    "DatasetDetail",
    "CaseDetail",
    "CaseData",
    "CaseRevision",
    "EvaluatorSpec",
    "ExportedCase",
    "ExportedDataset",
    "ExperimentSummary",
    "ExperimentDetail",
    "ExperimentCase",
    "ExperimentComparison",
    "EvaluationRun",
]
