"""The Python API: run, inspect and plot scenarios from a script or a notebook.

::

    import tcpsim

    run = tcpsim.run("syn-flood", seed=3, set={"flood_rate": 500})
    run.ok                       # every expectation held
    run.packets                  # one row per packet event (pandas)
    run.states                   # one row per TCP state change
    run.netstat(at=5.0, host="server")
    run.plot("ladder", start=0, end=2)
    run.save("runs/x")           # the files ``tcpsim run`` writes

    sweep = tcpsim.sweep("scenarios/sweeps/flood-backlog.yaml", jobs=2)
    sweep.results                # one row per run

The ``tcpsim`` command is a thin face on these functions: ``tcpsim run`` is
``load`` + ``run`` + ``Run.save``; ``tcpsim validate`` is ``load`` + ``check``;
``tcpsim list`` is ``scenarios``; ``tcpsim sweep`` is ``sweep``. Errors are the
exceptions whose text the command prints: ``ScenarioError`` (a bad scenario or
sweep file: ``.path``, ``.line``, ``.yaml_path``), ``OutputError`` (an output
directory that cannot be written), ``ValueError`` (a bad argument).

Every DataFrame is built from the run's trace (DESIGN.md §4) in one pass per
column (``tcpsim.frames``), so a million-packet run still builds its ``packets``
table in seconds; each is computed on first use and kept. pandas is imported
only then: ``tcpsim run`` never pays for it.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tcpsim.scenario.errors import ScenarioError
from tcpsim.scenario.model import Scenario
from tcpsim.scenario.run import OutputError, RunResult

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from tcpsim.frames import Netstat
    from tcpsim.sweep.runner import SweepReport
    from tcpsim.sweep.spec import Plan
    from tcpsim.sweep.worker import Outcome as SweepOutcome

__all__ = [
    "Expectation", "OutputError", "Run", "Scenario", "ScenarioError", "Sweep",
    "check", "load", "run", "scenarios", "sweep",
]

#: What ``scenario`` arguments may be: a file, a built-in scenario's name, plain data, or a ``Scenario``.
ScenarioLike = str | os.PathLike[str] | dict[str, Any] | Scenario

TRACE_LEVELS = ("counters", "states", "packets", "full")


# -- scenarios ----------------------------------------------------------------------------------


def load(scenario: ScenarioLike, *, set: dict[str, Any] | None = None,  # noqa: A002  (the CLI's --set)
         variant: str | None = None, trace: str | None = None) -> Scenario:
    """A validated ``Scenario`` from a file, a built-in scenario's name, a dict, or a ``Scenario``.

    ``set`` gives parameter values (as ``--set NAME=VALUE``), ``variant`` one of the
    scenario's variants, ``trace`` overrides what the trace keeps (``counters``,
    ``states``, ``packets`` or ``full``). Given a ``Scenario`` read from a file or a
    dict, ``set`` (or another ``variant``) starts again from that source with these values. Raises ``ScenarioError`` for anything wrong
    with the scenario, with the message ``tcpsim validate`` prints.
    """
    if isinstance(scenario, Scenario):
        scn = scenario
        if set or (variant is not None and variant != scenario.variant):
            doc = scenario.document
            if doc is None:
                raise ValueError("set= and variant= need the scenario's source: give a file, a name or a dict, "
                                 "or build the Scenario with the values you want")
            from tcpsim.scenario.loader import validate

            scn = validate(doc, default_name=Path(doc.file).stem, overrides=dict(set or {}), variant=variant)
            scn._doc, scn._variant = doc, variant
    elif isinstance(scenario, dict):
        scn = Scenario.from_dict(scenario, set=set, variant=variant)
    elif isinstance(scenario, str | os.PathLike):
        scn = Scenario.load(os.fspath(scenario), set=set, variant=variant)
    else:
        raise TypeError(f"scenario: expected a file name, a built-in scenario's name, a dict or a Scenario, "
                        f"got {type(scenario).__name__}")
    if trace is not None:
        scn = _with_trace(scn, trace)
    return scn


def _with_trace(scn: Scenario, level: str) -> Scenario:
    if level not in TRACE_LEVELS:
        raise ValueError(f"trace={level!r}: expected one of {', '.join(TRACE_LEVELS)}")
    new = scn.model_copy(update={"trace": level})
    for loc, message in new.problems():
        if loc[:1] == ("trace",) or "trace" in message:
            doc = scn.document
            raise ScenarioError(doc.file if doc is not None else f"<scenario {scn.name}>", "trace",
                                f"trace={level!r} is too low: {message}")
    return new


def check(scenario: Scenario) -> None:
    """Build ``scenario`` without running it (what ``tcpsim validate`` checks beyond the schema).

    Raises ``ScenarioError`` for a value the network layer refuses.
    """
    from tcpsim.scenario.build import build

    build(scenario, doc=scenario.document)


def scenarios() -> pd.DataFrame:
    """The built-in scenarios: ``name``, ``description``, ``variants`` (a list), ``path``, ``error``.

    ``error`` is None for a valid scenario, else the message that says what is wrong with it
    (the row's other columns are then empty).
    """
    import pandas as pd

    from tcpsim.scenario.library import builtin_scenarios

    rows: dict[str, list[Any]] = {"name": [], "description": [], "variants": [], "path": [], "error": []}
    for name, path in builtin_scenarios().items():
        try:
            scn = Scenario.load(path)
            description, variants, error = scn.description, list(scn.variants), None
        except ScenarioError as exc:
            description, variants, error = "", [], str(exc)
        for key, value in (("name", name), ("description", description), ("variants", variants),
                           ("path", str(path)), ("error", error)):
            rows[key].append(value)
    # Object columns: pandas would otherwise turn a missing error into NaN.
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in rows.items()})


# -- a run ---------------------------------------------------------------------------------------


def run(scenario: ScenarioLike, *, seed: int | None = None, until: float | None = None,
        set: dict[str, Any] | None = None, variant: str | None = None,  # noqa: A002
        trace: str | None = None, explain: bool = False, lang: str = "en",
        echo: Callable[[str], None] | None = None) -> Run:
    """Run a scenario to its end and check its expectations; returns a ``Run``.

    ``scenario`` is a path to a .yaml file, a built-in scenario's name (see
    ``scenarios()``), a dict, or a ``Scenario``. ``seed`` and ``until`` (seconds)
    override the scenario's; ``set``, ``variant`` and ``trace`` are as in ``load``.
    ``explain`` narrates every state change as it happens, in ``lang`` (``en`` or
    ``zh``), through ``echo`` (default ``print``). Nothing is written: see ``Run.save``.

    >>> tcpsim.run("handshake-and-close").ok
    True
    """
    from contextlib import nullcontext

    from tcpsim.scenario.run import run_scenario

    if lang not in ("en", "zh"):
        raise ValueError(f"lang={lang!r}: expected 'en' or 'zh'")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"seed={seed!r}: expected an integer >= 0")
    if until is not None and not (isinstance(until, int | float) and until > 0):
        raise ValueError(f"until={until!r}: expected a number of seconds > 0")
    scn = load(scenario, set=set, variant=variant, trace=trace)
    if explain:
        from tcpsim.trace.narrate import live, watching

        ctx: Any = watching(live(echo or print, lang))
    else:
        ctx = nullcontext()
    with ctx:
        result = run_scenario(scn, seed=seed, until=until, doc=scn.document, variant=scn.variant)
    return Run(result)


@dataclass(frozen=True)
class Expectation:
    """One line of a scenario's ``expect:`` block after the run: what it said, whether it held,
    and what happened instead when it did not."""

    text: str
    passed: bool
    instead: str = ""


class Run:
    """A finished run: its expectations, summary, and the trace as pandas DataFrames.

    Made by ``tcpsim.run``. Tables are built on first use and kept; figures are
    drawn on each ``plot`` call. In Jupyter a ``Run`` shows itself as an HTML
    summary with its figures.
    """

    def __init__(self, result: RunResult) -> None:
        self.result = result

    def __repr__(self) -> str:
        passed = sum(e.passed for e in self.expectations)
        return (f"<tcpsim.Run {self.name} seed={self.seed} end={self.end_time:g}s trace={self.trace_level} "
                f"expectations {passed}/{len(self.expectations)} passed>")

    # -- what it was --------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        """The scenario that ran (parameters substituted)."""
        return self.result.built.scenario

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def seed(self) -> int:
        return int(self.result.built.seed)

    @property
    def variant(self) -> str | None:
        return self.result.variant

    @property
    def end_time(self) -> float:
        """Simulated seconds at the end of the run."""
        return float(self.result.built.sim.now)

    @property
    def trace_level(self) -> str:
        return self.scenario.trace_level

    @property
    def records(self) -> list[tuple[Any, ...]]:
        """The raw trace records (see tcpsim/trace/records.py), state-count samples last as in trace.jsonl."""
        trace = self.result.built.sim.trace
        return trace.records + trace.count_samples

    # -- outcome -----------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """True when every expectation of the scenario held (and when it has none)."""
        return bool(self.result.built.passed)

    @cached_property
    def expectations(self) -> list[Expectation]:
        """Each expectation: ``text``, ``passed``, and ``instead`` (what happened, when it failed)."""
        return [Expectation(o.text, bool(o.passed), "" if o.passed else o.observed)
                for o in self.result.built.outcomes or []]

    @cached_property
    def summary(self) -> dict[str, Any]:
        """The content of summary.json (docs/summary.md), as a dict."""
        return self.result.summary()

    @property
    def lines(self) -> dict[str, list[str]]:
        """Each app's printed output (what ``tcpsim run`` shows), by app name."""
        return {app.name: app.lines for app in self.result.built.apps}

    # -- tables ------------------------------------------------------------------

    @cached_property
    def packets(self) -> pd.DataFrame:
        """One row per packet event: ``time, node, event, link, src, sport, dst, dport, flags, seq, ack, win,
        len, ttl, size, ip_id, proto, options, rule``.

        ``event`` is ``send``, ``recv``, ``drop`` or ``forward``; ``rule`` says why a packet
        was dropped (``queue``, ``loss``, ``ttl``, ``fault:NAME``, ...) and is None otherwise.
        TCP columns are missing (``<NA>``) for ICMP; ``options`` is tcpdump's text of the
        TCP options (``mss 1460,sackOK,...``) or None. Empty below trace level ``packets``.
        """
        from tcpsim.frames import packets_frame, paused_gc

        with paused_gc():
            return packets_frame(self.result.built.sim.trace.records)

    @cached_property
    def states(self) -> pd.DataFrame:
        """One row per TCP state change: ``time, host, conn, local, remote, old, new, cause, rfc``.

        ``conn`` is the 4-tuple as the trace names it (``LOCAL:PORT>REMOTE:PORT``; a
        listener's remote is ``0.0.0.0:*``). Empty at trace level ``counters``.
        """
        from tcpsim.frames import paused_gc, states_frame

        with paused_gc():
            return states_frame(self.result.built.sim.trace.records)

    @cached_property
    def counts(self) -> pd.DataFrame:
        """The sampled state counts: ``time, host, state, sockets``, one row per sample, host and state.

        Kept at every trace level, every ``count_interval`` simulated seconds (1 s, doubled
        on long runs); states run in netstat's order, zeros included.
        """
        from tcpsim.frames import counts_frame, paused_gc

        with paused_gc():
            return counts_frame(self.result.built.sim.trace.count_samples)

    @cached_property
    def calls(self) -> pd.DataFrame:
        """One row per application socket call that returned: ``time, host, app, call, args, conn,
        result, value, since``.

        ``result`` is ``ok`` or the errno name (``ECONNREFUSED``); ``value`` what a call that
        returns something returned (bytes read or written, the accepted connection); ``since``
        when a call that waited (connect, accept, recv, send) was made. Empty at trace level
        ``counters``.
        """
        from tcpsim.frames import calls_frame, paused_gc

        with paused_gc():
            return calls_frame(self.result.built.sim.trace.records)

    def netstat(self, at: float, host: str | None = None) -> Netstat:
        """The sockets as ``netstat -nat`` shows them at simulated time ``at``.

        A DataFrame with columns ``Host, Proto, Recv-Q, Send-Q, Local Address, Foreign
        Address, State``; ``str()`` of it (and ``print``) is ``tcpsim netstat``'s text.
        Raises ``ValueError`` for a ``host`` that had no TCP socket.
        """
        import pandas as pd

        from tcpsim.frames import Netstat
        from tcpsim.trace.netstat import endpoints, snapshot

        if isinstance(at, bool) or not isinstance(at, int | float) or at < 0:
            raise ValueError(f"at={at!r}: expected a time in seconds >= 0")
        records = self.result.built.sim.trace.records
        eps = endpoints(records)
        known = list(dict.fromkeys(ep.node for ep in eps))
        if host is not None and host not in known:
            raise ValueError(f"host={host!r}: no TCP socket on that node in this run (nodes with sockets: "
                             f"{', '.join(sorted(known)) or 'none'})")
        rows = snapshot(records, float(at), host, eps=eps)
        # Hosts in name order, as ``tcpsim netstat`` prints them; within a host, listeners first.
        rows.sort(key=lambda r: r.node)
        frame = Netstat({
            "Host": [r.node for r in rows], "Proto": [r.proto for r in rows],
            "Recv-Q": pd.array([r.recv_q for r in rows], dtype="int64"),
            "Send-Q": pd.array([r.send_q for r in rows], dtype="int64"),
            "Local Address": [r.local for r in rows], "Foreign Address": [r.foreign for r in rows],
            "State": [r.state for r in rows],
        })
        frame.attrs.update(at=float(at), host=host)
        return frame

    # -- figures -----------------------------------------------------------------

    def figures(self) -> list[str]:
        """The figure kinds this run's trace can show (``plot`` draws any of them)."""
        from tcpsim.viz.views import available_figures

        return available_figures(self.records)

    def plot(self, kind: str, start: float | None = None, end: float | None = None, *,
             nodes: Sequence[str] | None = None, relative: bool = True) -> Figure:
        """One figure of the run as a matplotlib ``Figure``: ``timeline``, ``ladder``, ``counts``,
        ``timeseq``, ``cwnd`` or ``states`` (the figures ``tcpsim run`` writes).

        ``start``/``end`` (seconds) choose the ladder's time window, ``nodes`` its columns,
        ``relative`` whether it shows sequence numbers relative to the ISN (as tcpdump does).
        """
        from tcpsim.viz.views import FIGURES, figure_for

        if kind not in FIGURES:
            raise ValueError(f"plot({kind!r}): unknown figure (known: {', '.join(FIGURES)})")
        window = None
        if start is not None or end is not None:
            if kind != "ladder":
                raise ValueError(f"plot({kind!r}): start= and end= choose the ladder's window; "
                                 f"{kind} always shows the whole run")
            window = (float(start or 0.0), float(end) if end is not None else float("inf"))
        return figure_for(kind, self.records, self._info(), window=window, nodes=nodes, relative=relative)

    def _info(self) -> Any:
        from tcpsim.viz.views import RunInfo

        scn = self.scenario
        return RunInfo(name=scn.name, description=scn.description or "", lesson=scn.lesson or "",
                       summary=self.summary, end_time=self.end_time)

    # -- files -------------------------------------------------------------------

    def save(self, out: str | os.PathLike[str], *, plots: bool = True, lang: str = "en") -> list[Path]:
        """Write the files ``tcpsim run`` writes into ``out``; returns their paths.

        trace.jsonl, packets.txt and summary.json (all at once: a directory holding
        anything else is refused), one pcap per host, and with ``plots`` the figures
        (PNG and SVG) and report.html (narration in ``lang``). Raises ``OutputError``.
        """
        from tcpsim.viz.views import write_views

        out_dir = Path(out)
        paths = self.result.write(out_dir)
        try:
            paths += write_views(self.records, out_dir, self._info(), plots=plots, lang=lang)
        except OSError as exc:
            raise OutputError(f"{out_dir}: cannot write the views: {exc.strerror or exc}") from None
        return paths

    def _repr_html_(self) -> str:
        """Jupyter's view: what ran, the expectations, packets per node, and the figures inline (SVG)."""
        from tcpsim.viz.views import figure_svg

        esc = html.escape
        scn = self.scenario
        title = esc(scn.name) + (f" (variant {esc(self.variant)})" if self.variant else "")
        parts = [f"<div class='tcpsim-run'><h3>{title}</h3>"]
        if scn.description:
            parts.append(f"<p>{esc(scn.description)}</p>")
        parts.append(f"<p>seed {self.seed}, simulated {self.end_time:g} s, trace level {esc(self.trace_level)}</p>")
        if self.expectations:
            passed = sum(e.passed for e in self.expectations)
            parts.append(f"<p><b>expectations: {passed} of {len(self.expectations)} passed</b></p><ul>")
            for e in self.expectations:
                mark = "PASS" if e.passed else "FAIL"
                instead = f" <i>instead: {esc(e.instead)}</i>" if not e.passed else ""
                parts.append(f"<li><code>{mark}</code> {esc(e.text)}{instead}</li>")
            parts.append("</ul>")
        rows = ["<tr><th>node</th><th>sent</th><th>received</th><th>forwarded</th><th>dropped</th></tr>"]
        for group in ("hosts", "routers"):
            for node, info in self.summary[group].items():
                c = info["counters"]
                dropped = ", ".join(f"{reason}={n}" for reason, n in c["dropped"].items()) or "-"
                rows.append(f"<tr><td>{esc(node)}</td><td>{c['sent']}</td><td>{c['received']}</td>"
                            f"<td>{c['forwarded']}</td><td>{esc(dropped)}</td></tr>")
        parts.append("<table>" + "".join(rows) + "</table>")
        for kind in self.figures():
            if kind == "states":
                continue  # the same for every run but for the highlights; see run.plot("states")
            svg = figure_svg(self.plot(kind), f"{scn.name}-{kind}")
            parts.append(f"<div><b>{kind}</b>{svg[svg.find('<svg'):]}</div>")
        parts.append("</div>")
        return "\n".join(parts)


