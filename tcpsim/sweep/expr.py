"""Metrics: a dotted path into summary.json, or a small expression over it.

A sweep names what to measure in each run the way a person would read it off
``summary.json``::

    apps.client.results.connect_times.0                                 # a path
    apps.client.results.connections_made / apps.client.count_started    # an expression
    first_error('client', 'EADDRNOTAVAIL')                              # a helper

Expressions are Python syntax, parsed with :mod:`ast` and evaluated by a
walker that knows a short list of node kinds (arithmetic, comparisons,
``and``/``or``/``not``, ``x if c else y``, indexing, calls of the helpers in
``FUNCTIONS``). Nothing else is allowed: no names but the summary's own
top-level keys, no attribute but mapping keys, no comprehensions, no lambdas,
so a sweep file cannot run code. The check happens when the sweep is loaded,
against the shape of the base scenario's summary (its hosts, apps, routers,
fault rules, each app type's result fields), so a misspelt app or result is
an error at its line before anything runs.

Missing data is not an error: a path that a run does not have (the first
connect time of a client that never connected) is ``null``, and so is any
arithmetic or comparison that involves ``null``, or a division by zero. The
table then shows an empty cell, which is what happened.
"""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tcpsim.trace.records import Level

__all__ = [
    "APP_RESULT_KEYS", "Compiled", "ExprError", "FUNCTIONS", "Shape", "compile_apply", "compile_metric",
    "evaluate", "summary_shape",
]

MAX_LENGTH = 1000


class ExprError(ValueError):
    """What is wrong with a metric or an ``apply`` expression, worded for the user."""


# -- what a summary looks like -------------------------------------------------------------------

# ``FREE``: any key or index below is fine (and may be missing in a given run).
FREE: Mapping[str, Any] = {"*": None}
# ``LEAF``: a plain value, nothing below it.
LEAF: Mapping[str, Any] = {}

_COMMON_TCP = ("errors", "error_counts", "starts", "kills", "connections")

#: Result fields per app type (docs/summary.md), for checking ``apps.NAME.results.FIELD`` early.
APP_RESULT_KEYS: dict[str, tuple[str, ...]] = {
    "ping": ("dst", "transmitted", "received", "errors", "duplicates", "loss_pct", "rtt_min", "rtt_avg",
             "rtt_max", "rtt_mdev", "time", "replies"),
    "traceroute": ("dst", "reached", "hops"),
    "tcp-server": ("port", "behaviour", "accepted", "open", "requests", "bytes_received", "bytes_sent",
                   "transfers", "listener", *_COMMON_TCP),
    "tcp-client": ("dst", "port", "connections_made", "connections_failed", "requests", "bytes_sent",
                   "bytes_received", "connect_times", "completion_times", "completion_time", "goodput_bps",
                   *_COMMON_TCP),
    "bulk": ("dst", "port", "connections_made", "connections_failed", "bytes_sent", "completion_time",
             "goodput_bps", *_COMMON_TCP),
    "syn-flood": ("dst", "port", "syns_sent", "first", "last", *_COMMON_TCP),
    "port-scan": ("dst", "open", "closed", "filtered", *_COMMON_TCP),
    "churn": ("dst", "port", "attempts", "connections_made", "connections_failed", "requests", *_COMMON_TCP),
    "vanishing-client": ("dst", "port", "vanished", "connections_made", "connections_failed", "requests",
                         *_COMMON_TCP),
}
APP_RESULT_KEYS["sink"] = APP_RESULT_KEYS["tcp-server"]

_COUNTERS = {"sent": LEAF, "received": LEAF, "forwarded": LEAF, "dropped": FREE}
# Paths below these need the trace's state records (``trace: states`` or more).
_NEEDS_STATES = "connections"


