"""Sweep files -> a checked ``Plan``: the runs to make, each a scenario with some values changed.

A sweep file names a base scenario, the values to change (``grid:`` for a
product, ``zip:`` for lists that advance together, ``set:`` for values fixed
in every run), how many replications, and the metrics to read off each run's
summary. See docs/sweeps.md for the format.

Everything is checked before the first run starts, and reported the way
scenario errors are: one line, ``FILE:LINE: YAML.PATH: what was expected``.
That includes every run's scenario: each combination of values is applied to
the base scenario and validated by the scenario loader itself, so a swept
value out of range names the sweep file, the parameter and the value, then
what the scenario said about it.

What a parameter may change (a *target*):

* a scenario parameter, by its name (``flood_rate``): the ``${flood_rate}``
  of the scenario;
* a host's setting, ``hosts.HOST.sysctl.KNOB`` (any real name of the knob,
  e.g. ``net.ipv4.tcp_syncookies``), or ``hosts.HOST.profile``;
* a link's property, ``links.LINK.KEY`` with LINK a link name (``client-r1``)
  or its index in ``links:`` (``links.0.loss``, ``links[0].loss``), KEY one
  of the link keys, optionally below ``a_to_b``/``b_to_a`` or ``gilbert``;
* an app's key, ``apps.APP.KEY`` (``apps.client.count``,
  ``apps.probed.sockopts.TCP_KEEPIDLE``), APP its name or index;
* ``until``.

The values go into the YAML data before validation, exactly where the file
would have them, so every check of the scenario format applies to them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from tcpsim import __version__
from tcpsim.scenario.base import Spec
from tcpsim.scenario.errors import Document, Loc, ScenarioError, format_path, from_validation_error
from tcpsim.scenario.units import PositiveDuration, describe
from tcpsim.sweep.expr import (
    Compiled,
    ExprError,
    Shape,
    compile_apply,
    compile_metric,
    evaluate,
    summary_shape,
)
from tcpsim.trace.records import Level

__all__ = ["Assignment", "MetricDef", "Plan", "RunSpec", "Target", "load_sweep", "scenario_for"]

MAX_RUNS = 1_000_000
MAX_VALUES = 100_000
# Columns every results table has; parameter and metric names may not take them.
FIXED_COLUMNS = ("run", "run_id", "replication", "seed", "status", "error", "wall_time")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_METRIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SweepFile(Spec):
    """The shape of a sweep file; the parts with their own rules are checked by hand below."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]*$")] | None = Field(
        None, description="Sweep name; default: the file name without .yaml.")
    description: str = Field("", description="One line: what the sweep shows.")
    scenario: str = Field(description="The base scenario: a path relative to this file, or a built-in name.")
    variant: str | None = Field(None, description="A variant of the base scenario.")
    seed: Annotated[int, Field(ge=0)] = Field(1, description="Seed from which every run's seed is derived.")
    replications: Annotated[int, Field(ge=1, le=10_000)] = Field(1, description="Runs per combination of values.")
    seeds: Literal["per-run", "common"] = Field(
        "per-run", description="per-run: each run's seed depends on its values and replication; common: only on "
                               "the replication (every combination sees the same random draws).")
    until: PositiveDuration | None = Field(None, description="Simulated end time of every run.")
    trace: Literal["counters", "states", "packets", "full"] | None = Field(
        None, description="Trace level of the runs; default: the cheapest the metrics need.")
    expectations: bool = Field(False, description="Check the scenario's expect: block in each run.")
    set: dict[str, Any] = Field(default_factory=dict, description="Values fixed in every run: target -> value.")
    grid: dict[str, Any] = Field(default_factory=dict, description="Target -> values; every combination runs.")
    zip: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=dict, description="Target -> values, lists of equal length advancing together.")
    metrics: dict[str, Any] = Field(min_length=1, description="Name -> path or expression over summary.json.")


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where a value goes: a scenario parameter, or a place in the scenario's YAML data."""

    text: str                       # as written in the sweep file
    param: str | None = None        # a ${param}
    loc: Loc = ()                   # else: the YAML path in the scenario
    drop: tuple[str, ...] = ()      # keys to remove next to it (other spellings of the same sysctl)

    @property
    def key(self) -> str:
        return f"${self.param}" if self.param is not None else format_path(self.loc)