# -- sweeps ----------------------------------------------------------------------------------------


def sweep(sweep_file: str | os.PathLike[str] | Plan, *, out: str | os.PathLike[str] | None = None,
          jobs: int | None = None, dask: str | None = None, keep_runs: bool = False,
          progress: Callable[[SweepOutcome], None] | None = None,
          started: Callable[[int, int], None] | None = None) -> Sweep:
    """Run a parameter sweep (docs/sweeps.md) and return its ``Sweep``.

    Writes ``out`` (default ``runs/<sweep name>``): results.csv, results.parquet,
    runs.jsonl; runs already done there are skipped (resuming). ``jobs`` local worker
    processes (default one per core), or ``dask``: a scheduler address or ``local:N``.
    ``keep_runs`` also writes each run's directory. ``started(todo, skipped)`` and
    ``progress(outcome)`` are called as the work is known and as each run ends.
    Raises ``ScenarioError`` for a bad sweep or scenario file, ``StoreError`` for an
    ``out`` that is not ours or cannot be written.
    """
    from tcpsim.sweep import load_sweep, run_sweep

    if jobs is not None and dask is not None:
        raise ValueError("jobs= and dask=: give one of them (with dask='local:N', N is the number of workers)")
    plan = load_sweep(os.fspath(sweep_file)) if isinstance(sweep_file, str | os.PathLike) else sweep_file
    out_dir = Path(out) if out is not None else Path("runs") / plan.name
    report = run_sweep(plan, out_dir, jobs=jobs, dask=dask, keep=keep_runs, progress=progress, started=started)
    return Sweep(plan, report)