@dataclass(frozen=True)
class Shape:
    """The summary of one scenario, as far as names go: what ``apps.X.results.Y`` may say."""

    hosts: tuple[str, ...]
    routers: tuple[str, ...]
    apps: dict[str, str]  # name -> type
    params: tuple[str, ...]
    faults: tuple[str, ...]

    def tree(self) -> dict[str, Any]:
        return {
            "version": LEAF, "scenario": LEAF, "seed": LEAF, "end_time": LEAF, "trace_level": LEAF,
            "variant": LEAF, "passed": LEAF, "expectations": FREE,
            "hosts": {h: {"address": LEAF, "counters": _COUNTERS, "connections": FREE} for h in self.hosts},
            "routers": {r: {"addresses": FREE, "counters": _COUNTERS} for r in self.routers},
            "apps": {a: {"type": LEAF, "host": LEAF,
                         "results": dict.fromkeys(APP_RESULT_KEYS.get(t, ()), FREE) if t in APP_RESULT_KEYS
                         else FREE}
                     for a, t in self.apps.items()},
            "params": dict.fromkeys(self.params, FREE),
            "faults": {f: {"matched": LEAF, "applied": LEAF} for f in self.faults},
        }

    @property
    def nodes(self) -> tuple[str, ...]:
        return self.hosts + self.routers


def summary_shape(scenario: Any) -> Shape:
    """The ``Shape`` of the summaries a validated ``Scenario`` produces."""
    return Shape(
        hosts=tuple(scenario.hosts), routers=tuple(scenario.router_names),
        apps={n: a.type for n, a in zip(scenario.app_names(), scenario.apps, strict=True)},
        params=tuple(scenario.params), faults=tuple(scenario.fault_names()),
    )


def _hint(word: str, known: Iterable[str]) -> str:
    names = list(known)
    close = difflib.get_close_matches(word, names, n=1)
    listed = ", ".join(names) if names else "none"
    return (f"did you mean {close[0]!r}? " if close else "") + f"expected one of: {listed}"


_WHAT = {"hosts": "host", "routers": "router", "apps": "app", "params": "parameter", "faults": "fault rule"}


def check_path(parts: list[str | int], shape: Shape, shown: str) -> Level:
    """Check the start of a path against the shape; the level of trace it needs. ``shown`` names it in errors."""
    node: Mapping[str, Any] = shape.tree()
    level = Level.COUNTERS
    for depth, part in enumerate(parts):
        if node is FREE:
            break
        key = str(part)
        if key not in node:
            parent = str(parts[depth - 1]) if depth else ""
            if depth == 0:
                what = "top-level field of summary.json"
            elif depth == 1 and parent in _WHAT:
                what = _WHAT[parent]
            elif depth == 3 and parts[0] == "apps" and parts[2] == "results":
                what = f"result of a {shape.apps.get(str(parts[1]), '?')} app (see docs/summary.md)"
            else:
                what = "field"
            if node is LEAF:
                raise ExprError(f"{shown}: {'.'.join(map(str, parts[:depth]))} is a plain value; "
                                f"it has no {key!r}")
            raise ExprError(f"{shown}: unknown {what} {key!r} ({_hint(key, node)})")
        if depth == 2 and parts[0] == "hosts" and key == _NEEDS_STATES:
            level = Level.STATES
        node = node[key]
    return level


# -- values: null propagates -----------------------------------------------------------------------


