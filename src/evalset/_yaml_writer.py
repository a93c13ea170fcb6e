# pyright: strict
"""YAML text for dataset cases, byte for byte what `yaml.dump(cases, Dumper=CSafeDumper, sort_keys=False,
allow_unicode=True)` writes, without PyYAML's representer, serializer and event objects.

For JSON-shaped data libyaml's emitter (width 80, indent 2, unicode) is followed step by step: the same
style per scalar (plain, single- or double-quoted, from the same analysis and the same implicit
resolver), the same line folding, the same escapes. Anything else (other types, non-string keys, keys
that are not simple keys, objects seen twice, which PyYAML writes as anchors, representers registered
by someone else) is left to PyYAML.
"""

from __future__ import annotations

import re
from typing import Any, cast

from evalset._yaml import STR_TAG, dump, implicit_resolver, yaml_module

__all__ = ["dump_cases"]

_WIDTH = 80
_BLANKZ = "[ \t\r\n\x85\u2028\u2029\0]"  # libyaml's IS_BLANKZ
_NOT_PRINTABLE = re.compile("[^\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]")  # libyaml's IS_PRINTABLE
_NOT_PRINTABLE_OR_BREAK = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")
_SLOW_FIRST = frozenset("#,[]{}&*!|>'\"%@` -?:.")  # indicators, and `---`, `...`, `- x`, `? x`, `: x`
_LINE_BREAK = re.compile("[\r\n\x85\u2028\u2029]")
_SPACE_NEXT_TO_BREAK = re.compile("[ ][\r\n\x85\u2028\u2029]|[\r\n\x85\u2028\u2029][ ]")
# libyaml's block indicators: what keeps a string from being written plain in block context.
_BLOCK_INDICATOR = re.compile(
    f"^(?:[#,\\[\\]{{}}&*!|>'\"%@`]|[-?:](?:{_BLANKZ}|\\Z)|---|\\.\\.\\.)|:(?:{_BLANKZ}|\\Z)|{_BLANKZ}#"
)
_DOUBLE_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
# Double-quoted: a space, a run of characters written as they are, or one character written as an escape.
_AS_IS = r"\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"  # printable but ` "\\`, breaks
_DOUBLE_TOKEN = re.compile(f"( )|([{_AS_IS}]+)|(.)", re.S)
_SINGLE_TOKEN = re.compile("( +)|([\n\u2028\u2029]+)|([^ \n\u2028\u2029]+)")


class _Unwritable(Exception):
    """The data needs PyYAML's own dumper."""


def dump_cases(cases: list[Any]) -> str:
    """`dump(cases)` for a list of JSON-shaped cases, written directly (PyYAML's dumper for anything else)."""
    yaml = yaml_module()
    if cases and hasattr(yaml, "CSafeDumper"):  # the pure-Python emitter differs in details (e.g. emoji)
        try:
            return _Writer(yaml).document(cases)
        except _Unwritable:
            pass
    return dump(cases)


def dump_document(document: dict[str, Any]) -> str:
    """`dump(document)` for a dataset file's document, its `cases` written by `dump_cases`.

    Block sequences are not indented under their key, so `cases:` followed by the dumped list is byte
    for byte what dumping the whole mapping writes for it."""
    parts: list[str] = []
    for key, value in document.items():
        if key == "cases" and isinstance(value, list) and value:
            parts.append("cases:\n" + dump_cases(cast(list[Any], value)))
        else:
            parts.append(dump({key: value}))
    return "".join(parts)


