"""The public surface: exports, sync/async twins, the seed reference table, and no server imports."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import evalset
from evalset import AsyncDatasetsClient, AsyncLogfireDatasetsClient, DatasetsClient, LogfireDatasetsClient
from evalset._client import AsyncDatasetsClient as AsyncImpl

LIFECYCLE = {"close", "aclose"}  # httpx's naming: close() on the sync client, aclose() on the async one
SEED_REFERENCE = Path(__file__).parent / "seed_docs" / "managed-datasets-overview.md"


def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_") and name not in LIFECYCLE
    }


def test_exports() -> None:
    from evalset import CaseNotFoundError, DatasetApiError, DatasetNotFoundError

    assert LogfireDatasetsClient is DatasetsClient
    assert AsyncLogfireDatasetsClient is AsyncDatasetsClient
    assert issubclass(DatasetNotFoundError, DatasetApiError) and issubclass(CaseNotFoundError, DatasetApiError)
    assert set(evalset.__all__) <= set(dir(evalset))
    assert evalset.__version__


def test_sync_and_async_clients_have_identical_methods_and_signatures() -> None:
    sync, asynchronous = public_methods(DatasetsClient), public_methods(AsyncDatasetsClient)
    assert sorted(sync) == sorted(asynchronous)
    assert len(sync) >= 17
    for name, signature in sync.items():
        assert str(signature) == str(asynchronous[name]), name
        assert inspect.iscoroutinefunction(getattr(AsyncImpl, name)), name
        assert not inspect.iscoroutinefunction(getattr(DatasetsClient, name)), name
    assert inspect.signature(DatasetsClient.__init__).parameters.keys() == (
        inspect.signature(AsyncDatasetsClient.__init__).parameters.keys()
    )


def test_every_method_and_parameter_of_the_seed_reference_exists() -> None:
    """The SDK reference table of the seed docs, row by row: `method(params)` exists with those parameters."""
    table = SEED_REFERENCE.read_text().split("### LogfireDatasetsClient", 1)[1].split("### Exceptions", 1)[0]
    rows = re.findall(r"^\| `(\w+)\(([^)]*)\)`", table, re.MULTILINE)
    assert len(rows) == 14
    for name, params in rows:
        for client in (DatasetsClient, AsyncDatasetsClient):
            signature = inspect.signature(getattr(client, name))
            wanted = [p.strip(" *") for p in params.split(",") if p.strip(" *")]
            assert set(wanted) <= set(signature.parameters), (name, wanted)
    guide_extras = {  # parameters the seed guide's prose and examples use beyond the table
        "create_dataset": {"guidance"},
        "add_case": {"tags"},
        "add_cases": {"tags"},
        "create_case": {"tags", "source_trace_id", "source_span_id"},
        "update_case": {"tags"},
        "list_cases": {"tags"},
        "export_dataset": {"custom_evaluator_types"},
    }
    for name, extra in guide_extras.items():
        assert extra <= set(inspect.signature(getattr(DatasetsClient, name)).parameters), name


def test_the_sdk_imports_without_the_server_or_its_dependencies(tmp_path: Path) -> None:
    """The SDK runs with the server extra absent: importing fastapi, sqlalchemy or evalset.server fails here."""
    script = textwrap.dedent(
        """
        import sys

        BLOCKED = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn", "psycopg", "evalset.server")

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                    raise ModuleNotFoundError(f"blocked: {name}")
                return None

        sys.meta_path.insert(0, Blocker())

        import httpx
        import evalset
        from evalset import DatasetsClient, AsyncDatasetsClient, DatasetNotFoundError
        from evalset import files, _cli, errors, types
        from pydantic_evals import Case, Dataset

        def handler(request):
            assert request.headers["authorization"] == "Bearer k"
            if request.url.path == "/v1/datasets/":
                return httpx.Response(200, json=[])
            return httpx.Response(404, json={"detail": "Dataset not found"})

        http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://evalset.test")
        with DatasetsClient(api_key="k", client=http) as client:
            assert client.list_datasets() == []
            try:
                client.get_dataset("missing")
            except DatasetNotFoundError:
                pass
            else:
                raise AssertionError("expected DatasetNotFoundError")
        files.parse_dataset('{"name": "x", "cases": [{"inputs": 1}]}', "json")
        assert not [m for m in sys.modules if m.startswith(BLOCKED)]
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_sdk_package_never_imports_the_server() -> None:
    """Not even lazily inside a function: every import statement of the SDK modules, checked."""
    sdk = Path(evalset.__file__).parent
    for module in sdk.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not [name for name in names if name.startswith(("evalset.server", "fastapi", "sqlalchemy"))], module