def _num(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _items(args: tuple[Any, ...]) -> list[Any]:
    """``min(a, b)`` or ``min(list)``: the values, nulls left out."""
    seq = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
    return [v for v in seq if v is not None]


def _f_len(x: Any) -> Any:
    return None if x is None else len(x) if isinstance(x, list | dict | str) else None


def _f_sum(*args: Any) -> Any:
    if len(args) == 1 and args[0] is None:
        return None
    vals = [v for v in _items(args) if _num(v) or isinstance(v, bool)]
    return sum(vals) if vals or args else None


def _f_min(*args: Any) -> Any:
    vals = _items(args)
    return min(vals) if vals else None


def _f_max(*args: Any) -> Any:
    vals = _items(args)
    return max(vals) if vals else None


def _f_mean(*args: Any) -> Any:
    vals = [v for v in _items(args) if _num(v)]
    return sum(vals) / len(vals) if vals else None


def _f_median(*args: Any) -> Any:
    vals = sorted(v for v in _items(args) if _num(v))
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def _f_abs(x: Any) -> Any:
    return abs(x) if _num(x) else None


def _f_round(x: Any, n: Any = 0) -> Any:
    return round(x, int(n)) if _num(x) and _num(n) else None


def _f_sqrt(x: Any) -> Any:
    return math.sqrt(x) if _num(x) and x >= 0 else None


def _f_log(x: Any) -> Any:
    return math.log(x) if _num(x) and x > 0 else None


def _f_log10(x: Any) -> Any:
    return math.log10(x) if _num(x) and x > 0 else None


def _f_coalesce(*args: Any) -> Any:
    return next((a for a in args if a is not None), None)


def _f_str(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _f_int(x: Any) -> Any:
    try:
        return None if x is None else int(x)
    except (TypeError, ValueError, OverflowError):
        return None


def _f_float(x: Any) -> Any:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


def _f_pluck(items: Any, key: Any) -> Any:
    if not isinstance(items, list):
        return None
    return [it.get(key) if isinstance(it, dict) else None for it in items]


def _f_where(items: Any, key: Any, value: Any) -> Any:
    if not isinstance(items, list):
        return None
    return [it for it in items if isinstance(it, dict) and it.get(key) == value]


@dataclass(frozen=True)
class Function:
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: any number
    doc: str
    # Which arguments name something of the scenario: index -> "host", "node", "app", "state".
    names: tuple[tuple[int, str], ...] = ()
    level: Level = Level.COUNTERS
    needs: str = ""  # "summary": called with the summary first; "counters": with the trace counters


FUNCTIONS: dict[str, Function] = {
    "len": Function(_f_len, 1, 1, "number of items of a list (null for null)"),
    "sum": Function(_f_sum, 1, None, "sum of a list, or of the arguments; nulls left out"),
    "min": Function(_f_min, 1, None, "smallest of a list or of the arguments; nulls left out; null if none"),
    "max": Function(_f_max, 1, None, "largest of a list or of the arguments; nulls left out; null if none"),
    "mean": Function(_f_mean, 1, None, "arithmetic mean of the numbers of a list; null if none"),
    "median": Function(_f_median, 1, None, "median of the numbers of a list; null if none"),
    "abs": Function(_f_abs, 1, 1, "absolute value"),
    "round": Function(_f_round, 1, 2, "round(x) or round(x, digits)"),
    "sqrt": Function(_f_sqrt, 1, 1, "square root (null below 0)"),
    "log": Function(_f_log, 1, 1, "natural logarithm (null at or below 0)"),
    "log10": Function(_f_log10, 1, 1, "decimal logarithm (null at or below 0)"),
    "coalesce": Function(_f_coalesce, 1, None, "the first argument that is not null"),
    "str": Function(_f_str, 1, 1, "the value as text (4.0 as '4')"),
    "int": Function(_f_int, 1, 1, "the value as an integer (null if it is not one)"),
    "float": Function(_f_float, 1, 1, "the value as a number"),
    "pluck": Function(_f_pluck, 2, 2, "pluck(list, 'key'): each item's value at key"),
    "where": Function(_f_where, 3, 3, "where(list, 'key', value): the items whose key equals value"),
    "get": Function(lambda s, path, default=None: _get_path(s, path, default), 1, 2,
                    "get('dotted.path', default): the value at a path, or default", needs="summary"),
    "counter": Function(lambda c, node, name: c.get((node, name), 0), 2, 2,
                        "counter('node', 'name'): a trace counter of a host or router (drop:loss, timer:rto, "
                        "tcp:enter:SYN_RECV, tcp:listen_drops, ...); 0 if it never counted",
                        names=((0, "node"),), needs="counters"),
    "first_error": Function(lambda s, app, errno: _first_error(s, app, errno), 2, 2,
                            "first_error('app', 'ERRNO'): time of the app's first error with that errno, or null",
                            names=((0, "app"),), needs="summary"),
    "error_count": Function(lambda s, app, errno: _error_count(s, app, errno), 2, 2,
                            "error_count('app', 'ERRNO'): how many times the app saw that errno (0 if never)",
                            names=((0, "app"),), needs="summary"),
    "peak": Function(lambda s, host, state: _peak(s, host, state), 2, 2,
                     "peak('host', 'STATE'): most connections of the host in that state at once (needs states)",
                     names=((0, "host"), (1, "state")), level=Level.STATES, needs="summary"),
    "in_state": Function(lambda s, host, state, t: _in_state(s, host, state, t), 3, 3,
                         "in_state('host', 'STATE', t): connections of the host in that state at time t "
                         "(needs states)", names=((0, "host"), (1, "state")), level=Level.STATES,
                         needs="summary"),
}

# Functions an ``apply`` expression may use: only those of plain values.
_APPLY_FUNCTIONS = {n for n, f in FUNCTIONS.items() if not f.needs}

_PATH_PART = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_-]*|\d+)$")


