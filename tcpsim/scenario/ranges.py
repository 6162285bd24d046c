"""The range of every numeric field of the scenario format, read from its JSON schema.

The models declare each range once (``Field(ge=..., le=...)`` or the
``units`` converters, which put the same bounds into the schema), so the
table in docs/scenario-format.md is generated from ``Scenario``'s schema
rather than written a second time; a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["numeric_fields", "ranges_markdown"]


def _numeric(prop: dict[str, Any]) -> dict[str, Any] | None:
    """The numeric branch of a property's schema (``anyOf`` of number and string, or nullable), if any."""
    if prop.get("type") in ("integer", "number"):
        return prop
    for sub in prop.get("anyOf", []):
        found = _numeric(sub)
        if found is not None:
            return found
    return None


def numeric_fields(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(model title, field name, numeric schema) for every numeric field, in schema order."""
    models = [("Scenario", schema), *sorted(schema.get("$defs", {}).items())]
    for title, model in models:
        for name, prop in model.get("properties", {}).items():
            num = _numeric(prop)
            if num is not None:
                yield title, name, num


def _bound(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e16:
        x = int(x)
    return f"{x:,}".replace(",", " ") if isinstance(x, int) else f"{x:g}"


def ranges_markdown(schema: dict[str, Any]) -> str:
    """The ranges table of docs/scenario-format.md."""
    lines = ["| where | key | kind | from | to |", "|---|---|---|---|---|"]
    for title, name, num in numeric_fields(schema):
        lo = f"> {_bound(num['exclusiveMinimum'])}" if "exclusiveMinimum" in num else _bound(num.get("minimum", "-"))
        kind = "integer" if num.get("type") == "integer" else "number"
        lines.append(f"| {title} | `{name}` | {kind} | {lo} | {_bound(num.get('maximum', '-'))} |")
    return "\n".join(lines) + "\n"
