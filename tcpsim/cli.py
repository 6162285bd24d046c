"""The ``tcpsim`` command: run, validate, list and describe scenarios.

Exit codes: 0 success, 1 a run that could not be written or an internal
error, 2 bad input (a scenario error, a bad flag, an unusable ``--out``).

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
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
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
            code = 0
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


def _load(spec: str) -> tuple[Any, Any]:
    from tcpsim.scenario.library import resolve
    from tcpsim.scenario.loader import load_document

    try:
        return load_document(resolve(spec))
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None


@cli.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the scenario's seed.")
@click.option("--until", type=_DurationType(), default=None, help="Override the simulated end time (e.g. 30s).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default: runs/<scenario-name>).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
def run(scenario: str, seed: int | None, until: float | None, out: Path | None, quiet: bool) -> None:
    """Run SCENARIO; write trace.jsonl, packets.txt and summary.json to --out."""
    from tcpsim.scenario.run import OutputError, run_scenario

    doc, model = _load(scenario)
    try:
        result = run_scenario(model, seed=seed, until=until, doc=doc)
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None
    out_dir = out if out is not None else Path("runs") / model.name
    try:
        paths = result.write(out_dir)
    except OutputError as exc:
        raise (_Fail if exc.refused else _WriteFail)(str(exc)) from None
    if not quiet:
        click.echo(_report(result, paths))


def _report(result: Any, paths: list[Path]) -> str:
    """The readable summary printed after a run."""
    built = result.built
    scn = built.scenario
    summary = result.summary()
    out: list[str] = [f"{scn.name}: {scn.description}" if scn.description else scn.name]
    out.append(f"seed {built.seed}, simulated {built.sim.now:g} s, trace level {scn.trace}")
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
    out += ["", "files:"] + [f"  {p}" for p in paths]
    return "\n".join(out)


@cli.command()
@click.argument("scenario")
def validate(scenario: str) -> None:
    """Check SCENARIO without running it (schema, cross-references, and building it)."""
    from tcpsim.scenario.build import build

    doc, model = _load(scenario)
    try:
        build(model, doc=doc)
    except ScenarioError as exc:
        raise _Fail(str(exc)) from None
    counts = ", ".join(
        _plural(n, word)
        for n, word in ((len(model.hosts), "host"), (len(model.router_names), "router"),
                        (len(model.links), "link"), (len(model.apps), "app"))
    )
    click.echo(f"{doc.file}: ok ({model.name}: {counts})")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@cli.command("list")
def list_() -> None:
    """List the built-in scenarios with their descriptions."""
    from tcpsim.scenario.library import builtin_scenarios
    from tcpsim.scenario.loader import load

    entries = builtin_scenarios()
    if not entries:
        click.echo("no built-in scenarios found")
        return
    width = max(len(n) for n in entries)
    for name, path in entries.items():
        try:
            description = load(path).description or "(no description)"
        except ScenarioError as exc:
            description = f"(invalid: {exc})"
        click.echo(f"{name.ljust(width)}  {description}")


@cli.command()
def schema() -> None:
    """Print the JSON schema of scenario files."""
    from tcpsim.scenario.model import Scenario

    click.echo(json.dumps(Scenario.model_json_schema(), indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tcpsim`` script and ``python -m tcpsim``."""
    result = cli.main(args=list(argv) if argv is not None else None, prog_name="tcpsim", standalone_mode=False)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