def _get_path(summary: Any, path: Any, default: Any = None) -> Any:
    if not isinstance(path, str):
        return default
    value = summary
    for part in path.split("."):
        value = _index(value, int(part) if part.isdigit() else part)
        if value is None:
            return default
    return value


def _app_errors(summary: Mapping[str, Any], app: str) -> list[Any]:
    results = ((summary.get("apps") or {}).get(app) or {}).get("results") or {}
    errors = results.get("errors")
    return errors if isinstance(errors, list) else []


def _first_error(summary: Mapping[str, Any], app: str, errno: str) -> Any:
    times = [float(e["t"]) for e in _app_errors(summary, app)
             if isinstance(e, dict) and e.get("errno") == errno and _num(e.get("t"))]
    return min(times) if times else None


def _error_count(summary: Mapping[str, Any], app: str, errno: str) -> int:
    return sum(1 for e in _app_errors(summary, app) if isinstance(e, dict) and e.get("errno") == errno)


def _state_value(name: str) -> str:
    from tcpsim.tcp.state import State

    return State.parse(name).value


def _stays(summary: Mapping[str, Any], host: str, state: str) -> list[tuple[float, float]]:
    """Every stay of the host's connections in ``state``: (entered, left); left = end of run if still in it."""
    want = _state_value(state)
    end = float(summary.get("end_time") or 0.0)
    conns = ((summary.get("hosts") or {}).get(host) or {}).get("connections") or []
    out: list[tuple[float, float]] = []
    for c in conns:
        states = c.get("states") or []
        for i, s in enumerate(states):
            if s.get("state") == want:
                left = states[i + 1]["t"] if i + 1 < len(states) else end
                out.append((float(s["t"]), float(left)))
    return out


def _peak(summary: Mapping[str, Any], host: str, state: str) -> int:
    events = []
    for a, b in _stays(summary, host, state):
        events.append((a, 1))
        events.append((b, -1))
    # At equal times a leave is counted before an enter: a connection that moves on at t and one
    # that arrives at t were never there together.
    events.sort(key=lambda e: (e[0], e[1]))
    best = cur = 0
    for _, d in events:
        cur += d
        best = max(best, cur)
    return best


def _in_state(summary: Mapping[str, Any], host: str, state: str, t: Any) -> Any:
    if not _num(t):
        return None
    return sum(1 for a, b in _stays(summary, host, state) if a <= t < b)


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value.get(key if isinstance(key, str) else str(key))
    if isinstance(value, list) and isinstance(key, int) and not isinstance(key, bool):
        return value[key] if -len(value) <= key < len(value) else None
    return None


# -- compiling ----------------------------------------------------------------------------------

_ALLOWED_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_ALLOWED_CMPOPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_OP_WORDS = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
             ast.MatMult: "@", ast.Invert: "~", ast.Is: "is", ast.IsNot: "is not"}
_KIND_WORDS = {
    ast.Lambda: "lambda", ast.ListComp: "a list comprehension", ast.GeneratorExp: "a generator",
    ast.DictComp: "a dict comprehension", ast.SetComp: "a set comprehension", ast.Dict: "a dict literal",
    ast.Set: "a set literal", ast.JoinedStr: "an f-string", ast.NamedExpr: "':='", ast.Starred: "'*'",
    ast.Await: "await", ast.Yield: "yield", ast.Slice: "a slice",
}


@dataclass(frozen=True)
class Compiled:
    """A checked metric: its text, and the trace level it needs."""

    text: str
    tree: ast.Expression
    level: Level


def _parse(text: str, shown: str) -> ast.Expression:
    if not isinstance(text, str) or not text.strip():
        raise ExprError(f"{shown}: expected a path such as apps.client.results.requests, or an expression")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"{shown}: expression longer than {MAX_LENGTH} characters")
    stripped = text.strip()
    parts = stripped.split(".")
    if len(parts) > 1 and all(_PATH_PART.match(p) for p in parts) and not any(p.isdigit() for p in parts[:1]):
        # A plain dotted path (hyphens and numeric indexes allowed): build its tree directly.
        node: ast.expr = ast.Name(id=parts[0], ctx=ast.Load())
        for p in parts[1:]:
            node = ast.Subscript(value=node, slice=ast.Constant(int(p) if p.isdigit() else p), ctx=ast.Load())
        return ast.Expression(body=node)
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExprError(f"{shown}: not a valid expression{where}: {exc.msg}") from None
    return tree