@dataclass(frozen=True)
class Assignment:
    """One value for one target, as the sweep file gave it (``raw``) and as applied (``value``)."""

    target: int          # index in Plan.targets
    column: str | None   # table column (None for ``set:`` values)
    raw: Any
    value: Any
    loc: Loc             # where the sweep file gives it


@dataclass(frozen=True)
class MetricDef:
    name: str
    text: str
    label: str
    level: Level


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: everything a worker needs besides the plan."""

    index: int
    run_id: str
    replication: int
    seed: int
    values: tuple[tuple[int, Any], ...]  # (target index, value applied)
    params: tuple[tuple[str, Any], ...]  # (column, value as given), for the table


@dataclass
class Plan:
    """A checked sweep: the base scenario's document, the targets, the axes and the metrics."""

    file: str
    name: str
    description: str
    scenario_file: str
    doc: Document
    default_name: str
    variant: str | None
    targets: list[Target]
    fixed: list[Assignment]
    axes: list[list[list[Assignment]]]
    columns: list[str]
    metrics: list[MetricDef]
    level: str
    expectations: bool
    replications: int
    seed: int
    seeds: str
    fingerprint: str
    shape: Shape
    _runs: list[RunSpec] | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        # Sent to workers (spawned processes, Dask): the list of runs stays here; each task names its own.
        return {k: (None if k == "_runs" else v) for k, v in self.__dict__.items()}

    def combinations(self) -> Iterator[tuple[Assignment, ...]]:
        """Every combination of axis points, the last axis varying fastest; flattened assignments."""
        for combo in itertools.product(*self.axes):
            yield tuple(a for point in combo for a in point)

    @property
    def n_combinations(self) -> int:
        return math.prod(len(a) for a in self.axes)

    def runs(self) -> list[RunSpec]:
        if self._runs is None:
            out: list[RunSpec] = []
            fixed = tuple((a.target, a.value) for a in self.fixed)
            for c, combo in enumerate(self.combinations()):
                values = fixed + tuple((a.target, a.value) for a in combo)
                params = tuple((a.column, a.raw) for a in combo if a.column is not None)
                ident = [[self.targets[t].key, v] for t, v in values]
                for r in range(self.replications):
                    seed = _derive_seed(self.seed, ident if self.seeds == "per-run" else None, r)
                    run_id = _digest({"sweep": self.fingerprint, "values": ident, "replication": r, "seed": seed})[:16]
                    out.append(RunSpec(c * self.replications + r, run_id, r, seed, values, params))
            self._runs = out
        return self._runs

    def manifest(self) -> dict[str, Any]:
        """What ``sweep.json`` says: enough for ``sweep-plot`` and for a person to know what ran."""
        return {
            "tcpsim": __version__, "sweep": self.name, "description": self.description, "file": self.file,
            "scenario": self.scenario_file, "variant": self.variant, "seed": self.seed, "seeds": self.seeds,
            "replications": self.replications, "trace": self.level, "expectations": self.expectations,
            "parameters": [{"column": c, "values": _column_values(self, c)} for c in self.columns],
            "set": {self.targets[a.target].text: a.raw for a in self.fixed if a.loc[:1] == ("set",)},
            "metrics": [{"name": m.name, "expr": m.text, "label": m.label} for m in self.metrics],
            "runs": len(self.runs()), "fingerprint": self.fingerprint,
        }


def _column_values(plan: Plan, column: str) -> list[Any]:
    for axis in plan.axes:
        for point in axis[:1]:
            if any(a.column == column for a in point):
                return [next(a.raw for a in p if a.column == column) for p in axis]
    return []  # pragma: no cover


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def _digest(obj: Any) -> str:
    return hashlib.sha256(_canonical(obj).encode()).hexdigest()


