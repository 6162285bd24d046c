"""The ``tcpsim`` command: run, validate, list and describe scenarios.

``run``, ``validate``, ``list`` and ``sweep`` are a face on the Python API
(``tcpsim.api``): the same calls a script makes, their exceptions turned into
the one-line messages and exit codes below.

Exit codes: 0 success, 1 a run whose expectations failed, a run that could
not be written, or an internal error, 2 bad input (a scenario error, a bad
flag, a bad ``--set``, an unusable ``--out``).

Every error is one line on stderr. click's default prints usage and a blank
line before the message; ``_OneLineGroup`` replaces that with the message
and a pointer to ``--help``, so scripts and editors see one line per problem
whether the flag or the file was wrong.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from tcpsim import __version__
from tcpsim.scenario.errors import ScenarioError
from tcpsim.scenario.units import parse_duration

EXIT_BAD_INPUT = 2


class _Fail(click.ClickException):
    """Bad input, already worded for the user: printed as is, on one line; exit 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(" ".join(self.format_message().split()), err=True)


class _WriteFail(_Fail):
    """The run went fine but its outputs could not be written: exit 1."""

    exit_code = 1


class _OneLineGroup(click.Group):
    """A click group whose usage errors are one line (see the module docstring)."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {' '.join(exc.format_message().split())}{hint}", err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            code = 1
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        else:
            # With standalone_mode=False click *returns* the code of a ``click.exceptions.Exit``
            # (how `run` reports failed expectations); commands themselves return None.
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
        if standalone_mode:
            sys.exit(code)
        return code


class _DurationType(click.ParamType):
    """``--until 30s``: the same spellings as in scenario files."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value, positive=True)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.group(cls=_OneLineGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="tcpsim", message="%(prog)s %(version)s")
def cli() -> None:
    """tcpsim: a discrete-event TCP/IP network simulator.

    SCENARIO arguments are a path to a .yaml file or the name of a built-in
    scenario (see `tcpsim list`).
    """


def _load(spec: str, sets: Sequence[str] = (), variant: str | None = None) -> Any:
    """The validated ``Scenario`` of a SCENARIO argument with its ``--set`` and ``--variant``."""
    from tcpsim.api import load
    from tcpsim.scenario.params import parse_set

    overrides: dict[str, Any] = {}
    flags: dict[str, str] = {}
    for text in sets:
        try:
            name, value = parse_set(text)
        except ValueError as exc:
            raise _Fail(str(exc)) from None
        overrides[name] = value
        flags[name] = text.strip()
    try:
        return load(spec, set=overrides, variant=variant)
    except ScenarioError as exc:
        if exc.param in flags:
            # The value came from the command line: say so first, the file only shows ${name}.
            flag = flags[exc.param]
            flag = flag if len(flag) <= 50 else flag[:50] + "..."
            raise _Fail(f"--set {flag}: {exc}") from None
        raise _Fail(str(exc)) from None


def _param_options(fn: Any) -> Any:
    """``--set NAME=VALUE`` (repeatable) and ``--variant NAME``, shared by run and validate."""
    fn = click.option("--variant", default=None, metavar="NAME",
                      help="Use the parameter values of one of the scenario's variants.")(fn)
    fn = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                      help="Set a parameter (repeatable), e.g. --set flood_rate=5000.")(fn)
    return fn


def _view_options(fn: Any) -> Any:
    """``--no-plots``, ``--explain`` and ``--lang`` of run (the views: see tcpsim.viz.views)."""
    fn = click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
                      help="Language of --explain and of the report's narration.")(fn)
    fn = click.option("--explain", is_flag=True,
                      help="Narrate every TCP state change as it happens: who, from and to, why, RFC.")(fn)
    fn = click.option("--no-plots", is_flag=True,
                      help="Skip the figures and report.html (one pcap per host is still written).")(fn)
    return fn