def _path_of(node: ast.expr) -> list[str | int] | None:
    """``apps.client.results['x'][0]`` -> ['apps', 'client', 'results', 'x', 0]; None when not a constant path."""
    parts: list[str | int] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, str | int) and not isinstance(node.slice.value, bool):
            parts.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            return parts[::-1]
        else:
            return None


class _Checker:
    def __init__(self, shown: str, shape: Shape | None, names: set[str], functions: set[str]) -> None:
        self.shown, self.shape, self.names, self.functions = shown, shape, names, functions
        self.level = Level.COUNTERS

    def fail(self, message: str) -> ExprError:
        return ExprError(f"{self.shown}: {message}")

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            self.visit(node.body)
        elif isinstance(node, ast.Constant):
            if not (node.value is None or isinstance(node.value, bool | int | float | str)):
                raise self.fail(f"constant {node.value!r} not allowed")
        elif isinstance(node, ast.Name):
            if node.id not in self.names:
                if node.id in self.functions:
                    raise self.fail(f"{node.id} is a function; call it: {node.id}(...)")
                raise self.fail(f"unknown name {node.id!r} ({_hint(node.id, sorted(self.names))})")
            if self.shape is not None:
                check_path([node.id], self.shape, self.shown)
        elif isinstance(node, ast.Attribute | ast.Subscript):
            path = _path_of(node)
            if path is not None and self.shape is not None and path[0] in self.names:
                self.level = max(self.level, check_path(path, self.shape, self.shown))
                return
            self.visit(node.value)
            if isinstance(node, ast.Subscript):
                self.visit(node.slice)
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ALLOWED_BINOPS):
                raise self.fail(f"operator {_OP_WORDS.get(type(node.op), type(node.op).__name__)} not allowed")
            self.visit(node.left)
            self.visit(node.right)
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Invert):
                raise self.fail("operator ~ not allowed")
            self.visit(node.operand)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self.visit(v)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                if not isinstance(op, _ALLOWED_CMPOPS):
                    raise self.fail(f"operator {_OP_WORDS.get(type(op), type(op).__name__)} not allowed "
                                    "(use == and != to compare with null)")
            self.visit(node.left)
            for c in node.comparators:
                self.visit(c)
        elif isinstance(node, ast.IfExp):
            self.visit(node.test)
            self.visit(node.body)
            self.visit(node.orelse)
        elif isinstance(node, ast.List | ast.Tuple):
            for e in node.elts:
                self.visit(e)
        elif isinstance(node, ast.Call):
            self.call(node)
        else:
            what = _KIND_WORDS.get(type(node), type(node).__name__)
            raise self.fail(f"{what} is not allowed in a metric (allowed: paths, numbers, strings, arithmetic, "
                            "comparisons, and/or/not, x if c else y, and the functions of docs/sweeps.md)")

    def call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name) or node.func.id not in self.functions:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise self.fail(f"unknown function {name!r} ({_hint(name, sorted(self.functions))})")
        fn = FUNCTIONS[node.func.id]
        if node.keywords:
            raise self.fail(f"{node.func.id}(): give the arguments by position")
        n = len(node.args)
        if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
            want = (f"{fn.min_args}" if fn.max_args == fn.min_args else
                    f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
            raise self.fail(f"{node.func.id}() takes {want} argument{'s' if want != '1' else ''}, got {n} "
                            f"({fn.doc})")
        self.level = max(self.level, fn.level)
        for i, what in fn.names:
            arg = node.args[i]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self.check_name(node.func.id, what, arg.value)
        for a in node.args:
            self.visit(a)

    def check_name(self, fn: str, what: str, value: str) -> None:
        if what == "state":
            try:
                _state_value(value)
            except ValueError:
                from tcpsim.tcp.state import State

                raise self.fail(f"{fn}(): unknown TCP state {value!r} (expected one of: "
                                f"{', '.join(s.value for s in State)})") from None
            return
        if self.shape is None:
            return
        known = {"host": self.shape.hosts, "node": self.shape.nodes, "app": tuple(self.shape.apps)}[what]
        if value not in known:
            raise self.fail(f"{fn}(): unknown {what} {value!r} ({_hint(value, known)})")


def compile_metric(text: Any, shape: Shape, shown: str) -> Compiled:
    """Parse and check a metric against the summary's shape; raises ``ExprError``."""
    tree = _parse(text, shown)
    names = set(shape.tree())
    checker = _Checker(shown, shape, names, set(FUNCTIONS))
    checker.visit(tree)
    return Compiled(str(text).strip(), tree, checker.level)


def compile_apply(text: Any, shown: str) -> Compiled:
    """An ``apply`` expression: a function of ``value`` (the swept value) only."""
    tree = _parse(text, shown)
    checker = _Checker(shown, None, {"value"}, _APPLY_FUNCTIONS)
    checker.visit(tree)
    return Compiled(str(text).strip(), tree, Level.COUNTERS)


# -- evaluating ----------------------------------------------------------------------------------

_MAX_POW = 1000


class _Eval:
    def __init__(self, names: Mapping[str, Any], summary: Mapping[str, Any],
                 counters: Mapping[tuple[str, str], int]) -> None:
        self.names, self.summary, self.counters = names, summary, counters

    def ev(self, node: ast.AST) -> Any:  # noqa: C901 - one branch per node kind reads best
        if isinstance(node, ast.Expression):
            return self.ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            return _index(self.ev(node.value), node.attr)
        if isinstance(node, ast.Subscript):
            return _index(self.ev(node.value), self.ev(node.slice))
        if isinstance(node, ast.BinOp):
            return _binop(node.op, self.ev(node.left), self.ev(node.right))
        if isinstance(node, ast.UnaryOp):
            v = self.ev(node.operand)
            if isinstance(node.op, ast.Not):
                return None if v is None else not v
            if not _num(v):
                return None
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BoolOp):
            result: Any = isinstance(node.op, ast.And)
            for e in node.values:
                result = self.ev(e)
                if bool(result) != isinstance(node.op, ast.And):
                    return result
            return result
        if isinstance(node, ast.Compare):
            left = self.ev(node.left)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self.ev(comp)
                r = _compare(op, left, right)
                if not r:
                    return r
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.ev(node.body) if self.ev(node.test) else self.ev(node.orelse)
        if isinstance(node, ast.List | ast.Tuple):
            return [self.ev(e) for e in node.elts]
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            fn = FUNCTIONS[node.func.id]
            args = [self.ev(a) for a in node.args]
            if fn.needs == "summary":
                return fn.fn(self.summary, *args)
            if fn.needs == "counters":
                return fn.fn(self.counters, *args)
            return fn.fn(*args)
        raise ExprError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover - the checker refused it