def _escape(char: str) -> str:
    escape = _DOUBLE_ESCAPES.get(char)
    if escape is not None:
        return escape
    code = ord(char)
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def _float_text(value: float) -> str:
    """`SafeRepresenter.represent_float`."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value).lower()
    return text.replace("e", ".0e", 1) if "." not in text and "e" in text else text


class _Writer:
    """libyaml's block emitter for one document whose root is a non-empty list."""

    def __init__(self, yaml: Any) -> None:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        self.scalar = yaml.ScalarNode
        self.resolve = implicit_resolver(dumper, yaml.ScalarNode, yaml.SequenceNode)
        # First characters of the plain scalars that an implicit resolver may read as something else than a string.
        self.resolvable = frozenset(first for first in dumper.yaml_implicit_resolvers if isinstance(first, str))
        if None in dumper.yaml_implicit_resolvers:
            raise _Unwritable  # a resolver for any first character: no shortcut
        stock = yaml.representer.SafeRepresenter
        for kind, name in ((str, "str"), (dict, "dict"), (list, "list"), (int, "int"), (float, "float")):
            if dumper.yaml_representers.get(kind) is not getattr(stock, f"represent_{name}"):
                raise _Unwritable  # someone registered their own representer (say, block style for text)
        if dumper.yaml_representers.get(bool) is not stock.represent_bool:
            raise _Unwritable
        if dumper.yaml_representers.get(type(None)) is not stock.represent_none:
            raise _Unwritable
        self.out: list[str] = []
        self.seen: set[int] = set()
        self.keys: dict[str, str] = {}

    def document(self, items: list[Any]) -> str:
        self.seen.add(id(items))
        self.sequence(items, 0, inline=False)
        return "".join(self.out)[1:] + "\n"

    def sequence(self, items: list[Any], indent: int, *, inline: bool) -> None:
        """Items at `indent` (the column of `-`); the first on the current line when `inline`."""
        newline = "\n" + " " * indent
        for number, item in enumerate(items):
            dash = " -" if inline and number == 0 else newline + "-"
            if type(item) is str:
                self.out.append(dash + " " + self.string(item, indent + 2, indent + 2))
            else:
                self.out.append(dash)
                self.node(item, indent + 2, indent + 1, in_sequence=True)

    def mapping(self, mapping: dict[Any, Any], indent: int, *, inline: bool) -> None:
        newline = "\n" + " " * indent
        for number, (key, value) in enumerate(mapping.items()):
            text = self.keys.get(key) if type(key) is str else None
            if text is None:
                text = self.key(key)
            start = " " if inline and number == 0 else newline
            if type(value) is str:
                self.out.append(start + text + ": " + self.string(value, indent + len(text) + 2, indent + 2))
            else:
                self.out.append(start + text + ":")
                self.node(value, indent + 2, indent + len(text) + 1, in_sequence=False)

    def node(self, value: Any, indent: int, column: int, *, in_sequence: bool) -> None:
        """A value after `-` or `key:`, which end at `column`; `indent` is that of a nested mapping or of a
        scalar's continuation lines."""
        kind: Any = cast(Any, type(value))
        if kind is dict or kind is list:
            if id(value) in self.seen:
                raise _Unwritable  # PyYAML writes an object seen twice as an anchor and an alias
            self.seen.add(id(value))
            if not value:
                self.out.append(" []" if kind is list else " {}")
            elif kind is dict:
                self.mapping(value, indent, inline=in_sequence)
            else:
                self.sequence(value, indent if in_sequence else indent - 2, inline=in_sequence)
        elif kind is str:
            self.out.append(" " + self.string(value, column + 1, indent))
        elif value is None:
            self.out.append(" null")
        elif kind is bool:
            self.out.append(" true" if value else " false")
        elif kind is int:
            self.out.append(" " + str(value))
        elif kind is float:
            self.out.append(" " + _float_text(value))
        else:
            raise _Unwritable

    def key(self, key: Any) -> str:
        if type(key) is not str or _LINE_BREAK.search(key) or len(key.encode("utf-8", "surrogatepass")) > 128:
            raise _Unwritable  # PyYAML writes these as complex keys (`? key`), or needs its representer
        text = self.string(key, 0, 0, simple_key=True)
        if len(self.keys) < 1000:
            self.keys[key] = text
        return text

    def string(self, value: str, column: int, indent: int, *, simple_key: bool = False) -> str:
        """`value` written from `column`, folded at the width onto lines at `indent` (not in a simple key)."""
        if (
            value
            and value[0] not in _SLOW_FIRST
            and value[-1] != " "
            and ":" not in value
            and "#" not in value
            and _NOT_PRINTABLE_OR_BREAK.search(value) is None
        ):  # the common case, plain unless a resolver reads it as another type
            if value[0] in self.resolvable and self.resolve(self.scalar, value, (True, False)) != STR_TAG:
                return _single_quoted(value, column, indent, not simple_key)
            return value if simple_key or column + len(value) <= _WIDTH + 1 else _plain(value, column, indent)
        if not value:
            return "''"
        if _NOT_PRINTABLE.search(value) or _SPACE_NEXT_TO_BREAK.search(value):
            return _double_quoted(value, column, indent, not simple_key)
        if (
            _LINE_BREAK.search(value)
            or value[0] == " "
            or value[-1] == " "
            or _BLOCK_INDICATOR.search(value)
            or self.resolve(self.scalar, value, (True, False)) != STR_TAG
        ):
            return _single_quoted(value, column, indent, not simple_key)
        return value if simple_key else _plain(value, column, indent)


