"""Robustness: mutated scenario documents thrown at ``tcpsim validate``.

Whatever the mutation, validate must either accept the file (exit 0) or
reject it with exit status 2 and exactly one line on stderr, never a
traceback. The seeds are the real library and the documentation's
examples, so the mutations land on every construct of the format; they
replace, delete, rename, add and duplicate values in the YAML tree, and
also damage the text itself.
"""

from __future__ import annotations

import re
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


SEEDS = _seeds()
SEED_DATA = [yaml.safe_load(t) for t in SEEDS]

SPECIAL = [
    "10ms", "-1s", "1e999", "0", "", "${x}", "${flood_rate}", "$${x}", "${", "linux", "windows-xp", "client",
    "server", "r1", "SYN_RECV", "TIME-WAIT", "+F", "S.", ">= 3", "1..2", "5..1", "0.0.0.0", "256.1.1.1",
    "*:*>server:80", "client:x>y:1", "100%", "1MB", "ETIMEDOUT", "net.ipv4.tcp_syncookies", "SO_KEEPALIVE",
    "crash", "tcp-server", "final-ack", "40000 40009", "a b c",
]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=True, allow_infinity=True),
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
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(path)], prog_name="tcpsim")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for:\n{text}") from result.exception
    assert result.exit_code in (0, 2), (result.exit_code, result.output, text)
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(str(path)), (result.stderr, text)
        assert "Traceback" not in result.stderr


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_documents(tmp_path: Path, data: st.DataObject) -> None:
    doc = data.draw(st.sampled_from(SEED_DATA))
    mutated = _mutate(doc, data)
    try:
        text = yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        return
    _check(tmp_path, text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_text(tmp_path: Path, data: st.DataObject) -> None:
    text = data.draw(st.sampled_from(SEEDS))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, max(len(text) - 1, 0)))
        op = data.draw(st.sampled_from(["delete", "insert", "swap"]))
        ch = data.draw(st.sampled_from([":", "-", " ", "\n", "{", "}", "[", "]", "'", '"', "$", "x", "1", "\t", "#", "&", "*"]))
        if op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "insert":
            text = text[:i] + ch + text[i:]
        else:
            text = text[:i] + ch + text[i + 1:]
    _check(tmp_path, text)