class Sweep:
    """A finished (or interrupted) sweep: its table of results and its figures."""

    def __init__(self, plan: Plan, report: SweepReport) -> None:
        self.plan = plan
        self.report = report

    def __repr__(self) -> str:
        return f"<tcpsim.Sweep {self.report.line()}>"

    def __str__(self) -> str:
        return self.report.line()

    @property
    def out(self) -> Path:
        """The sweep's directory."""
        return self.report.out

    @property
    def ok(self) -> bool:
        """True when every run of the sweep is done (none failed, none left pending)."""
        return not self.report.failed_in_table and not self.report.pending

    @cached_property
    def manifest(self) -> dict[str, Any]:
        """What sweep.json says: the parameters with their values, the metrics."""
        from tcpsim.sweep.store import read_manifest

        return read_manifest(self.out)

    @property
    def results(self) -> pd.DataFrame:
        """One row per run (the results.csv table): ``run, run_id``, a column per parameter,
        ``replication, seed``, a column per metric, ``status, error, wall_time``."""
        import pandas as pd

        from tcpsim.sweep.store import PARQUET

        return pd.read_parquet(self.out / PARQUET)

    def plot(self, metric: str, *, x: str | None = None, group: str | None = None,
             where: dict[str, Any] | None = None, heatmap: bool = False, xscale: str = "auto") -> Figure:
        """A metric against a parameter, one line per value of ``group``: the mean over
        replications and its 95% confidence interval (``tcpsim sweep-plot``'s figure);
        ``heatmap`` draws the mean over (x, group) instead. Raises ``ValueError``."""
        from tcpsim.sweep.plot import sweep_figure
        from tcpsim.sweep.store import read_results

        return sweep_figure(self.manifest, read_results(self.out), metric, x=x, group=group, where=where,
                            heatmap=heatmap, xscale=xscale)
