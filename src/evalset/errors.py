# pyright: strict
"""Exceptions raised by the evalset clients.

```
DatasetApiError               the server answered with an error: status_code, detail, errors
├── DatasetNotFoundError      404: no dataset with that id or name in the key's project
├── CaseNotFoundError         404: no case with that id in the dataset
├── ExperimentNotFoundError   404: no experiment with that id in the key's project
└── VersionConflictError      412: update_case(if_match=...) named a version that is no longer current
```

Catch `DatasetApiError` for any failure the server reported. Connection failures that
outlast the retries surface as `httpx.TransportError` (e.g. `httpx.ConnectError`).
"""

from __future__ import annotations

import re
from typing import Any

from evalset.types import ApiErrorItem

__all__ = [
    "DatasetApiError",
    "DatasetNotFoundError",
    "CaseNotFoundError",
    "ExperimentNotFoundError",
    "VersionConflictError",
]


class DatasetApiError(Exception):
    """The server answered with an error status.

    Attributes:
        status_code: The HTTP status.
        detail: The server's one-sentence explanation.
        errors: For a 422, every violation: case index and name, field, JSON pointer, message.
        body: The whole parsed response body (JSON), or its text.
    """

    def __init__(
        self,
        status_code: int,
        detail: Any,
        *,
        errors: list[ApiErrorItem] | None = None,
        body: Any = None,
        hint: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.detail = detail
        self.errors: list[ApiErrorItem] = list(errors or [])
        self.body = body
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        lines = [f"API error {self.status_code}: {self.detail}"]
        lines.extend(f"  - {_describe_violation(item)}" for item in self.errors)
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)

    def _add_context(self, note: str, *, case_offset: int = 0) -> None:
        """Say which part of a chunked upload failed; shift case indexes to count from the upload's start
        (in `errors` and in the server's headline, which names the first of them)."""
        first = next((item["case_index"] for item in self.errors if item.get("case_index") is not None), None)
        if case_offset and first is not None and isinstance(self.detail, str):
            self.detail = re.sub(rf"\bcase {first}\b", f"case {first + case_offset}", self.detail, count=1)
        for item in self.errors:
            if item.get("case_index") is not None:
                item["case_index"] = (item["case_index"] or 0) + case_offset
        self.hint = f"{self.hint}\n{note}" if self.hint else note
        self.args = (self._message(),)


class DatasetNotFoundError(DatasetApiError):
    """No dataset with that id or name exists in the key's project."""

    def __init__(self, detail: Any = "Dataset not found", *, dataset: str | None = None, body: Any = None) -> None:
        self.dataset = dataset
        hint = "Check the name or id: list_datasets() shows the datasets this key can see."
        super().__init__(404, detail, body=body, hint=hint)

    def _message(self) -> str:
        where = f" ({self.dataset!r})" if self.dataset else ""
        return f"Dataset not found{where}. {self.hint}"


class CaseNotFoundError(DatasetApiError):
    """No case with that id exists in the dataset (deleted cases can be brought back with restore_case)."""

    def __init__(
        self, detail: Any = "Case not found", *, dataset: str | None = None, case: str | None = None, body: Any = None
    ) -> None:
        self.dataset = dataset
        self.case = case
        hint = "Check the case id: list_cases() shows the cases of the dataset."
        super().__init__(404, detail, body=body, hint=hint)

    def _message(self) -> str:
        where = f" ({self.case!r} in dataset {self.dataset!r})" if self.case and self.dataset else ""
        return f"Case not found{where}. {self.hint}"


class ExperimentNotFoundError(DatasetApiError):
    """No experiment with that id exists in the key's project."""

    def __init__(
        self, detail: Any = "Experiment not found", *, experiment: str | None = None, body: Any = None
    ) -> None:
        self.experiment = experiment
        hint = "Check the experiment id: list_experiments() shows the experiments this key can see."
        super().__init__(404, detail, body=body, hint=hint)

    def _message(self) -> str:
        return f"{self.detail} {self.hint}"


class VersionConflictError(DatasetApiError):
    """The case changed since the version given as `if_match`; reload it and apply the change again."""

    def __init__(self, detail: Any, *, current_version: int | None = None, body: Any = None) -> None:
        self.current_version = current_version
        super().__init__(412, detail, body=body)


def _describe_violation(item: ApiErrorItem) -> str:
    """One readable line for a 422 violation: `case 3 ('name'), field 'inputs' at '/q': message`."""
    parts: list[str] = []
    index, name = item.get("case_index"), item.get("case_name")
    if index is not None:
        parts.append(f"case {index}" + (f" ({name!r})" if name else ""))
    elif name:
        parts.append(f"case {name!r}")
    field, pointer = item.get("field") or "body", item.get("pointer") or ""
    parts.append(f"field {field!r}" + (f" at {pointer!r}" if pointer else ""))
    return ", ".join(parts) + f": {item.get('message', '')}"