def _binop(op: ast.operator, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(op, ast.Add):
        if isinstance(a, str) and isinstance(b, str):
            return a + b
        return a + b if _num(a) and _num(b) else None
    if not (_num(a) and _num(b)):
        return None
    try:
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.FloorDiv):
            return a // b
        if isinstance(op, ast.Mod):
            return a % b
        if isinstance(op, ast.Pow):
            if abs(b) > _MAX_POW:
                return None
            r = a ** b
            return None if isinstance(r, complex) else r
    except (ZeroDivisionError, OverflowError):
        return None
    return None  # pragma: no cover


def _compare(op: ast.cmpop, a: Any, b: Any) -> Any:
    if isinstance(op, ast.Eq):
        return a == b
    if isinstance(op, ast.NotEq):
        return a != b
    if isinstance(op, ast.In | ast.NotIn):
        if not isinstance(b, list | dict | str) or (isinstance(b, str) and not isinstance(a, str)):
            return None
        found = a in b
        return found if isinstance(op, ast.In) else not found
    if a is None or b is None:
        return None
    try:
        if isinstance(op, ast.Lt):
            return a < b
        if isinstance(op, ast.LtE):
            return a <= b
        if isinstance(op, ast.Gt):
            return a > b
        return a >= b
    except TypeError:
        return None


def evaluate(compiled: Compiled, summary: Mapping[str, Any], counters: Mapping[tuple[str, str], int] | None = None,
             names: Mapping[str, Any] | None = None) -> Any:
    """The value of a compiled expression for one run (``names`` default to the summary's top level)."""
    scope = summary if names is None else names
    value = _Eval(scope, summary, counters or {}).ev(compiled.tree)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