@cli.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None, help="Override the scenario's seed.")
@click.option("--until", type=_DurationType(), default=None, help="Override the simulated end time (e.g. 30s).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default: runs/<scenario-name>).")
@_param_options
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@_view_options
def run(scenario: str, seed: int | None, until: float | None, out: Path | None, sets: tuple[str, ...],
        variant: str | None, quiet: bool, no_plots: bool, explain: bool, lang: str) -> None:
    """Run SCENARIO; write trace.jsonl, packets.txt and summary.json to --out.

    Prints each expectation of the scenario with PASS or FAIL; exits 1 when one fails.
    """
    from tcpsim import api

    model = _load(scenario, sets, variant)
    if out is not None:
        _check_out(out)
    if not quiet:
        click.echo(_header(model, variant))
    try:
        done = api.run(model, seed=seed, until=until, variant=variant, explain=explain, lang=lang, echo=click.echo)
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None
    out_dir = out if out is not None else Path("runs") / (model.name + (f"@{variant}" if variant else ""))
    try:
        paths = done.save(out_dir, plots=not no_plots, lang=lang)
    except api.OutputError as exc:
        raise (_Fail if exc.refused else _WriteFail)(str(exc)) from None
    result = done.result
    outcomes = result.built.outcomes or []
    if not quiet:
        click.echo(_report(result, paths))
    elif not done.ok:
        click.echo("\n".join(_expectation_lines(outcomes, failures_only=True)))
    if not done.ok:
        raise click.exceptions.Exit(1)


def _check_out(out: Path) -> None:
    """``--out`` under a file can never be made: say so before running (bad input, exit 2)."""
    for parent in (out, *out.parents):
        if parent.exists():
            if not parent.is_dir():
                what = "is a file" if parent == out else f"is inside {parent}, which is a file"
                raise _Fail(f"--out {out}: {what}, not a directory")
            return


def _header(scn: Any, variant: str | None) -> str:
    """What is printed before the run starts: what the scenario is and what to watch."""
    title = scn.name + (f" (variant {variant})" if variant else "")
    out = [f"{title}: {scn.description}" if scn.description else title]
    if scn.params:
        out.append("params: " + ", ".join(f"{k}={v}" for k, v in scn.params.items()))
    if scn.lesson:
        out += [""] + ["  " + line if line else "" for line in scn.lesson.rstrip().splitlines()]
    return "\n".join(out)


def _expectation_lines(outcomes: Sequence[Any], failures_only: bool = False) -> list[str]:
    lines: list[str] = []
    for o in outcomes:
        if failures_only and o.passed:
            continue
        # A failure says what was expected and what happened on one line, so a grep shows both.
        lines.append(f"  PASS  {o.text}" if o.passed else f"  FAIL  {o.text} -- observed: {o.observed}")
    return lines


def _report(result: Any, paths: list[Path]) -> str:
    """The readable summary printed after a run."""
    built = result.built
    scn = built.scenario
    summary = result.summary()
    out: list[str] = ["", f"seed {built.seed}, simulated {built.sim.now:g} s, trace level {scn.trace_level}"]
    for app in built.apps:
        out += ["", f"== {app.name}: {app.type} on {app.host} =="]
        out += app.lines or ["(no output: it had not started or not finished by the end of the run)"]
    rows = [("node", "sent", "received", "forwarded", "dropped")]
    for group in ("hosts", "routers"):
        for name, info in summary[group].items():
            c = info["counters"]
            dropped = ", ".join(f"{reason}={n}" for reason, n in c["dropped"].items()) or "-"
            rows.append((name, str(c["sent"]), str(c["received"]), str(c["forwarded"]), dropped))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out += ["", "packets per node:"]
    for r in rows:
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in (1, 2, 3)] + [r[4]]
        out.append("  " + "  ".join(cells))
    outcomes = built.outcomes or []
    if outcomes:
        failed = sum(1 for o in outcomes if not o.passed)
        out += ["", f"expectations: {len(outcomes) - failed} of {len(outcomes)} passed"]
        out += _expectation_lines(outcomes)
    out += ["", "files:"] + [f"  {p}" for p in paths]
    return "\n".join(out)


