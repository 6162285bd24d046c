"""``tcpsim conform SCRIPT.pkt...``: run packetdrill-style scripts against the stack.

Registered by the main CLI (``cli.add_command(conform)``); kept here so the
conformance package owns its command. Exit status: 0 when every script
passes, 1 when one fails, 2 when one cannot be parsed (after running the
others, so one typo does not hide other results). Parse errors and warnings
go to stderr, one line each, as ``file:line: ...``.
"""

from __future__ import annotations

import click

from tcpsim.conform.runner import run_script
from tcpsim.conform.script import ScriptError, parse_file
from tcpsim.tcp.config import PROFILES

EXIT_FAILED = 1
EXIT_UNPARSABLE = 2


@click.command("conform")
@click.argument("scripts", nargs=-1, required=True, metavar="SCRIPT.pkt...")
@click.option("--profile", type=click.Choice(sorted(PROFILES)), default="linux", show_default=True,
              help="TCP profile of the host under test.")
@click.option("-v", "--verbose", is_flag=True,
              help="Print every event, every packet the host sent and its state changes.")
@click.pass_context
def conform(ctx: click.Context, scripts: tuple[str, ...], profile: str, verbose: bool) -> None:
    """Run packetdrill-style SCRIPTs: each plays the peer of one simulated host.

    A failure names the first mismatch: the script line, what was expected,
    what the host did instead, and when. See docs/conformance.md.
    """
    passed = failed = unparsable = 0
    for path in scripts:
        try:
            outcome = run_script(parse_file(path), profile=profile, verbose=verbose)
        except ScriptError as exc:
            unparsable += 1
            click.echo(str(exc), err=True)
            continue
        for w in outcome.warnings:
            click.echo(w, err=True)
        if outcome.passed:
            passed += 1
            click.echo(f"PASS {path}")
        else:
            failed += 1
            click.echo(f"FAIL {outcome.message}")
        if verbose:
            for line in outcome.log:
                click.echo(f"  {line}")
    total = passed + failed + unparsable
    parts = [f"{passed} passed", f"{failed} failed"] + ([f"{unparsable} not parsed"] if unparsable else [])
    click.echo(f"{total} script{'s' if total != 1 else ''}: {', '.join(parts)} (profile {profile})")
    if unparsable:
        ctx.exit(EXIT_UNPARSABLE)
    if failed:
        ctx.exit(EXIT_FAILED)
