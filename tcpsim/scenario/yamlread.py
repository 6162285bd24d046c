"""YAML text -> plain data, under a discipline a hostile or careless file cannot break.

Every YAML input of tcpsim (scenario and sweep files, ``--set`` and
``--where`` values) goes through here, so all of them get the same limits and
the same one-line errors:

* **aliases** are counted and so is what they expand to: a "billion laughs"
  file is refused after reading it once, before anything walks the expansion;
  an alias to a node that contains it (a cycle) is refused;
* **nesting** deeper than ``MAX_DEPTH`` is refused (PyYAML's composer and
  everything after it recurse, so a file of ``[[[[...`` would otherwise end in
  a ``RecursionError``);
* **tags**: only YAML's core schema (``!!null``, ``!!bool``, ``!!int``,
  ``!!float``, ``!!str``, ``!!seq``, ``!!map``), each on its own node kind and
  with a value of its kind (``!!int`` with nothing after it is an error, not a
  crash); no ``!!timestamp``, ``!!binary``, ``!!set``, no Python tags;
* **plain scalars** resolve as YAML 1.2's core schema does for numbers
  (``1e9`` and ``-1.5E3`` are floats, ``010`` is ten, ``0b_`` and ``1:30`` are
  strings), keeping YAML 1.1's ``yes``/``no``/``on``/``off`` booleans, which
  scenario files have always used; dates are plain strings;
* **integers** longer than ``MAX_INT_DIGITS`` digits are refused (Python
  itself refuses to read more than 4,300);
* **text** must be printable, also where an escape such as ``"\\x01"`` wrote
  it (it ends up in terminals, traces and summary.json);
* **mapping keys** are scalars (a list or mapping as a key is refused);
  duplicate keys are refused, since PyYAML would silently keep the last.

Errors are ``ScenarioError`` with the file, the line and the YAML path.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from tcpsim.scenario.errors import ScenarioError, format_path
from tcpsim.scenario.units import describe

__all__ = ["MAX_ALIASES", "MAX_ALIAS_NODES", "MAX_DEPTH", "MAX_INT_DIGITS", "compose", "construct",
           "load_value", "scalar_value"]

MAX_DEPTH = 32            # nested lists/mappings; the library's deepest scenario needs 7
MAX_ALIASES = 100         # alias uses (*name) in one file
MAX_ALIAS_NODES = 10_000  # nodes the aliases stand for, counted with what they contain
MAX_INT_DIGITS = 4300     # Python's own limit for reading an integer

_TAG = "tag:yaml.org,2002:"
NULL, BOOL, INT, FLOAT, STR, SEQ, MAP = (_TAG + t for t in ("null", "bool", "int", "float", "str", "seq", "map"))

# Plain scalars. Numbers as YAML 1.2's core schema writes them; booleans also in YAML 1.1's words.
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_TRUE = frozenset(("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"))
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
# What may appear in text: YAML's printable set (tab, line breaks, and no other control character).
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_KIND = {ScalarNode: "a scalar", SequenceNode: "a list", MappingNode: "a mapping"}
_TAG_KIND = {NULL: ScalarNode, BOOL: ScalarNode, INT: ScalarNode, FLOAT: ScalarNode, STR: ScalarNode,
             SEQ: SequenceNode, MAP: MappingNode}
_TAG_WORD = {NULL: "null (~, null or nothing)", BOOL: "true or false", INT: "an integer", FLOAT: "a number"}


class _Resolver(BaseResolver):
    """Implicit tags of plain scalars (see the module docstring)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}


for _tag, _regexp, _first in (
    (NULL, _NULL_RE, ["~", "n", "N", ""]),
    (BOOL, _BOOL_RE, list("tTfFyYnNoO")),
    (INT, _INT_RE, list("-+0123456789")),
    (FLOAT, _FLOAT_RE, list("-+.0123456789")),
):
    _Resolver.add_implicit_resolver(_tag, _regexp, _first)