def _plain(value: str, column: int, indent: int) -> str:
    """libyaml's `write_plain_scalar` for a string with no line breaks nor leading or trailing spaces: a single
    space between words becomes a line break once the line is past the width."""
    if column + len(value) <= _WIDTH + 1:
        return value
    pieces: list[str] = []
    start = 0
    while True:
        space = value.find(" ", max(start + _WIDTH + 1 - column, start + 1))
        while space != -1 and (value[space - 1] == " " or value[space + 1] == " "):
            space = value.find(" ", space + 1)
        if space == -1:
            pieces.append(value[start:])
            return "".join(pieces)
        pieces.append(value[start:space])
        pieces.append("\n" + " " * indent)
        start, column = space + 1, indent


def _single_quoted(value: str, column: int, indent: int, folded: bool) -> str:
    """libyaml's `write_single_quoted_scalar` (no space next to a line break: those go double-quoted)."""
    pieces = ["'"]
    column += 1
    spaces = breaks = False
    last = len(value) - 1
    for match in _SINGLE_TOKEN.finditer(value):
        run, line_breaks, text = match.groups()
        if run is not None:
            at = match.start()
            if folded and not spaces and column > _WIDTH and len(run) == 1 and at not in (0, last):
                pieces.append("\n" + " " * indent)
                column = indent
            else:
                pieces.append(run)
                column += len(run)
            spaces = True
        elif line_breaks is not None:
            if not breaks and line_breaks[0] == "\n":
                pieces.append("\n")
            pieces.append(line_breaks)
            column, breaks = 0, True
        else:
            if breaks:
                pieces.append(" " * indent)
                column = indent
            text = text.replace("'", "''")
            pieces.append(text)
            column += len(text)
            spaces = breaks = False
    if breaks:
        pieces.append(" " * indent)
    pieces.append("'")
    return "".join(pieces)


def _double_quoted(value: str, column: int, indent: int, folded: bool) -> str:
    """libyaml's `write_double_quoted_scalar`."""
    pieces = ['"']
    column += 1
    spaces = False
    last = len(value) - 1
    for match in _DOUBLE_TOKEN.finditer(value):
        space, text, escaped = match.groups()
        if space is not None:
            at = match.start()
            if folded and not spaces and column > _WIDTH and at not in (0, last):
                pieces.append("\n" + " " * indent)
                column = indent
                if value[at + 1] == " ":
                    pieces.append("\\")
                    column += 1
            else:
                pieces.append(" ")
                column += 1
            spaces = True
        else:
            text = text if text is not None else _escape(escaped)
            pieces.append(text)
            column += len(text)
            spaces = False
    pieces.append('"')
    return "".join(pieces)
