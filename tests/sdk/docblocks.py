"""Python code blocks of Markdown docs, and running them (top-level `await` included) against the live server."""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
import textwrap
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    doc: str
    line: int
    code: str

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def python_blocks(path: Path) -> list[Block]:
    """Every ```python block of a Markdown file, with the line it starts on."""
    text = path.read_text(encoding="utf-8")
    return [
        Block(path.stem, text.count("\n", 0, match.start()) + 1, textwrap.dedent(match.group(1)))
        for match in _FENCE.finditer(text)
    ]


@contextmanager
def doc_module(name: str) -> Iterator[dict[str, Any]]:
    """A throw-away module to run blocks in (dataclasses and pydantic look their module up in sys.modules)."""
    module = types.ModuleType(name)
    sys.modules[name] = module
    try:
        yield module.__dict__
    finally:
        del sys.modules[name]


def run_block(code: str, namespace: dict[str, Any], filename: str) -> None:
    """Execute a block as a notebook cell would: top-level `await` / `async with` run on a fresh event loop."""
    compiled = compile(code, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    result = eval(compiled, namespace)  # noqa: S307 - our own docs
    if inspect.iscoroutine(result):
        asyncio.run(result)


def imports_of(blocks: list[Block]) -> str:
    """The top-level import statements of these blocks: what a reader's session has imported so far."""
    lines: list[str] = []
    for block in blocks:
        tree = ast.parse(block.code)
        lines.extend(ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom)))
    return "\n".join(lines)
