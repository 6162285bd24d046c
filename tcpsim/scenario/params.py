"""Parameters: ``params:`` with defaults, ``${name}`` anywhere, ``--set name=value``, ``variants:``.

Substitution happens on the plain YAML data, after parsing and before
validation, so the schema never sees a template and every substituted value
is validated exactly like a written one, at the place it is used; an error
there says which parameter it came from. The YAML node tree is untouched, so
line numbers still point at the ``${name}`` in the file.

* ``${name}`` as the whole value takes the parameter's value with its type
  (a number stays a number, a list a list);
* inside a longer string it is replaced by the value's text
  (``"client:*>server:${port}"``);
* ``$${`` writes a literal ``${``;
* ``params:`` and ``variants:`` themselves are not substituted.

A variant is a named set of parameter values (``variants: {xp: {profile:
windows-xp}}``), chosen with ``--variant``; ``--set`` applies on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tcpsim.scenario.errors import Document, ScenarioError, format_path
from tcpsim.scenario.units import describe

__all__ = ["Substituted", "parse_set", "substitute"]

_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REF = re.compile(r"\$\$\{|\$\{([^}]*)\}")

Loc = tuple[str | int, ...]


@dataclass
class Substituted:
    """The data with parameters filled in, the values used, and where each was used."""

    data: dict[str, Any]
    values: dict[str, Any]
    variant: str | None
    used_at: dict[Loc, str] = field(default_factory=dict)

    def source_of(self, path: str) -> str | None:
        """The parameter whose value landed at (or above) the YAML path ``path``, if any."""
        best: tuple[int, str] | None = None
        for loc, name in self.used_at.items():
            p = format_path(loc)
            inside = path == p or path.startswith(p + ".") or path.startswith(p + "[")
            if inside and (best is None or len(p) > best[0]):
                best = (len(p), name)
        return best[1] if best else None


def parse_set(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line; the value is read as YAML (5000 is a number)."""
    name, eq, raw = text.partition("=")
    name = name.strip()
    if not eq or not _PARAM_NAME.match(name):
        raise ValueError(f"--set {text!r}: expected NAME=VALUE, e.g. --set flood_rate=5000")
    from tcpsim.scenario.yamlread import load_value

    value = load_value(raw, f"--set {name}={_cut(raw)}") if raw.strip() else ""
    return name, value


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def substitute(doc: Document, overrides: dict[str, Any] | None = None, variant: str | None = None) -> Substituted:
    """Fill in every ``${name}``; raise a located ``ScenarioError`` for anything wrong."""
    data: dict[str, Any] = doc.data
    params = data.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise doc.error(("params",), f"expected a mapping of parameter name -> default value, got {describe(params)}")
    for key in params:
        if not isinstance(key, str) or not _PARAM_NAME.match(key):
            raise doc.error(("params", key), f"expected a parameter name (letters, digits, '_'), got {describe(key)}")
    variants = data.get("variants")
    if variants is None:
        variants = {}
    if not isinstance(variants, dict):
        raise doc.error(("variants",), f"expected a mapping of variant name -> parameter values, got {describe(variants)}")
    for vname, vvalues in variants.items():
        if not isinstance(vvalues, dict):
            raise doc.error(("variants", vname), f"expected a mapping of parameter -> value, got {describe(vvalues)}")
        for key in vvalues:
            if key not in params:
                raise doc.error(("variants", vname, key), f"unknown parameter {key!r} ({_defined(params)})")
    values = dict(params)
    if variant is not None:
        if variant not in variants:
            known = ", ".join(str(v) for v in variants) or "none"
            raise ScenarioError(doc.file, "", f"--variant {variant}: no such variant (the scenario has: {known})")
        values.update(variants[variant])
    for key, value in (overrides or {}).items():
        if key not in params:
            raise ScenarioError(doc.file, "", f"--set {key}: unknown parameter ({_defined(params)})")
        values[key] = value
    out = Substituted({}, values, variant)
    for key, value in data.items():
        if key in ("params", "variants"):
            out.data[key] = value
        else:
            out.data[key] = _walk(doc, value, (key,), values, out.used_at)
    out.data["params"] = values
    return out


def _defined(params: dict[str, Any]) -> str:
    return f"defined: {', '.join(params)}" if params else "the scenario defines no params"


def _walk(doc: Document, value: Any, loc: Loc, values: dict[str, Any], used: dict[Loc, str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(doc, v, (*loc, k), values, used) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(doc, v, (*loc, i), values, used) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _fill(doc, value, loc, values, used)
    return value


def _fill(doc: Document, text: str, loc: Loc, values: dict[str, Any], used: dict[Loc, str]) -> Any:
    refs = list(_REF.finditer(text))
    whole = len(refs) == 1 and refs[0].group(0) != "$${" and refs[0].span() == (0, len(text))
    for m in refs:
        if m.group(0) == "$${":
            continue
        name = m.group(1).strip()
        if name not in values:
            raise doc.error(loc, f"unknown parameter {name!r} in {text!r} ({_defined(values)})")
        used[loc] = name
    if whole:
        return values[refs[0].group(1).strip()]

    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$${":
            return "${"
        v = values[m.group(1).strip()]
        if isinstance(v, dict | list):
            raise doc.error(loc, f"parameter {m.group(1).strip()!r} is {describe(v)}; it cannot go inside a string")
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    return _REF.sub(repl, text)
