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

from evalset._client import AsyncDatasetsClient, DatasetsClient
from evalset._version import __version__
from evalset.errors import CaseNotFoundError, DatasetApiError, DatasetNotFoundError, VersionConflictError
from evalset.types import (
    CaseData,
    CaseDetail,
    CaseRevision,
    DatasetDetail,
    DatasetSummary,
    EvaluatorSpec,
    ExportedCase,
    ExportedDataset,
)

LogfireDatasetsClient = DatasetsClient
"""The name Logfire's docs use: seed examples run after changing only their import line."""
AsyncLogfireDatasetsClient = AsyncDatasetsClient
"""The name Logfire's docs use for the async client."""

__all__ = [
    "__version__",
    "DatasetsClient",
    "AsyncDatasetsClient",
    "LogfireDatasetsClient",
    "AsyncLogfireDatasetsClient",
    "DatasetApiError",
    "DatasetNotFoundError",
    "CaseNotFoundError",
    "VersionConflictError",
    "DatasetSummary",
    "DatasetDetail",
    "CaseDetail",
    "CaseData",
    "CaseRevision",
    "EvaluatorSpec",
    "ExportedCase",
    "ExportedDataset",
]
