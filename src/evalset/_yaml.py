# pyright: strict
"""YAML for dataset files, exactly as PyYAML reads and writes it (YAML 1.1, what `Dataset.from_file` loads), faster.

`load` is `yaml.load(text, Loader=CSafeLoader)` (`SafeLoader` without libyaml) with three shortcuts that
change nothing in the result:

- the garbage collector is paused while the document is built: a dataset file is hundreds of thousands
  of new containers and nodes, and the collections they trigger (each one walking every object built so
  far) were two thirds of the load time of a 20,000-case file;
- the implicit resolver (plain scalar -> tag) uses PyYAML's own regular expressions, grouped by first
  character once per load instead of once per scalar, and skips the path-resolver bookkeeping that the
  safe loader has no use for;
- nodes become Python values in a direct walk for the JSON-like shapes (str, int, float, bool, null,
  timestamp, mappings, sequences); a document with anything else (merge keys `<<`, a collection
  referenced twice by an alias, explicit tags such as `!!set`, collections as keys, constructors someone
  registered) goes to PyYAML's own constructor instead.

`dump` is `yaml.dump(value, Dumper=CSafeDumper, sort_keys=False, allow_unicode=True)`; `_yaml_writer`
writes the same text for dataset cases, faster. tests/sdk/test_yaml.py checks both against PyYAML, on
fixed tricky inputs and with hypothesis.
"""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable, Generator
from contextlib import contextmanager
from typing import Any, cast

__all__ = ["load", "dump", "yaml_module", "implicit_resolver", "STR_TAG"]

_TAG = "tag:yaml.org,2002:"
STR_TAG, _MAP, _SEQ = _TAG + "str", _TAG + "map", _TAG + "seq"
# Scalar tags whose PyYAML constructor is a plain function of the node (no generator, no state).
_SCALAR_TAGS = frozenset(_TAG + name for name in ("null", "bool", "int", "float", "timestamp"))


def yaml_module() -> Any:
    """PyYAML (a dependency of pydantic-evals), imported on first use: it is not needed to start the CLI."""
    try:
        return importlib.import_module("yaml")
    except ModuleNotFoundError:  # pragma: no cover - pydantic-evals depends on PyYAML
        raise ModuleNotFoundError("YAML files need PyYAML: pip install pyyaml") from None


@contextmanager
def _gc_paused() -> Generator[None, None, None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(text: str) -> Any:
    """The data of a YAML document, equal (values and types) to `yaml.load(text, Loader=CSafeLoader)`."""
    yaml = yaml_module()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        with _gc_paused():
            if not loader.yaml_path_resolvers:  # path resolvers need the stock resolver's bookkeeping
                loader.resolve = implicit_resolver(loader, yaml.ScalarNode, yaml.SequenceNode)
                loader.descend_resolver = loader.ascend_resolver = _no_op
            node = loader.get_single_node()
            if node is None:
                return None
            try:
                return _Construct(loader, yaml).run(node)
            except _Unusual:
                return loader.construct_document(node)
    finally:
        loader.dispose()


def dump(value: Any) -> str:
    """`value` as YAML, the way the dataset files are written (block style, keys in order, unicode as is)."""
    yaml = yaml_module()
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return cast(str, yaml.dump(value, Dumper=dumper, sort_keys=False, allow_unicode=True))


def _no_op(*args: Any) -> None:
    return None


def implicit_resolver(
    loader: Any, scalar_node: type, sequence_node: type
) -> Callable[[type, str, tuple[bool, bool]], str]:
    """`BaseResolver.resolve` (without path resolvers) over a table built once: first character -> candidates."""
    implicit: dict[Any, list[tuple[str, Any]]] = loader.yaml_implicit_resolvers
    wildcard = tuple(implicit.get(None, []))
    table = {first: tuple(found) + wildcard for first, found in implicit.items() if first is not None}
    scalar_tag: str = loader.DEFAULT_SCALAR_TAG
    sequence_tag: str = loader.DEFAULT_SEQUENCE_TAG
    mapping_tag: str = loader.DEFAULT_MAPPING_TAG

    def resolve(kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is scalar_node:
            if implicit[0]:
                for tag, regexp in table.get(value[:1], wildcard):
                    if regexp.match(value):
                        return tag
            return scalar_tag
        return sequence_tag if kind is sequence_node else mapping_tag

    return resolve


class _Unusual(Exception):
    """The document needs PyYAML's own constructor."""


class _Construct:
    """Nodes to values for the JSON-like tags, as `SafeConstructor` builds them; `_Unusual` for anything else."""

    def __init__(self, loader: Any, yaml: Any) -> None:
        self.loader = loader
        self.scalar, self.mapping, self.sequence = yaml.ScalarNode, yaml.MappingNode, yaml.SequenceNode
        constructors: dict[str, Any] = loader.yaml_constructors
        stock = yaml.constructor.SafeConstructor
        for name in ("str", "map", "seq", "null", "bool", "int", "float", "timestamp"):
            if constructors.get(_TAG + name) is not getattr(stock, f"construct_yaml_{name}"):
                raise _Unusual  # someone registered their own constructor: PyYAML's path calls it
        self.functions: dict[str, Callable[[Any, Any], Any]] = {tag: constructors[tag] for tag in _SCALAR_TAGS}
        self.seen: set[int] = set()  # collection nodes: one seen twice is an alias, left to PyYAML

    def run(self, node: Any) -> Any:
        try:
            return self.value(node)
        except RecursionError:
            raise _Unusual from None

    def value(self, node: Any) -> Any:
        tag: str = node.tag
        kind: Any = cast(Any, type(node))
        if kind is self.scalar:
            if tag == STR_TAG:
                return node.value
            function = self.functions.get(tag)
            if function is None:
                raise _Unusual
            return function(self.loader, node)
        if id(node) in self.seen:
            raise _Unusual
        self.seen.add(id(node))
        if kind is self.mapping and tag == _MAP:
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if type(key_node) is not self.scalar:
                    raise _Unusual  # a collection as a key: PyYAML refuses it (merge and `=` keys are unusual tags)
                mapping[self.value(key_node)] = self.value(value_node)
            return mapping
        if kind is self.sequence and tag == _SEQ:
            return [self.value(item) for item in node.value]
        raise _Unusual
