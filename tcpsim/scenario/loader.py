"""Scenario files -> validated ``Scenario`` models, or one located ``ScenarioError``.

The pipeline is a few small stages so that later features slot in between:

1. ``parse``: YAML text -> ``Document`` (plain data + node tree for lines);
   duplicate keys are errors here, since PyYAML would silently keep the last;
2. ``${param}`` substitution on ``Document.data`` (``params.py``), with the
   chosen variant and ``--set`` values;
3. ``validate``: pydantic model validation; the first error in file order
   becomes a ``ScenarioError``;
4. ``Scenario.problems``: cross-references (unknown nodes, duplicate
   addresses, ...), again reported at their line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tcpsim.scenario.errors import Document, ScenarioError, format_path
from tcpsim.scenario.model import Scenario
from tcpsim.scenario.params import Substituted, substitute
from tcpsim.scenario.units import describe
from tcpsim.scenario.yamlread import compose, construct


def parse(text: str, file: str) -> Document:
    """YAML text -> ``Document``; raises ``ScenarioError`` for anything that is not a YAML mapping.

    The text is read under the limits of ``yamlread`` (aliases, nesting, tags, numbers).
    """
    root = compose(text, file)
    if root is None:
        raise ScenarioError(file, "", "empty file; expected a mapping with at least name and hosts", 1)
    data = construct(root, file)
    doc = Document(file, data, root)
    if not isinstance(data, dict):
        raise ScenarioError(file, "", f"expected a mapping (name:, hosts:, links:, ...) at the top, got {_kind(data)}", 1)
    return doc


def _kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    return f"a {type(data).__name__} value"


def validate(doc: Document, *, default_name: str | None = None, overrides: dict[str, Any] | None = None,
             variant: str | None = None) -> Scenario:
    """``Document`` -> ``Scenario``; raises the first problem, in file order, as ``ScenarioError``.

    ``overrides`` (``--set``) and ``variant`` (``--variant``) choose parameter values.
    """
    from tcpsim.scenario.errors import from_validation_error

    filled = substitute(doc, overrides, variant)
    data = dict(filled.data)
    if "name" not in data and default_name is not None:
        data["name"] = default_name
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _with_source(from_validation_error(doc, Scenario, exc), filled) from None
    problems = scenario.problems()
    if problems:
        loc, message = min(problems, key=lambda p: doc.line_of(p[0]))
        raise _with_source(ScenarioError(doc.file, format_path(loc), message, doc.line_at(loc)), filled)
    return scenario


def _with_source(err: ScenarioError, filled: Substituted) -> ScenarioError:
    """Say which parameter a bad value came from: the file only shows ``${name}``."""
    name = filled.source_of(err.yaml_path) if err.yaml_path else None
    if name is None:
        return err
    value = filled.values.get(name)
    return ScenarioError(err.file, err.yaml_path, f"{err.message} (from ${{{name}}} = {describe(value)})", err.line,
                         param=name)


def load_text(text: str, file: str = "<string>", *, default_name: str | None = None,
              overrides: dict[str, Any] | None = None, variant: str | None = None) -> Scenario:
    """Validate a scenario given as YAML text (``file`` only names it in errors)."""
    return validate(parse(text, file), default_name=default_name, overrides=overrides, variant=variant)


def read_text(path: str | Path, what: str = ".yaml file") -> str:
    """A YAML file's text, or one ``ScenarioError`` saying why it cannot be read."""
    file = str(path)
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(file, "", "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(file, "", f"is a directory, expected a {what}") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ScenarioError(file, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})", line) from None
    except OSError as exc:
        raise ScenarioError(file, "", f"cannot read: {exc.strerror}") from None


def load_document(path: str | Path, *, overrides: dict[str, Any] | None = None,
                  variant: str | None = None) -> tuple[Document, Scenario]:
    """Read and validate a scenario file, keeping its ``Document`` for later line lookups."""
    doc = parse(read_text(path), str(path))
    stem = Path(path).stem
    return doc, validate(doc, default_name=stem, overrides=overrides, variant=variant)


def load(path: str | Path, *, overrides: dict[str, Any] | None = None, variant: str | None = None) -> Scenario:
    """Read and validate a scenario file."""
    return load_document(path, overrides=overrides, variant=variant)[1]
