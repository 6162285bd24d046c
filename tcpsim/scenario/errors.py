"""One error type for everything wrong with a scenario, and the means to say where.

A scenario error is always one line, ``FILE:LINE: YAML.PATH: what was expected``,
the way compilers report errors, so that editors can jump to it and people can
read it without scrolling through a pydantic dump or a traceback.

Lines come from the YAML *node* tree (PyYAML's compose step keeps a start mark
on every node). A pydantic ``loc`` such as ``('apps', 0, 'ping', 'ttl')`` is
first cleaned into a YAML path (``apps[0].ttl``: the ``'ping'`` is the union
tag pydantic inserts, not a key), then walked down the node tree; when a key
is missing, the nearest existing ancestor gives the line.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, Discriminator, Tag, ValidationError
from pydantic.fields import FieldInfo

from tcpsim.scenario.units import describe, quote

Loc = tuple[str | int, ...]


class ScenarioError(Exception):
    """A problem with a scenario (or sweep) file, located in it.

    ``str(error)`` is the one line the CLI prints: ``FILE:LINE: YAML.PATH: what was expected``.

    Attributes:
        path: the file the problem is in, as it was named (``"<dict>"`` for a scenario
            given as a Python dict); ``file`` is the same string.
        line: 1-based line in that file, ``None`` when there is no file position (the
            file does not exist, or the scenario came from a dict).
        yaml_path: where in the document, such as ``links[1].b`` (empty for the whole
            document).
        message: what was expected, without the location.
    """

    def __init__(self, file: str, yaml_path: str, message: str, line: int | None = None, *,
                 param: str | None = None) -> None:
        self.file = file
        self.yaml_path = yaml_path
        self.message = message
        self.line = line
        self.param = param  # the ``${param}`` whose value was wrong, if one was
        super().__init__(str(self))

    @property
    def path(self) -> str:
        """The file the problem is in (the same as ``file``)."""
        return self.file

    def __reduce__(self) -> tuple[Any, ...]:
        # Sweep workers send these across processes: rebuild from the constructor's arguments.
        return (_rebuild, (type(self), self.file, self.yaml_path, self.message, self.line, self.param))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.yaml_path}: {self.message}" if self.yaml_path else f"{where}: {self.message}"
        # One line, whatever the message carried in (YAML problems can span lines), and every long quoted
        # value (over 200 characters) cut: a message may quote what the user wrote, and that may be a megabyte.
        return _LONG_QUOTE.sub(_cut_quote, " ".join(text.split()))


def _rebuild(cls: Any, file: str, yaml_path: str, message: str, line: int | None, param: str | None) -> Any:
    return cls(file, yaml_path, message, line, param=param)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_LONG_QUOTE = re.compile(r"'([^']{40})([^']{161,})'")


def _cut_quote(m: re.Match[str]) -> str:
    return f"'{m.group(1)}'... ({len(m.group(1)) + len(m.group(2))} characters)"


_KEY_LIMIT = 200  # a key longer than this is shown cut, so a hostile key cannot make the line huge


def format_path(loc: Loc) -> str:
    """``('links', 1, 'b')`` -> ``links[1].b``; keys that are not plain words are quoted."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif isinstance(part, str) and _IDENT.match(part) and len(part) <= _KEY_LIMIT:
            out += f".{part}" if out else part
        elif isinstance(part, str):
            out += f"[{quote(part, _KEY_LIMIT)}]"
        else:  # a YAML key that is a float, a boolean or null
            out += f"[{describe(part)}]"
    return out


# -- the YAML side ---------------------------------------------------------------------


class Document:
    """A parsed YAML document: the plain data and the node tree it came from."""

    def __init__(self, file: str, data: Any, root: yaml.Node | None) -> None:
        self.file = file
        self.data = data
        self.root = root

    def line_of(self, loc: Loc) -> int:
        """1-based line of the value at ``loc``, or of its nearest existing ancestor."""
        node = self.root
        line = 1 if node is None else node.start_mark.line + 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if _scalar_value(key_node) == part:
                        line = key_node.start_mark.line + 1
                        node = value_node
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def line_at(self, loc: Loc) -> int | None:
        """``line_of``, or None when there is no text to point into (a scenario given as a dict)."""
        return None if self.root is None else self.line_of(loc)

    def error(self, loc: Loc, message: str) -> ScenarioError:
        return ScenarioError(self.file, format_path(loc), message, self.line_at(loc))