class _PyEvents(Reader, Scanner, Parser):
    """PyYAML's pure-Python event stream (used when libyaml is not there)."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


def _event_source(text: str) -> Any:
    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML built without libyaml
        return _PyEvents(text)
    return CParser(text)


class _Problem(Exception):
    def __init__(self, node: Node | None, path: tuple[Any, ...], message: str) -> None:
        self.node, self.path, self.message = node, path, message


class _Composer(Composer, _Resolver):
    """PyYAML's composer over a stream of parser events, keeping the limits.

    Composition is the one place where aliases are resolved and nesting
    happens, so both are bounded here, before any Python object exists. The
    events come from libyaml when PyYAML has it (30,000 lines in a second
    rather than a minute), else from PyYAML's own reader, scanner and parser.
    """

    def __init__(self, text: str) -> None:
        self._events: Any = _event_source(text)
        Composer.__init__(self)
        _Resolver.__init__(self)
        self._path: list[Any] = []
        self._open: set[int] = set()      # ids of collections being composed (an alias to one is a cycle)
        self._sizes: dict[int, int] = {}  # id -> node count, for the expansion budget
        self._aliases = 0
        self._alias_nodes = 0

    def check_event(self, *choices: Any) -> bool:
        return bool(self._events.check_event(*choices))

    def peek_event(self) -> Any:
        return self._events.peek_event()

    def get_event(self) -> Any:
        return self._events.get_event()

    def dispose(self) -> None:
        self._events.dispose()

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            event = self.get_event()
            anchor = event.anchor
            if anchor not in self.anchors:
                raise _Problem(None, tuple(self._path), f"unknown alias *{anchor} (no &{anchor} before it)") \
                    from _at(event)
            node: Node = self.anchors[anchor]
            if id(node) in self._open:
                raise _Problem(None, tuple(self._path),
                               f"alias *{anchor} refers to a node that contains it (expected no cycles)") from _at(event)
            self._aliases += 1
            self._alias_nodes += self._size(node)
            if self._aliases > MAX_ALIASES:
                raise _Problem(None, tuple(self._path),
                               f"more than {MAX_ALIASES} aliases (expected at most {MAX_ALIASES})") from _at(event)
            if self._alias_nodes > MAX_ALIAS_NODES:
                raise _Problem(None, tuple(self._path),
                               f"aliases expand to more than {MAX_ALIAS_NODES} values "
                               f"(expected at most {MAX_ALIAS_NODES}; write the values out)") from _at(event)
            return node
        event = self.peek_event()
        anchor = event.anchor
        if anchor is not None and anchor in self.anchors:
            # YAML allows redefining an anchor; PyYAML refuses it with a clear message, so do we.
            raise _Problem(None, tuple(self._path), f"anchor &{anchor} defined twice (expected unique anchor names)") \
                from _at(event)
        if len(self._path) >= MAX_DEPTH and not self.check_event(ScalarEvent):
            raise _Problem(None, tuple(self._path),
                           f"nested more than {MAX_DEPTH} levels deep (expected at most {MAX_DEPTH})") from _at(event)
        if self.check_event(ScalarEvent):
            return self.compose_scalar_node(anchor)
        if self.check_event(SequenceStartEvent):
            return self._compose_sequence(anchor)
        return self._compose_mapping(anchor)

    def _compose_sequence(self, anchor: str | None) -> Node:
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(SequenceNode, None, start.implicit)
        node = SequenceNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        self._open.add(id(node))
        index = 0
        while not self.check_event(SequenceEndEvent):
            self._path.append(index)
            node.value.append(self.compose_node(node, index))
            self._path.pop()
            index += 1
        node.end_mark = self.get_event().end_mark
        self._open.discard(id(node))
        return node

    def _compose_mapping(self, anchor: str | None) -> Node:
        start = self.get_event()
        tag = start.tag
        if tag is None or tag == "!":
            tag = self.resolve(MappingNode, None, start.implicit)
        node = MappingNode(tag, [], start.start_mark, None, flow_style=start.flow_style)
        if anchor is not None:
            self.anchors[anchor] = node
        self._open.add(id(node))
        while not self.check_event(MappingEndEvent):
            self._path.append("?")
            key = self.compose_node(node, None)
            self._path[-1] = key.value if isinstance(key, ScalarNode) else "?"
            value = self.compose_node(node, key)
            self._path.pop()
            node.value.append((key, value))
        node.end_mark = self.get_event().end_mark
        self._open.discard(id(node))
        return node

    def _size(self, node: Node) -> int:
        """Values ``node`` stands for, aliases inside it counted in full (memoized: linear)."""
        known = self._sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, ScalarNode):
            size = 1
        elif isinstance(node, SequenceNode):
            size = 1 + sum(self._size(n) for n in node.value)
        else:
            size = 1 + sum(self._size(k) + self._size(v) for k, v in node.value)
        self._sizes[id(node)] = size
        return size


class _Mark(Exception):
    """Carries the event's position to the handler (as ``__cause__`` of a ``_Problem``)."""

    def __init__(self, line: int) -> None:
        self.line = line


def _at(event: Any) -> _Mark:
    return _Mark(event.start_mark.line + 1)


