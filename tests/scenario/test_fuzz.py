"""Robustness: mutated scenario documents thrown at ``tcpsim validate``.

Whatever the mutation, validate must either accept the file (exit 0) or
reject it with exit status 2 and exactly one line on stderr, never a
traceback, and within a time budget per file. The seeds are the real library
and the documentation's examples, so the mutations land on every construct of
the format; they replace (with other types and extreme numbers and strings),
delete, rename, add and duplicate values in the YAML tree, put YAML's own
constructs in place of values (tags, aliases, anchors, deep nesting, alias
bombs, odd scalars), and also damage the text itself.

Each test takes a fixed, small number of examples so that the suite stays
fast; ``TCPSIM_FUZZ_EXAMPLES=10000`` runs that many of each instead (the
release run, see docs/scenario-format.md).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tcpsim
from tcpsim.cli import cli
from tcpsim.scenario import builtin_scenarios

REPO = Path(tcpsim.__file__).resolve().parent.parent


def _seeds() -> list[str]:
    texts = [p.read_text() for p in builtin_scenarios().values()]
    doc = (REPO / "docs" / "scenario-format.md").read_text()
    texts += [b for b in re.findall(r"^```yaml\n(.*?)^```", doc, flags=re.S | re.M) if b.startswith("name:")]
    return texts


# The release run sets this (docs/scenario-format.md, "Bad input"); the suite takes the defaults below.
RELEASE_EXAMPLES = int(os.environ.get("TCPSIM_FUZZ_EXAMPLES", "0"))
# Seconds one validate may take, whatever the file: generous for a loaded machine, far below a hang.
BUDGET = 20.0


def _examples(default: int) -> int:
    return RELEASE_EXAMPLES or default


SEEDS = _seeds()
SEED_DATA = [yaml.safe_load(t) for t in SEEDS]

SPECIAL = [
    "10ms", "-1s", "1e999", "0", "", "${x}", "${flood_rate}", "$${x}", "${", "linux", "windows-xp", "client",
    "server", "r1", "SYN_RECV", "TIME-WAIT", "+F", "S.", ">= 3", "1..2", "5..1", "0.0.0.0", "256.1.1.1",
    "*:*>server:80", "client:x>y:1", "100%", "1MB", "ETIMEDOUT", "net.ipv4.tcp_syncookies", "SO_KEEPALIVE",
    "crash", "tcp-server", "final-ack", "40000 40009", "a b c",
]
EXTREMES = [1e308, -1e308, 1e-300, 10**30, -(10**30), 2**63, 2**64 + 1, 10**4000, 4300 * "9", float("inf"),
            float("-inf"), float("nan"), -0.0, "1e999", "-1e308s", "1" + " " * 5000 + "x", "x" * 100_000,
            "0b_", "1:30", "2020-13-45", "\x01", "\u202e", "${" * 50, "10" + " " * 5000 + "ms"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(EXTREMES),
    st.text(max_size=8), st.sampled_from(SPECIAL),
    st.lists(st.one_of(st.integers(-2, 100), st.sampled_from(SPECIAL)), max_size=3),
    st.dictionaries(st.sampled_from(["at", "type", "host", "from", "count", "x", "set"]), st.sampled_from(SPECIAL), max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    node = doc
    for p in path[:-1]:
        node = node[p]
    return node


def _mutate(doc: Any, data: st.DataObject) -> Any:
    import copy

    doc = copy.deepcopy(doc)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            return data.draw(VALUES)
        path = data.draw(st.sampled_from(paths))
        parent = _parent(doc, path)
        key = path[-1]
        op = data.draw(st.sampled_from(["replace", "delete", "rename", "add", "duplicate"]))
        if op == "replace":
            parent[key] = data.draw(VALUES)
        elif op == "delete":
            del parent[key]
        elif op == "rename" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from([*SPECIAL[:12], "dealy", "hots", "type", "at", 7]))] = parent.pop(key)
        elif op == "add" and isinstance(parent, dict):
            parent[data.draw(st.sampled_from(["extra", "trace", "faults", "expect", "events", "params"]))] = data.draw(VALUES)
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(parent[key])
    return doc


def _check(tmp: Path, text: str) -> None:
    path = tmp / "fuzz.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["validate", str(path)], prog_name="tcpsim")
    took = time.monotonic() - started
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for:\n{text[:5000]}") from result.exception
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, text[:5000])
    assert took < BUDGET, (f"validate took {took:.1f} s", text[:5000])
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(str(path)), (result.stderr, text[:5000])
        assert len(lines[0]) < 2000, lines[0][:300]  # quoted values are cut


@settings(max_examples=_examples(250), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_documents(tmp_path: Path, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(SEED_DATA))
    mutated = _mutate(doc, data)
    try:
        text = yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return
    _check(tmp_path, text)


# YAML's own constructs, put in place of a value: what safe_dump of plain data never writes.
_BOMB = "\n".join(["x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
                   + [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)])
CONSTRUCTS = [
    "!!map [a]", "!!seq {a: 1}", "!!int", "!!bool", "!!float", "!!null x", "!!int abc", "!!float 1e99999",
    "!!timestamp 2020-01-01", "!!binary aGk=", "!!set {a}", "!!omap [a: 1]", "!!python/object:os.system x",
    "!!python/name:os.system", "!custom x", "!<tag:example.com,2000:x> 1", "0b_", "0x_", "0o9", "1_000",
    "2020-13-45", "1:30:00", ".inf", "-.inf", ".nan", "1e308", "-1.5E3", "1e9", "0x" + "f" * 5000, "9" * 5000,
    '"\x01\x7f"', '"\ud800"', '"\0"', "*nowhere", "&a [*a]", "&a {k: *a}", "[" * 40 + "]" * 40,
    "[" * 2000 + "]" * 2000, "{a: " * 40 + "1" + "}" * 40, "? [a, b]\n  : 1", "'" + "x" * 100_000 + "'",
    "<<: {a: 1}",
]


@settings(max_examples=_examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_yaml_constructs_in_place_of_values(tmp_path: Path, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(SEED_DATA))
    mutated = _mutate(doc, data) if data.draw(st.booleans()) else doc
    placeholders: list[str] = []
    paths = [p for p in _paths(mutated) if p]
    if isinstance(mutated, dict) and paths:
        import copy

        mutated = copy.deepcopy(mutated)
        for i in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from([p for p in _paths(mutated) if p]))
            parent = _parent(mutated, path)
            marker = f"RAW{i}MARK"
            parent[path[-1]] = marker
            placeholders.append(marker)
    try:
        text = yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True, width=10**9)
    except (yaml.YAMLError, ValueError):
        return
    for marker in placeholders:
        text = text.replace(marker, data.draw(st.sampled_from(CONSTRUCTS)).replace("\n", "\n" + " " * 20), 1)
    if data.draw(st.integers(0, 9)) == 0:
        text = _BOMB + "\n" + text
    _check(tmp_path, text)


@settings(max_examples=_examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_text(tmp_path: Path, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(SEEDS))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, max(len(text) - 1, 0)))
        op = data.draw(st.sampled_from(["delete", "insert", "swap"]))
        ch = data.draw(st.sampled_from([":", "-", " ", "\n", "{", "}", "[", "]", "'", '"', "$", "x", "1", "\t", "#", "&",
                                        "*", "!", "|", ">", "%", "@", "\x00", "\x85", "\ufeff"]))
        if op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "insert":
            text = text[:i] + ch + text[i:]
        else:
            text = text[:i] + ch + text[i + 1:]
    _check(tmp_path, text)