def _scalar_value(node: yaml.Node) -> Any:
    """A key node's value as the loader made it (so the key ``1`` matches the int 1)."""
    from tcpsim.scenario.yamlread import scalar_value

    if not isinstance(node, yaml.ScalarNode):
        return None
    try:
        return scalar_value(node)
    except ValueError:
        return node.value


# -- the pydantic side ---------------------------------------------------------------------


def _strip_annotated(tp: Any) -> tuple[Any, list[Any]]:
    metadata: list[Any] = []
    while get_origin(tp) is typing.Annotated:
        args = get_args(tp)
        tp, metadata = args[0], metadata + list(args[1:])
    return tp, metadata


def _union_members(tp: Any) -> list[Any] | None:
    if get_origin(tp) in (Union, types.UnionType):
        return list(get_args(tp))
    return None


def _tag_of_member(member: Any, discriminator: str | None) -> str | None:
    """The union tag pydantic puts in ``loc`` for this member."""
    inner, metadata = _strip_annotated(member)
    for m in metadata:
        if isinstance(m, Tag):
            return m.tag
    if discriminator and isinstance(inner, type) and issubclass(inner, BaseModel):
        field = inner.model_fields.get(discriminator)
        if field is not None:
            values = get_args(field.annotation)
            if values:
                return str(values[0])
    return None


def _discriminator(metadata: list[Any]) -> tuple[bool, str | None]:
    """Whether the union is discriminated, and by which field name if any."""
    for m in metadata:
        if isinstance(m, FieldInfo) and m.discriminator is not None:
            return True, m.discriminator if isinstance(m.discriminator, str) else None
        if isinstance(m, Discriminator):
            return True, m.discriminator if isinstance(m.discriminator, str) else None
    return False, None


class _Walk:
    """The result of following a pydantic ``loc`` through the model's types."""

    def __init__(self) -> None:
        self.path: list[str | int] = []
        self.model: type[BaseModel] | None = None  # the model owning the last key
        self.discriminator: str | None = None      # set when the walk ends at a tagged union
        self.tags: list[str] = []                  # ... and that union's tags


def walk_loc(model: type[BaseModel], loc: Loc) -> _Walk:
    """Clean a pydantic ``loc`` into a YAML path, following the model's type annotations.

    Union tags are dropped, and ``'[key]'`` (an invalid mapping key) stays on
    the key itself. Unknown shapes end the walk; the rest of ``loc`` is then
    copied as is, which is still the right YAML path in every case we produce.
    """
    result = _Walk()
    tp: Any = model
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "[key]":
            # An invalid mapping key: the error belongs to the key just walked.
            i += 1
            tp = None
            break
        tp, metadata = _strip_annotated(tp)
        members = _union_members(tp)
        if members is not None:
            non_null = [m for m in members if m is not type(None)]
            tagged, disc = _discriminator(metadata)
            if tagged:
                chosen = next((m for m in non_null if _tag_of_member(m, disc) == part), None)
                if chosen is None:
                    break
                tp = chosen
                i += 1  # the tag is not part of the YAML path
                continue
            if len(non_null) == 1:
                tp = non_null[0]
                continue
            break
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not isinstance(part, str):
                break
            field = tp.model_fields.get(part)
            result.model = tp
            result.path.append(part)
            i += 1
            if field is None:
                tp = None
                continue
            tp = _field_type(field)
            continue
        origin = get_origin(tp)
        if origin is dict:
            result.path.append(part)
            i += 1
            tp = get_args(tp)[1]
            result.model = None
            continue
        if origin is list:
            result.path.append(part)
            i += 1
            tp = get_args(tp)[0]
            result.model = None
            continue
        break
    result.path.extend(p for p in parts[i:] if p != "[key]")
    # Where the walk stopped on a tagged union (a wrong or missing tag), remember its field.
    if tp is not None:
        base, metadata = _strip_annotated(tp)
        if _union_members(base) is not None:
            tagged, disc = _discriminator(metadata)
            if tagged:
                result.discriminator = disc
                members = _union_members(base) or []
                result.tags = [t for m in members if (t := _tag_of_member(m, disc)) is not None]
    return result