def compose(text: str, file: str) -> Node | None:
    """The node tree of a one-document YAML text (``None`` when empty); ``ScenarioError`` otherwise."""
    composer: _Composer | None = None
    try:
        composer = _Composer(text)  # the reader checks the whole text for non-printable characters here
        return composer.get_single_node()
    except _Problem as problem:
        line = problem.__cause__.line if isinstance(problem.__cause__, _Mark) else None
        raise ScenarioError(file, format_path(problem.path), problem.message, line) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ScenarioError(file, "", f"non-printable character {_char(chr(exc.character))} "
                                      "(expected printable text)", line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        if mark is not None and "cannot start any token" in what:
            # libyaml does not say which character; a tab is by far the most common one.
            lines = text.split("\n")
            row = lines[mark.line] if mark.line < len(lines) else ""
            if mark.column < len(row):
                what += f" ({row[mark.column]!r}" + ("; indent with spaces)" if row[mark.column] == "\t" else ")")
        raise ScenarioError(file, "", f"invalid YAML: {what}", line) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(file, "", f"invalid YAML: {exc}", None) from None
    finally:
        if composer is not None:
            composer.dispose()


def _char(ch: str) -> str:
    return f"U+{ord(ch):04X}"


# -- construction ---------------------------------------------------------------------------------


def scalar_value(node: ScalarNode) -> Any:
    """A scalar node's Python value; ``ValueError`` saying what was expected if its tag does not fit it."""
    tag, text = node.tag, node.value
    if tag == STR:
        bad = _NOT_PRINTABLE.search(text)
        if bad is not None:
            raise ValueError(f"non-printable character {_char(bad.group())} in {describe(text)} "
                             "(expected printable text)")
        return text
    if tag == NULL:
        if not _NULL_RE.match(text):
            raise ValueError(f"expected {_TAG_WORD[NULL]} after !!null, got {describe(text)}")
        return None
    if tag == BOOL:
        if not _BOOL_RE.match(text):
            raise ValueError(f"expected {_TAG_WORD[BOOL]} after !!bool, got {describe(text)}")
        return text in _TRUE
    if tag == INT:
        if not _INT_RE.match(text):
            raise ValueError(f"expected {_TAG_WORD[INT]} after !!int, got {describe(text)}")
        digits = text.lstrip("+-")
        if len(digits) > MAX_INT_DIGITS:
            raise ValueError(f"an integer of {len(digits)} digits (expected at most {MAX_INT_DIGITS})")
        if digits.startswith("0o"):
            return int(text.replace("0o", "", 1), 8)
        if digits.startswith("0x"):
            return int(text.replace("0x", "", 1), 16)
        return int(text, 10)
    if tag == FLOAT:
        if not (_FLOAT_RE.match(text) or _INT_RE.match(text)) or len(text) > MAX_INT_DIGITS:
            raise ValueError(f"expected {_TAG_WORD[FLOAT]} after !!float, got {describe(text)}")
        low = text.lower()
        if low.endswith(".nan"):
            return math.nan
        if low.endswith(".inf"):
            return -math.inf if low.startswith("-") else math.inf
        if _INT_RE.match(text) and not text.lstrip("+-").isdigit():
            return float(scalar_value(ScalarNode(INT, text)))
        return float(text)
    raise ValueError(_unknown_tag(tag))


def _unknown_tag(tag: str) -> str:
    shown = "!!" + tag[len(_TAG):] if tag.startswith(_TAG) else tag
    return (f"unsupported tag {describe(shown)} (expected no tag, or one of "
            "!!str, !!int, !!float, !!bool, !!null, !!seq, !!map)")


def construct(root: Node, file: str) -> Any:
    """Plain Python data from a node tree made by ``compose``; ``ScenarioError`` at the first bad node."""
    done: dict[int, Any] = {}
    try:
        return _construct(root, (), done)
    except _Problem as problem:
        line = problem.node.start_mark.line + 1 if problem.node is not None else None
        raise ScenarioError(file, format_path(problem.path), problem.message, line) from None


def _construct(node: Node, path: tuple[Any, ...], done: dict[int, Any]) -> Any:
    # An aliased node is built once and shared, as PyYAML does (the composer bounded the expansion).
    if id(node) in done:
        return done[id(node)]
    kind = _TAG_KIND.get(node.tag)
    if kind is None:
        raise _Problem(node, path, _unknown_tag(node.tag))
    if not isinstance(node, kind):
        raise _Problem(node, path, f"tag !!{node.tag[len(_TAG):]} on {_KIND[type(node)]} "
                                   f"(expected {_KIND[kind]} after it)")
    value: Any
    if isinstance(node, ScalarNode):
        try:
            value = scalar_value(node)
        except ValueError as exc:
            raise _Problem(node, path, str(exc)) from None
    elif isinstance(node, SequenceNode):
        value = []
        done[id(node)] = value
        value.extend(_construct(item, (*path, i), done) for i, item in enumerate(node.value))
    else:
        value = {}
        done[id(node)] = value
        first: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Problem(key_node, path, f"{_KIND[type(key_node)]} as a mapping key "
                                               "(expected a name or a number)")
            key = _construct(key_node, (*path, key_node.value), done)
            line = key_node.start_mark.line + 1
            if key in first:
                raise _Problem(key_node, (*path, key),
                               f"duplicate key {describe(key)} (first given on line {first[key]})")
            first[key] = line
            value[key] = _construct(value_node, (*path, key), done)
    done[id(node)] = value
    return value


def load_value(text: str, what: str) -> Any:
    """One value written on the command line (``--set NAME=VALUE``), read like a value in a file.

    ``what`` names the flag in the error (``--set rate``); errors are ``ValueError``.
    """
    try:
        root = compose(text, what)
        return None if root is None else construct(root, what)
    except ScenarioError as exc:
        raise ValueError(f"{what}: {exc.message}") from None
