"""Pieces every part of the scenario schema shares: the strict base model, names, addresses.

Kept apart from ``model.py`` so that the modules for apps, events, faults and
expectations can build on them without importing each other in a circle.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tcpsim.scenario.units import Duration, describe

if TYPE_CHECKING:
    from tcpsim.scenario.build import BuildContext

__all__ = [
    "NAME_HINT", "AppBase", "IPv4", "Loc", "Name", "Problem", "Spec", "SysctlValue", "is_ipv4",
]

# A path into the YAML document: mapping keys and list indexes.
Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
NAME_HINT = "a name of letters, digits, '_', '-' and '.', starting with a letter or '_'"


def _check_name(value: str) -> str:
    # Names may not start with a digit so that a name can never be mistaken
    # for an IPv4 address where either is accepted (``dst:``).
    if not _NAME.match(value):
        raise PydanticCustomError("name", "expected {hint}, got {got}", {"hint": NAME_HINT, "got": describe(value)})
    return value


def _check_ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise PydanticCustomError(
            "ipv4", "expected an IPv4 address such as 192.0.2.1, got {got}", {"got": describe(value)}
        ) from None


Name = Annotated[str, AfterValidator(_check_name)]
IPv4 = Annotated[str, AfterValidator(_check_ipv4)]


def is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


class Spec(BaseModel):
    """Base of every scenario model: strict, closed, and ``null`` means ``{}``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        # ``server:`` with nothing after it is YAML's null; people write it to
        # mean "a host with all defaults".
        return {} if value is None else value


def _sysctl_value(value: Any) -> int | float | str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PydanticCustomError("sysctl", "expected a number or a string, got {got}", {"got": describe(value)})
    return value


SysctlValue = Annotated[
    Any,
    PlainValidator(_sysctl_value),
    WithJsonSchema({"type": ["integer", "number", "string"]}),
]


class AppBase(Spec):
    """What every application has: where it runs, when it starts, what it is called."""

    name: Name | None = Field(None, description="Name in the output and summary.json; default TYPE1, TYPE2, ...")
    host: Name = Field(description="The host the application runs on.")
    start: Duration = Field(0.0, description="Simulated time at which it starts.")

    def targets(self) -> Iterator[tuple[str, str]]:
        """(field, value) pairs naming another node: checked against the topology."""
        return iter(())

    def build(self, ctx: BuildContext, name: str) -> Any:  # pragma: no cover - every app overrides
        """Create the running application in ``ctx.sim``; ``name`` is its scenario name."""
        raise NotImplementedError


_Spec = Spec  # the name model.py has always used