@cli.command()
@click.argument("scenario")
@_param_options
def validate(scenario: str, sets: tuple[str, ...], variant: str | None) -> None:
    """Check SCENARIO without running it (schema, cross-references, and building it)."""
    from tcpsim.api import check

    model = _load(scenario, sets, variant)
    try:
        check(model)
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None
    counts = ", ".join(
        _plural(n, word)
        for n, word in ((len(model.hosts), "host"), (len(model.router_names), "router"),
                        (len(model.links), "link"), (len(model.apps), "app"), (len(model.events), "event"),
                        (len(model.faults), "fault"), (len(model.expect), "expectation"))
        if n or word in ("host", "app")
    )
    click.echo(f"{model.document.file}: ok ({model.name}: {counts})")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@cli.command("list")
def list_() -> None:
    """List the built-in scenarios with their descriptions."""
    from tcpsim.api import scenarios

    table = scenarios()
    if table.empty:
        click.echo("no built-in scenarios found")
        return
    width = max(len(n) for n in table["name"])
    for name, description, variants, error in zip(table["name"], table["description"], table["variants"],
                                                  table["error"], strict=True):
        if isinstance(error, str):
            description = f"(invalid: {error})"
        else:
            description = description or "(no description)"
            if variants:
                description += f" [variants: {', '.join(variants)}]"
        click.echo(f"{name.ljust(width)}  {description}")


@cli.command()
@click.option("--ranges", is_flag=True,
              help="Print the range of every numeric key as a Markdown table (docs/scenario-format.md).")
def schema(ranges: bool) -> None:
    """Print the JSON schema of scenario files (each number's range as minimum/maximum)."""
    from tcpsim.scenario.model import Scenario

    if ranges:
        from tcpsim.scenario.ranges import ranges_markdown

        click.echo(ranges_markdown(Scenario.model_json_schema()), nl=False)
        return
    click.echo(json.dumps(Scenario.model_json_schema(), indent=2))


# -- views: narration, figures, pcaps, report, netstat (see tcpsim/viz and docs/views.md) -------


def _run_records(rundir: Path) -> list[Any]:
    from tcpsim.trace.load import load_records

    path = rundir / "trace.jsonl" if rundir.is_dir() else rundir
    if not path.is_file():
        raise _Fail(f"{rundir}: no trace.jsonl here (make one with 'tcpsim run SCENARIO --out {rundir}')")
    try:
        return load_records(path)
    except (ValueError, KeyError) as exc:
        raise _Fail(f"{path}: not a tcpsim trace ({exc})") from None


class _TimeType(_DurationType):
    """``--at 3.5`` or ``--at 120ms``: an instant of simulated time (0 allowed)."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@cli.command()
@click.argument("rundir", type=click.Path(path_type=Path))
@click.option("--at", "at", type=_TimeType(), required=True, help="Simulated time of the snapshot (e.g. 0.5, 120ms).")
@click.option("--host", default=None, help="Only this host's sockets (default: every host, one table each).")
@click.option("--summary", "summary", is_flag=True, help="Count per state, as '| awk {print $6} | sort | uniq -c'.")
def netstat(rundir: Path, at: float, host: str | None, summary: bool) -> None:
    """Print `netstat -nat` of RUNDIR's hosts as it was at time --at."""
    from tcpsim.trace.netstat import endpoints, format_summary, format_table, snapshot

    records = _run_records(rundir)
    eps = endpoints(records)
    known = sorted({ep.node for ep in eps})
    if host is not None and host not in known:
        raise _Fail(f"--host {host}: no TCP socket on that node in {rundir} (nodes with sockets: "
                    f"{', '.join(known) or 'none'})")
    rows = snapshot(records, at, host, eps=eps)
    hosts = [host] if host is not None else sorted({r.node for r in rows}, key=known.index)
    if not hosts:
        click.echo(f"no sockets at t={at:g} s")
        return
    for i, h in enumerate(hosts):
        hr = [r for r in rows if r.node == h]
        if len(hosts) > 1 or host is None:
            click.echo(("" if i == 0 else "\n") + f"== {h} at t={at:g} s ==")
        click.echo("\n".join(format_summary(hr) if summary else format_table(hr)))


def _split_csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