def _derive_seed(sweep_seed: int, ident: Any, replication: int) -> int:
    """A run's seed: the first 48 bits of sha256(sweep seed, values, replication); exact in any float column."""
    h = hashlib.sha256(_canonical({"seed": sweep_seed, "values": ident, "replication": replication}).encode())
    return int.from_bytes(h.digest()[:6], "big")


# -- applying values to the scenario's data -----------------------------------------------------


def _set(container: Any, loc: Loc, value: Any, drop: tuple[str, ...]) -> Any:
    """A copy of ``container`` with ``value`` at ``loc`` (copying only along the path)."""
    key = loc[0]
    if isinstance(container, list):
        new: Any = list(container)
        child = new[key] if isinstance(key, int) and 0 <= key < len(new) else None
    else:
        new = dict(container) if isinstance(container, dict) else {}
        child = new.get(key)
    if len(loc) == 1:
        if isinstance(new, dict):
            for d in drop:
                new.pop(d, None)
        new[key] = value
    else:
        new[key] = _set(child if child is not None else {}, loc[1:], value, drop)
    return new


def scenario_for(plan: Plan, values: Sequence[tuple[int, Any]]) -> tuple[Document, Any]:
    """The validated scenario of one run (raises the scenario's ``ScenarioError`` as is)."""
    from tcpsim.scenario.loader import validate

    data: Any = plan.doc.data
    overrides: dict[str, Any] = {}
    for t, v in values:
        target = plan.targets[t]
        if target.param is not None:
            overrides[target.param] = v
        else:
            data = _set(data, target.loc, v, target.drop)
    data = _set(data, ("trace",), plan.level, ())
    if not plan.expectations:
        data = _set(data, ("expect",), [], ())
    doc = Document(plan.doc.file, data, plan.doc.root)
    return doc, validate(doc, default_name=plan.default_name, overrides=overrides, variant=plan.variant)


# -- loading ------------------------------------------------------------------------------------


def load_sweep(path: str | Path) -> Plan:
    """Read and check a sweep file, and every run's scenario; raises ``ScenarioError``."""
    from tcpsim.scenario.loader import parse, read_text

    file = str(path)
    doc = parse(read_text(path, "sweep .yaml file"), file)
    if "hosts" in doc.data and "scenario" not in doc.data:
        raise doc.error(("hosts",), "this is a scenario, not a sweep file: a sweep names its base scenario with "
                                    "scenario: and says what to vary and measure (see docs/sweeps.md)")
    try:
        spec = SweepFile.model_validate(doc.data)
    except ValidationError as exc:
        raise from_validation_error(doc, SweepFile, exc) from None
    return _Loader(doc, spec, Path(path)).plan()


