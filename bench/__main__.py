"""``python -m bench``: run the benchmarks, print the table, write results.json.

    python -m bench                      # everything, full sizes (< 5 minutes)
    python -m bench --quick              # small sizes (< 1 minute), as CI runs it
    python -m bench --only b --only e    # some benchmarks, by name or letter
    python -m bench --only b --profile   # plus the top functions by own time (cProfile)
    python -m bench --out /tmp/r.json    # results.json elsewhere
    python -m bench --show bench/results.json --markdown   # a saved run's table, as Markdown

Exit status 0 when every benchmark ran and produced its figures (missing a
target is not a failure: these are measurements, not tests), 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bench import BENCHMARKS, LETTERS, resolve


def _parse_set(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise SystemExit(f"--set expects NAME=VALUE, got {item!r}")
        value: Any
        if "," in text:
            value = tuple(int(float(x)) for x in text.split(","))
        else:
            try:
                value = int(text)
            except ValueError:
                value = float(text)
        out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    known = ", ".join(f"{letter}={name}" for letter, name in LETTERS.items())
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes: the whole suite in under a minute")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help=f"run only this benchmark (repeatable, or comma-separated): {known}")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json",
                   help="where to write results.json (default: bench/results.json)")
    p.add_argument("--profile", action="store_true",
                   help="profile each benchmark with cProfile and print its top functions by own time "
                        "(profiling slows the figures down)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a size, e.g. --set mem_n=100000 or --set sizes=2000,10000")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed per benchmark (default 600, quick 180)")
    p.add_argument("--json", action="store_true", help="print results.json on stdout instead of the table")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    p.add_argument("--show", type=Path, metavar="RESULTS_JSON",
                   help="print the table of an existing results.json; run nothing")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--worker", metavar="NAME", help=argparse.SUPPRESS)
    p.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        from bench.worker import run_worker

        if args.result_file is None:
            p.error("--worker needs --result-file")
        return run_worker(args.worker, args.quick, args.result_file, args.profile, _parse_set(args.set))

    from bench import load
    from bench.runner import format_markdown, format_table, run_all

    if args.show is not None:
        import json

        shown = json.loads(args.show.read_text())
        print(format_markdown(shown) if args.markdown else format_table(shown), end="")
        return 0
    if args.list:
        for letter, name in LETTERS.items():
            mod = load(name)
            print(f"({letter}) {name:11s} {mod.TITLE}{'' if mod.TIMED else '  [memory only]'}")
        return 0
    try:
        wanted = {resolve(s) for spec in args.only for s in spec.split(",") if s.strip()}
    except ValueError as e:
        p.error(str(e))
    names = [n for n in BENCHMARKS if not wanted or n in wanted]
    _parse_set(args.set)  # fail early on a malformed --set

    doc = run_all(names, args.quick, args.out, args.profile, args.set, args.timeout)
    if args.json:
        import json

        print(json.dumps(doc, indent=1, default=str))
    else:
        print(format_markdown(doc) if args.markdown else format_table(doc), end="")
        for name, r in doc["benchmarks"].items():
            if r.get("profile"):
                print(f"\nprofile of ({r['letter']}) {name}, top functions by own time "
                      "(cProfile; the figures above are slowed by it):")
                print(r["profile"], end="")
        if args.out is not None:
            print(f"\nwrote {args.out}")
    return 0 if not doc["summary"]["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
