"""`pip install evalset` (the SDK alone): the `evalset` command runs, its file commands work, and its server
commands say to install `evalset[server]` instead of failing with an ImportError.

The environment is real: a virtual environment holding only evalset and the distributions its base
requirements pull in (computed from the installed metadata, as pip would resolve them), so fastapi,
uvicorn, SQLAlchemy and the rest are really absent.
"""

from __future__ import annotations

import importlib.metadata as metadata
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

SRC = Path(__file__).resolve().parents[3] / "src" / "evalset"


def base_closure() -> set[str]:
    """The distributions `pip install evalset` installs: evalset's requirements without extras, recursively."""
    seen: set[str] = set()
    pending = [Requirement(r) for r in metadata.distribution("evalset").requires or []]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        pending.extend(Requirement(r) for r in metadata.distribution(name).requires or [])
    return seen


@pytest.fixture(scope="module")
def sdk_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sdk-only")
    venv.create(root, with_pip=False, symlinks=True)
    site = root / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for name in base_closure():
        dist = metadata.distribution(name)
        for top in {Path(str(file)).parts[0] for file in dist.files or []}:
            source = Path(str(dist.locate_file(top)))
            if top not in ("..", "bin", "__pycache__") and source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    (site / "evalset").symlink_to(SRC)
    return root / "bin" / "python"


def run(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "evalset.server.cli", *args], capture_output=True, text=True, timeout=120, cwd=python.parent
    )


def test_the_environment_really_lacks_the_server_packages(sdk_python: Path) -> None:
    names = ("fastapi", "uvicorn", "sqlalchemy", "pydantic_evals")
    code = f"import importlib.util as u; print([m for m in {names!r} if u.find_spec(m)])"
    found = subprocess.run([str(sdk_python), "-c", code], capture_output=True, text=True, timeout=60)
    assert found.stdout.strip() == "['pydantic_evals']", found.stderr


@pytest.mark.parametrize(
    "command", [["serve"], ["keys", "list"], ["migrate"], ["projects", "list", "--db", "sqlite:///x"]]
)
def test_server_commands_say_what_to_install(sdk_python: Path, command: list[str]) -> None:
    result = run(sdk_python, *command)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "pip install 'evalset[server]'" in result.stderr
    assert "fastapi" in result.stderr  # what is missing


def test_help_shows_which_commands_need_the_extra(sdk_python: Path) -> None:
    result = run(sdk_python, "--help")
    assert result.returncode == 0
    assert "needs the server extra" in result.stdout and "not installed here" in result.stdout
    assert run(sdk_python, "--version").stdout.startswith("evalset ")


def test_dataset_commands_work_without_the_extra(sdk_python: Path, tmp_path: Path) -> None:
    result = run(sdk_python, "datasets", "list", "--api-key", "evalset_x", "--base-url", "http://127.0.0.1:9")
    assert result.returncode == 1 and "cannot reach the evalset server at http://127.0.0.1:9/" in result.stderr
    assert "Traceback" not in result.stderr
    source = tmp_path / "x.yaml"
    source.write_text("cases:\n- inputs: 1\n")
    pushed = run(sdk_python, "push", str(source), "--api-key", "evalset_x", "--base-url", "http://127.0.0.1:9")
    assert pushed.returncode == 1 and "cannot reach" in pushed.stderr  # parsed the file, then tried the server