def _field_type(field: FieldInfo) -> Any:
    # pydantic moves a field's outer Annotated metadata (e.g. the discriminator)
    # into FieldInfo; put it back so the walk sees the union as tagged.
    if field.discriminator is not None:
        return typing.Annotated[field.annotation, field]
    if field.metadata:
        return typing.Annotated[(field.annotation, *field.metadata)]
    return field.annotation


def _expected_keys(model: type[BaseModel]) -> list[str]:
    return sorted(f.alias or name for name, f in model.model_fields.items())


_KIND_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


def translate(model: type[BaseModel], error: Any) -> tuple[Loc, str]:
    """A pydantic error -> (YAML path, message saying what was expected)."""
    walk = walk_loc(model, tuple(error["loc"]))
    path: list[str | int] = list(walk.path)
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = describe(error.get("input"))

    if kind == "missing":
        message = "missing required key"
    elif kind == "extra_forbidden":
        key = path[-1] if path else "?"
        message = f"unknown key {key!r}"
        owner = walk.model
        if owner is not None:
            keys = _expected_keys(owner)
            if not keys:
                message += " (no keys are allowed here)"
            else:
                close = difflib.get_close_matches(str(key), keys, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                message += f" ({hint}expected one of: {', '.join(keys)})"
    elif kind == "union_tag_invalid":
        disc = walk.discriminator or "type"
        path.append(disc)
        message = f"unknown {disc} {ctx.get('tag')!r} (expected one of: {_tags(ctx.get('expected_tags', ''))})"
    elif kind == "union_tag_not_found":
        disc = walk.discriminator or "type"
        path.append(disc)
        message = f"missing required key (expected one of: {', '.join(walk.tags)})"
    elif kind in _KIND_WORDS:
        message = f"expected {_KIND_WORDS[kind]}, got {got}"
    elif kind == "finite_number":
        message = f"expected a finite number, got {got}"
    elif kind == "literal_error":
        message = f"expected one of: {_tags(ctx.get('expected', ''))}; got {got}"
    elif kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op, bound = {
            "greater_than": (">", ctx.get("gt")),
            "greater_than_equal": (">=", ctx.get("ge")),
            "less_than": ("<", ctx.get("lt")),
            "less_than_equal": ("<=", ctx.get("le")),
        }[kind]
        if isinstance(bound, float) and bound.is_integer():
            bound = int(bound)
        message = f"expected a value {op} {bound}, got {got}"
    elif kind == "too_short":
        n = ctx.get("min_length", 1)
        message = f"expected at least {n} {'entry' if n == 1 else 'entries'}, got {ctx.get('actual_length') or 'none'}"
    elif kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    else:
        # Our own PydanticCustomErrors already say what was expected.
        message = str(error["msg"])
        if kind not in ("duration", "bandwidth", "size", "probability", "number", "name", "ipv4", "sysctl", "routers"):
            message = message[:1].lower() + message[1:]
    return tuple(path), message


def _tags(text: str) -> str:
    """``"'ping', 'traceroute'"`` or ``"'a' or 'b'"`` -> ``ping, traceroute``."""
    return ", ".join(t.strip().strip("'") for t in re.split(r",| or ", text) if t.strip())


def from_validation_error(doc: Document, model: type[BaseModel], exc: ValidationError) -> ScenarioError:
    """The first error in document order, as one located ``ScenarioError``.

    A "missing key" next to an unknown key in the same mapping is most likely
    the same typo (``host:`` for ``hosts:``), so the unknown key is reported
    first: it points at the line to fix.
    """
    errors = []
    typo_parents: set[Loc] = set()
    for e in exc.errors():
        loc, message = translate(model, e)
        errors.append((e["type"], loc, message))
        if e["type"] == "extra_forbidden":
            typo_parents.add(loc[:-1])

    def rank(item: tuple[str, Loc, str]) -> tuple[int, int]:
        kind, loc, _ = item
        return (1 if kind == "missing" and loc[:-1] in typo_parents else 0, doc.line_of(loc))

    _, loc, message = min(errors, key=rank)
    return ScenarioError(doc.file, format_path(loc), message, doc.line_at(loc))