class _Loader:
    def __init__(self, doc: Document, spec: SweepFile, path: Path) -> None:
        self.doc, self.spec, self.path = doc, spec, path
        self.targets: list[Target] = []
        self.target_at: dict[str, Loc] = {}

    def err(self, loc: Loc, message: str) -> ScenarioError:
        return self.doc.error(loc, message)

    def plan(self) -> Plan:
        from tcpsim.scenario.library import resolve
        from tcpsim.scenario.loader import load_document
        from tcpsim.scenario.model import Scenario

        spec = self.spec
        # The base scenario: a path relative to the sweep file, else what `tcpsim run` accepts.
        rel = self.path.parent / spec.scenario
        try:
            scenario_path = Path(os.path.normpath(rel)) if rel.is_file() else resolve(spec.scenario)
            base_doc, base = load_document(scenario_path, variant=spec.variant)
        except ScenarioError as exc:
            raise self.err(("variant",) if "--variant" in exc.message else ("scenario",),
                           f"the base scenario is not usable: {exc}") from None
        self.base: Scenario = base
        self.base_doc = base_doc
        shape = summary_shape(base)

        metrics = self.metrics(shape)
        fixed: list[Assignment] = []
        if spec.until is not None:
            fixed.append(self.fixed(("until",), "until", spec.until))
        for key, value in spec.set.items():
            fixed.append(self.fixed(("set", key), key, value))
        axes: list[list[list[Assignment]]] = []
        columns: list[str] = []
        order = [k for k in self.doc.data if k in ("grid", "zip")]
        for section in order:
            if section == "grid":
                for key, raw in spec.grid.items():
                    axes.append(self.axis(("grid", key), [(key, raw)], columns))
            else:
                groups = [spec.zip] if isinstance(spec.zip, dict) else list(spec.zip)
                for g, group in enumerate(groups):
                    where: Loc = ("zip",) if isinstance(spec.zip, dict) else ("zip", g)
                    if not group:
                        raise self.err(where, "expected a mapping of target -> values (at least one)")
                    axes.append(self.axis(where, list(group.items()), columns))
        for m in metrics:
            if m.name in columns:
                raise self.err(("metrics", m.name), f"metric name {m.name!r} is also a parameter column; rename one "
                                                    "(parameters take another column name with as:)")
        n = math.prod(len(a) for a in axes) * spec.replications
        if n > MAX_RUNS:
            raise self.err((order[0],) if order else ("replications",),
                           f"{n} runs is more than {MAX_RUNS}; sweep fewer values")

        level = max((m.level for m in metrics), default=Level.COUNTERS)
        if spec.expectations:
            from tcpsim.scenario.expect import required_level

            level = max([level, *(required_level(e) for e in base.expect)])
        if spec.trace is not None:
            written = Level.parse(spec.trace)
            if written < level:
                need = next((m for m in metrics if m.level > written), None)
                what = f"metric {need.name!r} reads" if need else "the scenario's expectations read"
                raise self.err(("trace",), f"trace level {spec.trace!r} does not keep what {what}; use "
                                           f"{level.name.lower()} or higher, or leave trace: out to have it chosen")
            level = written

        name = spec.name or self.path.stem
        fingerprint = _digest({
            "tcpsim": __version__, "scenario": base_doc_text(base_doc), "default_name": Path(scenario_path).stem,
            "variant": spec.variant,
            "fixed": [[self.targets[a.target].key, a.value] for a in fixed], "seeds": spec.seeds,
            "level": level.name.lower(), "expectations": spec.expectations,
            "metrics": [[m.name, m.text] for m in metrics],
        })
        plan = Plan(
            file=str(self.path), name=name, description=spec.description, scenario_file=str(scenario_path),
            doc=base_doc, default_name=Path(scenario_path).stem, variant=spec.variant, targets=self.targets,
            fixed=fixed, axes=axes, columns=columns, metrics=metrics, level=level.name.lower(),
            expectations=spec.expectations, replications=spec.replications, seed=spec.seed, seeds=spec.seeds,
            fingerprint=fingerprint, shape=shape,
        )
        self.check_runs(plan)
        return plan

    # -- metrics ----------------------------------------------------------------------------

    def metrics(self, shape: Shape) -> list[MetricDef]:
        out: list[MetricDef] = []
        for name, raw in self.spec.metrics.items():
            loc: Loc = ("metrics", name)
            if not isinstance(name, str) or not _METRIC.match(name):
                raise self.err(loc, f"expected a metric name (letters, digits, '_'), got {describe(name)}")
            if name in FIXED_COLUMNS:
                raise self.err(loc, f"{name!r} is a column every table has ({', '.join(FIXED_COLUMNS)}); "
                                    "choose another name")
            label = name
            text = raw
            if isinstance(raw, dict):
                unknown = [k for k in raw if k not in ("expr", "label")]
                if unknown:
                    raise self.err((*loc, unknown[0]), f"unknown key {unknown[0]!r} (expected one of: expr, label)")
                if "expr" not in raw:
                    raise self.err(loc, "missing required key 'expr'")
                text, label = raw["expr"], raw.get("label", name)
                if not isinstance(label, str):
                    raise self.err((*loc, "label"), f"expected a string, got {describe(label)}")
                loc = (*loc, "expr")
            if not isinstance(text, str):
                raise self.err(loc, f"expected a path into summary.json or an expression, got {describe(text)}")
            try:
                compiled = compile_metric(text, shape, "metric")
            except ExprError as exc:
                raise self.err(loc, str(exc).removeprefix("metric: ")) from None
            out.append(MetricDef(name, compiled.text, label, compiled.level))
        return out

    # -- targets ----------------------------------------------------------------------------

    def target(self, text: Any, loc: Loc) -> int:
        if not isinstance(text, str) or not text:
            raise self.err(loc, f"expected a parameter name or a path such as hosts.HOST.sysctl.KNOB, "
                                f"got {describe(text)}")
        t = self.parse_target(text, loc)
        if t.key in self.target_at:
            first = format_path(self.target_at[t.key])
            raise self.err(loc, f"{text!r} changes the same value as {first}; give each value once")
        self.target_at[t.key] = loc
        self.targets.append(t)
        return len(self.targets) - 1

    def parse_target(self, text: str, loc: Loc) -> Target:
        base = self.base
        norm = re.sub(r"\[(\d+)\]", r".\1", text)
        if "." not in norm:
            if norm == "until":
                return Target(text, loc=("until",))
            if norm == "seed":
                raise self.err(loc, "the sweep gives each run its seed (see seed: and seeds: in docs/sweeps.md)")
            if norm in base.params:
                return Target(text, param=norm)
            defined = ", ".join(base.params) or "the scenario defines no params"
            raise self.err(loc, f"unknown parameter {text!r} (the scenario's params: {defined}; or a path: "
                                "hosts.HOST.sysctl.KNOB, hosts.HOST.profile, links.LINK.KEY, apps.APP.KEY, until)")
        root, _, rest = norm.partition(".")
        if root == "hosts":
            return self.host_target(text, rest, loc)
        if root == "links":
            return self.link_target(text, rest, loc)
        if root == "apps":
            return self.app_target(text, rest, loc)
        raise self.err(loc, f"cannot sweep {text!r} (expected a scenario parameter, hosts.HOST.sysctl.KNOB, "
                            "hosts.HOST.profile, links.LINK.KEY, apps.APP.KEY or until)")

    def _named(self, rest: str, names: Sequence[str], what: str, text: str, loc: Loc) -> tuple[int, str]:
        """``NAME.more`` or ``INDEX.more`` -> (index, 'more'); names may hold dots, so the longest wins."""
        best = None
        for i, n in enumerate(names):
            if (rest == n or rest.startswith(n + ".")) and (best is None or len(n) > len(names[best])):
                best = i
        if best is not None:
            return best, rest[len(names[best]) + 1:]
        head, _, tail = rest.partition(".")
        if head.isdigit():
            i = int(head)
            if i >= len(names):
                raise self.err(loc, f"there is no {what} {i} (the scenario has {len(names)}: "
                                    f"{', '.join(names) or 'none'})")
            return i, tail
        raise self.err(loc, f"unknown {what} {head!r} (expected one of: {', '.join(names) or 'none'}; "
                            "or an index)")

    def host_target(self, text: str, rest: str, loc: Loc) -> Target:
        from tcpsim.scenario.model import IP_SYSCTLS
        from tcpsim.tcp.config import KNOBS, knob_names

        hosts = list(self.base.hosts)
        best = max((h for h in hosts if rest.startswith(h + ".")), key=len, default=None)
        if best is None:
            head = rest.partition(".")[0]
            raise self.err(loc, f"unknown host {head!r} (expected one of: {', '.join(hosts)})")
        what = rest[len(best) + 1:]
        key, _, knob = what.partition(".")
        if key == "profile" and not knob:
            return Target(text, loc=("hosts", best, "profile"))
        if key not in ("sysctl", "sysctls") or not knob:
            raise self.err(loc, f"expected hosts.{best}.sysctl.KNOB or hosts.{best}.profile")
        if knob in IP_SYSCTLS:
            return Target(text, loc=("hosts", best, "sysctl", knob))
        if knob not in knob_names():
            import difflib

            close = difflib.get_close_matches(knob, knob_names() + list(IP_SYSCTLS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.err(loc, f"unknown setting {knob!r} ({hint}see docs/profiles.md for the knobs "
                                "and their real names)")
        spellings: set[str] = set()
        for k in KNOBS:
            names = set(k.names) | {n[len(p):] for n in k.names for p in ("net.ipv4.", "net.core.") if n.startswith(p)}
            if knob in names:
                spellings = names
        return Target(text, loc=("hosts", best, "sysctl", knob), drop=tuple(sorted(spellings - {knob})))

    def link_target(self, text: str, rest: str, loc: Loc) -> Target:
        from tcpsim.scenario.linkspec import DirectionSpec, GilbertSpec

        names = [link.link_name for link in self.base.links]
        i, path = self._named(rest, names, "link", text, loc)
        parts = path.split(".") if path else []
        keys = list(DirectionSpec.PARAM_KEYS)
        expected = f"links.{names[i]}.KEY with KEY one of: {', '.join(keys)} (optionally after a_to_b. or b_to_a.)"
        if parts and parts[0] in ("a_to_b", "b_to_a"):
            body = parts[1:]
        else:
            body = parts
        if not body or body[0] not in keys:
            raise self.err(loc, f"expected {expected}")
        if body[0] == "gilbert":
            gkeys = list(GilbertSpec.model_fields)
            if len(body) != 2 or body[1] not in gkeys:
                raise self.err(loc, f"expected gilbert.KEY with KEY one of: {', '.join(gkeys)}")
        elif len(body) != 1:
            raise self.err(loc, f"{body[0]} has no keys below it")
        return Target(text, loc=("links", i, *parts))

    def app_target(self, text: str, rest: str, loc: Loc) -> Target:
        names = self.base.app_names()
        i, path = self._named(rest, names, "app", text, loc)
        parts = path.split(".") if path else []
        model = type(self.base.apps[i])
        keys = sorted(k for k in model.model_fields if k not in ("type", "name", "host"))
        if not parts or parts[0] not in keys:
            head = parts[0] if parts else ""
            import difflib

            close = difflib.get_close_matches(head, keys, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.err(loc, f"a {self.base.apps[i].type} app has no key {head!r} "
                                f"({hint}expected one of: {', '.join(keys)})")
        return Target(text, loc=("apps", i, *parts))

    # -- values -----------------------------------------------------------------------------

    def fixed(self, loc: Loc, text: str, value: Any) -> Assignment:
        t = self.target(text, loc)
        return Assignment(t, None, value, value, loc)

    def axis(self, where: Loc, entries: list[tuple[Any, Any]], columns: list[str]) -> list[list[Assignment]]:
        """One axis of the product: a grid entry, or a zip group (lists advancing together)."""
        lists: list[list[Assignment]] = []
        for key, raw in entries:
            loc: Loc = (*where, key) if where[0] == "zip" else where
            t = self.target(key, loc)
            values, locs, column, apply = self.values(raw, loc, str(key))
            if column in columns or column in FIXED_COLUMNS:
                raise self.err(loc, f"column name {column!r} is taken; name this one with as:")
            if not _COLUMN.match(column):
                raise self.err(loc, f"expected a column name of letters, digits, '_', '.' and '-', got {column!r}")
            columns.append(column)
            row = []
            for v, vloc in zip(values, locs, strict=True):
                applied = v
                if apply is not None:
                    applied = evaluate(apply, {}, names={"value": v})
                    if applied is None:
                        raise self.err((*loc, "apply"), f"gives null for value {describe(v)}")
                row.append(Assignment(t, column, v, applied, vloc))
            if lists and len(row) != len(lists[0]):
                first = entries[0][0]
                raise self.err(loc, f"expected {len(lists[0])} values like {first!r} (zipped lists advance "
                                    f"together), got {len(row)}")
            lists.append(row)
        return [list(point) for point in zip(*lists, strict=True)]

    def values(self, raw: Any, loc: Loc, key: str) -> tuple[list[Any], list[Loc], str, Compiled | None]:
        column = key
        apply: Compiled | None = None
        if isinstance(raw, dict):
            allowed = ("values", "from", "to", "step", "factor", "count", "log", "as", "apply")
            for k in raw:
                if k not in allowed:
                    import difflib

                    close = difflib.get_close_matches(str(k), allowed, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise self.err((*loc, k), f"unknown key {k!r} ({hint}expected one of: {', '.join(allowed)})")
            if "as" in raw:
                column = raw["as"]
                if not isinstance(column, str):
                    raise self.err((*loc, "as"), f"expected a column name, got {describe(column)}")
            if "apply" in raw:
                try:
                    apply = compile_apply(raw["apply"], "apply")
                except ExprError as exc:
                    raise self.err((*loc, "apply"), str(exc).removeprefix("apply: ")) from None
            if "values" in raw:
                extra = [k for k in ("from", "to", "step", "factor", "count", "log") if k in raw]
                if extra:
                    raise self.err((*loc, extra[0]), "give either values: or a range (from, to, step/factor/count)")
                return (*self.value_list(raw["values"], (*loc, "values")), column, apply)
            values = self.value_range(raw, loc)
            return values, [loc] * len(values), column, apply
        if isinstance(raw, list):
            return (*self.value_list(raw, loc), column, apply)
        raise self.err(loc, f"expected a list of values, or a range such as {{from: 0, to: 0.2, step: 0.05}}, "
                            f"got {describe(raw)}")

    def value_list(self, raw: Any, loc: Loc) -> tuple[list[Any], list[Loc]]:
        if not isinstance(raw, list) or not raw:
            raise self.err(loc, f"expected a non-empty list of values, got {describe(raw)}")
        seen: dict[str, int] = {}
        for i, v in enumerate(raw):
            if v is None or not isinstance(v, bool | int | float | str):
                raise self.err((*loc, i), f"expected a number, a string or true/false, got {describe(v)}")
            if isinstance(v, float) and not math.isfinite(v):
                raise self.err((*loc, i), f"expected a finite number, got {v}")
            k = _canonical(v)
            if k in seen:
                raise self.err((*loc, i), f"duplicate value {describe(v)} (already at index {seen[k]}); "
                                          "use replications: to repeat runs")
            seen[k] = i
        return list(raw), [(*loc, i) for i in range(len(raw))]

    def value_range(self, raw: dict[str, Any], loc: Loc) -> list[Any]:
        for k in ("from", "to"):
            if k not in raw:
                raise self.err(loc, f"missing required key {k!r} (a range is {{from, to, step}}, "
                                    "{from, to, factor} or {from, to, count})")
        lo, hi = raw["from"], raw["to"]
        for k, v in (("from", lo), ("to", hi)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise self.err((*loc, k), f"expected a number, got {describe(v)}")
        if lo > hi:
            raise self.err((*loc, "to"), f"expected to >= from ({lo}), got {hi}")
        ways = [k for k in ("step", "factor", "count") if k in raw]
        if len(ways) != 1:
            raise self.err(loc, "a range needs exactly one of step (from, from+step, ...), factor (from, "
                                "from*factor, ...) or count (count values from..to)")
        way = ways[0]
        by = raw[way]
        if isinstance(by, bool) or not isinstance(by, int | float) or not math.isfinite(by):
            raise self.err((*loc, way), f"expected a number, got {describe(by)}")
        if "log" in raw and (way != "count" or not isinstance(raw["log"], bool)):
            raise self.err((*loc, "log"), "log: true|false goes with count: (count values spaced evenly on a log scale)")
        ints = all(isinstance(v, int) for v in (lo, hi, by))
        out: list[float] = []
        if way == "step":
            if by <= 0:
                raise self.err((*loc, "step"), f"expected a step > 0, got {by}")
            n = math.floor((hi - lo) / by + 1e-9) + 1
            if n > MAX_VALUES:
                raise self.err((*loc, "step"), f"{n} values is more than {MAX_VALUES}")
            out = [lo + i * by for i in range(n)]
        elif way == "factor":
            if by <= 1:
                raise self.err((*loc, "factor"), f"expected a factor > 1, got {by}")
            if lo <= 0:
                raise self.err((*loc, "from"), f"expected from > 0 with factor:, got {lo}")
            v = lo
            while v <= hi * (1 + 1e-9):
                out.append(v)
                v = v * by
                if len(out) > MAX_VALUES:
                    raise self.err((*loc, "factor"), f"more than {MAX_VALUES} values")
        else:
            if not isinstance(by, int) or by < 1:
                raise self.err((*loc, "count"), f"expected an integer count >= 1, got {by}")
            if by > MAX_VALUES:
                raise self.err((*loc, "count"), f"{by} values is more than {MAX_VALUES}")
            if by == 1:
                if lo != hi:
                    raise self.err((*loc, "count"), "count: 1 needs from == to")
                out = [lo]
            elif raw.get("log"):
                if lo <= 0:
                    raise self.err((*loc, "from"), f"expected from > 0 with log: true, got {lo}")
                ratio = (hi / lo) ** (1 / (by - 1))
                out = [lo * ratio ** i for i in range(by)]
            else:
                out = [lo + (hi - lo) * i / (by - 1) for i in range(by)]
            ints = ints and all(float(v).is_integer() for v in out) and not raw.get("log")
        if ints:
            return [int(round(v)) for v in out]
        # 0.1 + 2 * 0.05 is 0.20000000000000004; what was meant is 0.2.
        cleaned = [float(f"{v:.12g}") for v in out]
        if len(set(cleaned)) != len(cleaned):
            raise self.err(loc, "the range gives the same value twice; widen it or take fewer values")
        return cleaned

    # -- every run's scenario ----------------------------------------------------------------

    def check_runs(self, plan: Plan) -> None:
        """Validate the scenario of every combination; a bad one is reported at the sweep's value."""
        from tcpsim.scenario.params import substitute

        for combo in plan.combinations():
            values = [(a.target, a.value) for a in (*plan.fixed, *combo)]
            try:
                scenario_for(plan, values)
            except ScenarioError as exc:
                assignments = [*combo, *plan.fixed]
                doc, _ = _doc_only(plan, values)
                try:
                    params = {p: v for t, v in values if (p := plan.targets[t].param) is not None}
                    src = substitute(doc, params, plan.variant).source_of(exc.yaml_path)
                except ScenarioError:
                    src = None
                culprit = None
                for a in assignments:
                    t = plan.targets[a.target]
                    if t.param is not None and t.param == src:
                        culprit = a
                        break
                    p = format_path(t.loc) if t.param is None else None
                    if p and exc.yaml_path and (exc.yaml_path == p or exc.yaml_path.startswith(p + ".") or exc.yaml_path.startswith(p + "[")):
                        culprit = a
                        break
                if culprit is not None:
                    t = plan.targets[culprit.target]
                    shown = describe(culprit.raw) + ("" if culprit.raw == culprit.value else
                                                     f" (applied as {describe(culprit.value)})")
                    raise self.err(culprit.loc, f"{t.text} = {shown} makes an invalid scenario: {exc}") from None
                where = assignments[0].loc if assignments else ("scenario",)
                described = ", ".join(f"{a.column or plan.targets[a.target].text}={describe(a.raw)}"
                                      for a in assignments)
                raise self.err(where, f"the run with {described} is not a valid scenario: {exc}") from None


def _doc_only(plan: Plan, values: Sequence[tuple[int, Any]]) -> tuple[Document, None]:
    data: Any = plan.doc.data
    for t, v in values:
        target = plan.targets[t]
        if target.param is None:
            data = _set(data, target.loc, v, target.drop)
    return Document(plan.doc.file, data, plan.doc.root), None


def base_doc_text(doc: Document) -> str:
    """The base scenario's data, canonically: runs are redone when the scenario changes."""
    return _canonical(doc.data) if _jsonable(doc.data) else repr(doc.data)


def _jsonable(data: Any) -> bool:
    try:
        _canonical(data)
    except (TypeError, ValueError):
        return False
    return True