@cli.command()
@click.argument("rundir", type=click.Path(path_type=Path))
@click.option("--what", default=None, metavar="LIST",
              help="Comma-separated: timeline, ladder, counts, timeseq, cwnd, states, pcap, report "
                   "(default: every figure the trace can show, the pcaps and the report).")
@click.option("--from", "t_from", type=_TimeType(), default=None, help="Ladder: first instant of the window.")
@click.option("--to", "t_to", type=_TimeType(), default=None, help="Ladder: last instant of the window.")
@click.option("--nodes", default=None, metavar="LIST", help="Ladder: these nodes' lines, in this order.")
@click.option("--absolute", is_flag=True, help="Ladder: raw sequence numbers instead of relative ones.")
@click.option("--link", "links", multiple=True, metavar="A-B",
              help="Also write link-A-B.pcap: what was put on the link between nodes A and B (repeatable).")
@click.option("--format", "formats", default="png,svg", show_default=True, help="Figure formats.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write (default: RUNDIR).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the report's narration.")
def plot(rundir: Path, what: str | None, t_from: float | None, t_to: float | None, nodes: str | None,
         absolute: bool, links: tuple[str, ...], formats: str, out: Path | None, lang: str) -> None:
    """Draw RUNDIR's figures again from its trace.jsonl (optionally a ladder window, link pcaps)."""
    import json

    from tcpsim.trace.pcap import write_host_pcaps, write_link_pcaps
    from tcpsim.viz.views import FIGURES, RunInfo, available_figures, render_figures

    records = _run_records(rundir)
    out_dir = out if out is not None else (rundir if rundir.is_dir() else rundir.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = _split_csv(what)
    known = set(FIGURES) | {"pcap", "report"}
    for w in wanted or []:
        if w not in known:
            raise _Fail(f"--what {w}: unknown view (known: {', '.join(sorted(known))})")
    fmts = _split_csv(formats) or ["png"]
    for f in fmts:
        if f not in ("png", "svg", "pdf"):
            raise _Fail(f"--format {f}: expected png, svg or pdf")
    window = None
    if t_from is not None or t_to is not None:
        window = (t_from or 0.0, t_to if t_to is not None else float("inf"))
    summary: dict[str, Any] = {}
    sfile = (rundir if rundir.is_dir() else rundir.parent) / "summary.json"
    if sfile.is_file():
        summary = json.loads(sfile.read_text(encoding="utf-8"))
    info = RunInfo(name=str(summary.get("scenario", rundir.name)), summary=summary,
                   end_time=summary.get("end_time"))
    figs = [w for w in (wanted or available_figures(records)) if w in FIGURES]
    paths: list[Path] = []
    try:
        fig_paths, svgs = render_figures(records, out_dir, info, names=figs, formats=fmts, window=window,
                                         nodes=_split_csv(nodes), relative=not absolute)
        paths += fig_paths
        if wanted is None or "pcap" in wanted:
            paths += write_host_pcaps(records, out_dir)
        if links:
            paths += write_link_pcaps(records, out_dir, _link_directions(records, links))
        if wanted is None or "report" in wanted:
            from tcpsim.report.html import write_report

            paths.append(write_report(records, out_dir / "report.html", info, svgs, lang=lang))
    except OSError as exc:
        raise _WriteFail(f"{out_dir}: cannot write: {exc.strerror or exc}") from None
    for p in paths:
        click.echo(str(p))


def _link_directions(records: Sequence[Any], links: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``A-B`` -> the two direction names the trace uses (``A->B``, ``B->A``)."""
    seen = {r[5] for r in records if r[1] == "pkt" and r[5]}
    out: dict[str, tuple[str, str]] = {}
    for spec in links:
        for i in [i for i, ch in enumerate(spec) if ch == "-"]:
            a, b = spec[:i], spec[i + 1:]
            if f"{a}->{b}" in seen or f"{b}->{a}" in seen:
                out[spec] = (f"{a}->{b}", f"{b}->{a}")
                break
        else:
            raise _Fail(f"--link {spec}: no packet crossed a link between two such nodes (write it as A-B)")
    return out


@cli.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=Path("plots"),
              show_default=True, help="Where to put the gallery.")
@click.option("--only", default=None, metavar="LIST", help="Only these gallery entries (comma-separated).")
def gallery(out: Path, only: str | None) -> None:
    """Regenerate the figure gallery (plots/) from the scenarios listed in tcpsim/viz/gallery.py."""
    from tcpsim.viz.gallery import build_gallery

    try:
        for path in build_gallery(out, only=_split_csv(only)):
            click.echo(str(path))
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None
    except KeyError as exc:
        raise _Fail(str(exc.args[0])) from None


@cli.command("profiles")
@click.option("--markdown", is_flag=True, help="Print the reference table in Markdown (docs/profiles.md).")
def profiles_cmd(markdown: bool) -> None:
    """List the TCP profiles and every knob with its real names and defaults."""
    from tcpsim.tcp.config import KNOBS, PROFILES, profiles_markdown

    if markdown:
        click.echo(profiles_markdown(), nl=False)
        return
    names = list(PROFILES)
    width = max(len(k.names[0]) for k in KNOBS)
    click.echo("knob".ljust(width) + "  " + "  ".join(n.rjust(13) for n in names))
    for k in KNOBS:
        if k.field == "msl":
            continue
        vals = []
        for n in names:
            v = getattr(PROFILES[n], k.field)
            vals.append((" ".join(map(str, v)) if isinstance(v, tuple) else str(v))[:13].rjust(13))
        click.echo(k.names[0].ljust(width) + "  " + "  ".join(vals))


# -- parameter sweeps (see tcpsim/sweep and docs/sweeps.md) -----------------------------------


@cli.command()
@click.argument("sweep_file", metavar="SWEEP")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of the results (default: runs/<sweep-name>). Rerunning resumes there.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Local worker processes (default: one per core).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Run on a Dask cluster: a scheduler address (tcp://HOST:8786), or local:N for N local workers.")
@click.option("--keep-runs", is_flag=True,
              help="Also keep each run's directory (trace.jsonl, packets.txt, summary.json) in DIR/runs/RUN_ID.")
@click.option("--dry-run", is_flag=True, help="Check the sweep and say what would run; write nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar (it is shown only on a terminal anyway).")
def sweep(sweep_file: str, out: Path | None, jobs: int | None, dask_address: str | None, keep_runs: bool,
          dry_run: bool, quiet: bool) -> None:
    """Run a parameter sweep: every combination of values, in parallel; one table of metrics.

    Writes DIR/results.csv and DIR/results.parquet (one row per run) and DIR/runs.jsonl (a
    record per finished run: the same command run again skips the runs already done and
    retries failed ones). Exits 1 when a run failed (its error is in the table).
    """
    from tcpsim import api
    from tcpsim.sweep import StoreError, load_sweep
    from tcpsim.sweep.cluster import DaskAddressError
    from tcpsim.sweep.runner import describe_plan

    if jobs is not None and dask_address is not None:
        raise _Fail("--jobs and --dask: give one of them (with --dask local:N, N is the number of workers)")
    try:
        plan = load_sweep(sweep_file)
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None
    if dry_run:
        click.echo(describe_plan(plan))
        return
    out_dir = out if out is not None else Path("runs") / plan.name
    bar: Any = None
    failed = 0

    def started(todo: int, skipped: int) -> None:
        nonlocal bar
        from tqdm import tqdm

        bar = tqdm(total=todo, desc=plan.name, unit="run", file=sys.stderr, disable=True if quiet else None,
                   dynamic_ncols=True, smoothing=0.05)
        if skipped:
            bar.set_postfix_str(f"failed 0, {skipped} done before")

    def progress(outcome: Any) -> None:
        nonlocal failed
        failed += outcome.status == "failed"
        bar.set_postfix_str(f"failed {failed}", refresh=False)
        bar.update(1)

    try:
        report = api.sweep(plan, out=out_dir, jobs=jobs, dask=dask_address, keep_runs=keep_runs, progress=progress,
                           started=started).report
    except StoreError as exc:
        raise (_Fail if exc.refused else _WriteFail)(str(exc)) from None
    except DaskAddressError as exc:
        raise _Fail(str(exc)) from None
    except (OSError, TimeoutError) as exc:
        raise _WriteFail(f"--dask {dask_address}: cannot use the cluster: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    click.echo(report.line())
    if report.interrupted:
        raise click.exceptions.Exit(130)
    if report.failed_in_table:
        raise click.exceptions.Exit(1)


def _where_options(wheres: Sequence[str]) -> dict[str, Any]:
    from tcpsim.scenario.yamlread import load_value

    out: dict[str, Any] = {}
    for text in wheres:
        name, eq, raw = text.partition("=")
        if not eq or not name.strip():
            raise _Fail(f"--where {text!r}: expected PARAM=VALUE, e.g. --where syncookies=1")
        try:
            out[name.strip()] = load_value(raw, f"--where {name.strip()}") if raw.strip() else ""
        except ValueError as exc:
            raise _Fail(str(exc)) from None
    return out


@cli.command("sweep-plot")
@click.argument("sweep_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--x", "x", default=None, metavar="PARAM", help="Parameter on the x axis (default: the first swept).")
@click.option("--group", default=None, metavar="PARAM",
              help="One line per value of this parameter (default: the second swept).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME", help="Only this metric (repeatable; default: all).")
@click.option("--where", "wheres", multiple=True, metavar="PARAM=VALUE",
              help="Only the runs with this value (repeatable), e.g. --where syncookies=0.")
@click.option("--format", "formats", default="png,svg", show_default=True, help="Figure formats.")
@click.option("--prefix", default="plot-", show_default=True, help="Start of each file name.")
@click.option("--no-heatmap", is_flag=True, help="Skip the heatmaps of the mean over (x, group).")
@click.option("--xscale", type=click.Choice(["auto", "linear", "log"]), default="auto", show_default=True,
              help="x axis scale; auto: log when the values grow by a constant factor over a decade or more.")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write (default: DIR).")
def sweep_plot(sweep_dir: Path, x: str | None, group: str | None, metrics: tuple[str, ...], wheres: tuple[str, ...],
               formats: str, prefix: str, no_heatmap: bool, xscale: str, out: Path | None) -> None:
    """Draw each metric of a sweep against a parameter: mean and 95% CI over replications."""
    from tcpsim.sweep.plot import PlotError, plot_sweep
    from tcpsim.sweep.store import MANIFEST, PARQUET, read_manifest, read_results

    if not (sweep_dir / MANIFEST).is_file() or not (sweep_dir / PARQUET).is_file():
        raise _Fail(f"{sweep_dir}: not a sweep directory (no {MANIFEST} and {PARQUET}; make one with "
                    f"'tcpsim sweep SWEEP.yaml --out {sweep_dir}')")
    fmts = _split_csv(formats) or ["png"]
    for f in fmts:
        if f not in ("png", "svg", "pdf"):
            raise _Fail(f"--format {f}: expected png, svg or pdf")
    try:
        manifest = read_manifest(sweep_dir)
        rows = read_results(sweep_dir)
    except (OSError, ValueError) as exc:
        raise _Fail(f"{sweep_dir}: cannot read the sweep's table: {exc}") from None
    names = [m for text in metrics for m in (_split_csv(text) or [])]
    try:
        paths = plot_sweep(out if out is not None else sweep_dir, manifest, rows, x=x, group=group,
                           metrics=names or None, where=_where_options(wheres), formats=fmts, prefix=prefix,
                           heatmap=not no_heatmap, xscale=xscale)
    except PlotError as exc:
        raise _Fail(str(exc)) from None
    except OSError as exc:
        raise _WriteFail(f"{out or sweep_dir}: cannot write: {exc.strerror or exc}") from None
    for p in paths:
        click.echo(str(p))


def _register_conform() -> None:
    from tcpsim.conform.cli import conform

    cli.add_command(conform)


_register_conform()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tcpsim`` script and ``python -m tcpsim``."""
    result = cli.main(args=list(argv) if argv is not None else None, prog_name="tcpsim", standalone_mode=False)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
