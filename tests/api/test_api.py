"""The Python API (tcpsim.api): every public name, on real runs, asserting what they hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from matplotlib.figure import Figure

import tcpsim
from tcpsim.cli import cli

REPO = Path(tcpsim.__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


@pytest.fixture(scope="module")
def hc() -> tcpsim.Run:
    return tcpsim.run("handshake-and-close")


# -- the one-liner of the README, and a cheap import ----------------------------------------------


def test_one_liner_prints_true(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", "import tcpsim; print(tcpsim.run('handshake-and-close').ok)"],
                         cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert (out.returncode, out.stdout, out.stderr) == (0, "True\n", "")


def test_import_tcpsim_loads_neither_pandas_nor_the_simulator(tmp_path: Path) -> None:
    code = ("import sys, tcpsim; print(sorted(m for m in ('pandas', 'matplotlib', 'simpy', 'pydantic', 'tcpsim.api', "
            "'typing') if m in sys.modules)); print(tcpsim.__version__)")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.splitlines() == ["[]", "0.1.0"], out.stderr


def test_running_and_saving_do_not_import_pandas(tmp_path: Path) -> None:
    code = ("import sys, tcpsim; r = tcpsim.run('ping-ttl'); r.save('out', plots=False); "
            "print(r.ok, 'pandas' in sys.modules); r.packets; print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.stdout.splitlines() == ["True False", "True"], out.stderr


def test_public_names_resolve_lazily_and_unknown_ones_fail() -> None:
    from tcpsim import api
    from tcpsim.scenario.errors import ScenarioError
    from tcpsim.scenario.model import Scenario

    assert tcpsim.run is api.run and tcpsim.Run is api.Run
    # tcpsim.sweep is the sweep package, and calling it is api.sweep.
    from importlib import import_module

    from tcpsim.sweep import load_sweep

    runner = import_module("tcpsim.sweep.runner")
    assert callable(tcpsim.sweep) and tcpsim.sweep.load_sweep is load_sweep
    assert tcpsim.sweep.runner is runner
    assert tcpsim.Scenario is Scenario and tcpsim.ScenarioError is ScenarioError
    assert set(tcpsim.__all__) <= set(dir(tcpsim))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = tcpsim.nope  # type: ignore[attr-defined]


# -- Run: outcome --------------------------------------------------------------------------------


def test_run_ok_expectations_and_summary(hc: tcpsim.Run) -> None:
    assert hc.ok is True
    assert len(hc.expectations) == 15
    first = hc.expectations[0]
    assert first == tcpsim.Expectation(
        "on client, a connection of app client goes SYN_SENT -> ESTABLISHED -> FIN_WAIT1 -> FIN_WAIT2 -> "
        "TIME_WAIT -> CLOSED", True, "")
    assert (hc.summary["scenario"], hc.summary["seed"], hc.summary["end_time"]) == ("handshake-and-close", 1, 70.0)
    assert hc.summary["passed"] is True
    assert repr(hc) == "<tcpsim.Run handshake-and-close seed=1 end=70s trace=packets expectations 15/15 passed>"


def test_a_failed_expectation_says_what_happened_instead() -> None:
    data = yaml.safe_load((REPO / "scenarios" / "handshake-and-close.yaml").read_text())
    data["expect"] = [{"host": "client", "counter": "send", "value": 99}]
    run = tcpsim.run(data)
    assert run.ok is False
    [e] = run.expectations
    assert (e.passed, e.text) == (False, "client's counter send is 99")
    assert e.instead == "it is 6"


# -- Run: tables ---------------------------------------------------------------------------------


def test_states_has_the_exact_transitions(hc: tcpsim.Run) -> None:
    s = hc.states
    assert list(s.columns) == ["time", "host", "conn", "local", "remote", "old", "new", "cause", "rfc"]
    assert list(zip(s["host"], s["old"], s["new"], strict=True)) == [
        ("server", "CLOSED", "LISTEN"),
        ("client", "CLOSED", "SYN_SENT"),
        ("server", "LISTEN", "SYN_RECV"),
        ("client", "SYN_SENT", "ESTABLISHED"),
        ("server", "SYN_RECV", "ESTABLISHED"),
        ("client", "ESTABLISHED", "FIN_WAIT1"),
        ("server", "ESTABLISHED", "CLOSE_WAIT"),
        ("server", "CLOSE_WAIT", "LAST_ACK"),
        ("client", "FIN_WAIT1", "FIN_WAIT2"),
        ("client", "FIN_WAIT2", "TIME_WAIT"),
        ("server", "LAST_ACK", "CLOSED"),
        ("client", "TIME_WAIT", "CLOSED"),
    ]
    assert s["time"].tolist()[:2] == [0.0, 1.0]
    tw = s[s["new"] == "TIME_WAIT"].iloc[0]
    closed = s[(s["host"] == "client") & (s["new"] == "CLOSED")].iloc[0]
    assert closed["time"] - tw["time"] == pytest.approx(60.0)  # 2*MSL on Linux
    assert closed["cause"] == "TIME_WAIT timer (2MSL) expired" and closed["rfc"] == "RFC 9293 §3.10.8"
    assert s.iloc[0]["conn"] == "192.0.2.2:80>0.0.0.0:*" and s.iloc[0]["remote"] == "0.0.0.0:*"
    assert s.iloc[1]["local"] == "192.0.2.1:54606" and s.iloc[1]["remote"] == "192.0.2.2:80"


def test_packets_columns_and_the_handshake_rows(hc: tcpsim.Run) -> None:
    p = hc.packets
    assert list(p.columns) == ["time", "node", "event", "link", "src", "sport", "dst", "dport", "flags", "seq", "ack",
                               "win", "len", "ttl", "size", "ip_id", "proto", "options", "rule"]
    # Two hosts on one link: every packet is sent once and received once.
    assert len(p) == 2 * hc.summary["hosts"]["client"]["counters"]["sent"] + \
        2 * hc.summary["hosts"]["server"]["counters"]["sent"]
    syn = p.iloc[0]
    assert (syn["time"], syn["node"], syn["event"], syn["src"], syn["sport"], syn["dst"], syn["dport"],
            syn["flags"], syn["seq"], syn["ack"], syn["win"], syn["len"], syn["ttl"]) == (
        1.0, "client", "send", "192.0.2.1", 54606, "192.0.2.2", 80, "S", 1918979296, 0, 64240, 0, 64)
    assert syn["options"] == "mss 1460,sackOK,TS val 1000 ecr 0,nop,wscale 7"
    assert pd.isna(syn["rule"]) and p["rule"].isna().all()
    sent = p[(p["event"] == "send") & (p["node"] == "client")]
    assert sent["flags"].tolist() == ["S", ".", "P.", ".", "F.", "."]
    assert p.loc[p["len"] > 0, "len"].tolist() == [100, 100, 1000, 1000]
    assert set(p["event"].cat.categories) == {"send", "recv", "drop", "forward"}


def test_packets_name_the_rule_that_dropped_them_and_routers_forward() -> None:
    run = tcpsim.run("lost-handshake-ack")
    drops = run.packets[run.packets["event"] == "drop"]
    assert drops["rule"].tolist() == ["fault:lose-handshake-ack"] * 6
    assert set(drops["flags"]) == {"."}
    ping = tcpsim.run("ping-ttl").packets
    assert (ping["event"] == "forward").sum() == 8 * 8  # 4 echo requests and 4 replies through 8 routers
    assert ping["proto"].tolist() == ["icmp"] * len(ping)
    assert ping["sport"].isna().all() and ping["flags"].isna().all()


def test_counts_are_the_sampled_state_counts(hc: tcpsim.Run) -> None:
    c = hc.counts
    assert list(c.columns) == ["time", "host", "state", "sockets"]
    assert len(c) % 10 == 0
    at2 = c[c["time"] == 2.0].set_index(["host", "state"])["sockets"]
    assert at2[("client", "TIME_WAIT")] == 1 and at2[("server", "LISTEN")] == 1
    assert at2.sum() == 2
    # TIME_WAIT ends at 61.06 s: the sample at 61 still has it, the one at 62 not.
    tw = c[(c["host"] == "client") & (c["state"] == "TIME_WAIT")].set_index("time")["sockets"]
    assert (tw[61.0], tw[62.0]) == (1, 0)


def test_counts_are_kept_at_trace_level_counters_where_nothing_else_is() -> None:
    data = yaml.safe_load((REPO / "scenarios" / "handshake-and-close.yaml").read_text())
    del data["expect"]
    run = tcpsim.run(data, trace="counters")
    assert run.trace_level == "counters"
    assert run.packets.empty and run.states.empty and run.calls.empty
    assert list(run.packets.columns)[:3] == ["time", "node", "event"]
    assert run.counts[(run.counts["time"] == 2.0) & (run.counts["state"] == "TIME_WAIT")]["sockets"].sum() == 1


def test_calls_are_the_apps_socket_calls_with_their_results() -> None:
    run = tcpsim.run("connection-refused")
    c = run.calls
    assert list(c.columns) == ["time", "host", "app", "call", "args", "conn", "result", "value", "since"]
    early = c[c["app"] == "early"]
    assert early[["call", "result"]].values.tolist() == [["connect", "ECONNREFUSED"], ["close", "ok"]]
    assert early.iloc[0]["args"] == "192.0.2.2:8080" and early.iloc[0]["since"] == 0.0
    web = c[c["app"] == "web"]
    assert web["call"].tolist() == ["bind", "listen", "accept", "recv", "send", "recv", "close"]
    accept = web[web["call"] == "accept"].iloc[0]
    assert accept["value"] == "192.0.2.2:8080>192.0.2.1:54610" and accept["since"] == 1.0
    assert web[web["call"] == "send"].iloc[0]["value"] == 1000
    assert web[web["call"] == "recv"]["value"].tolist() == [100, 0]  # the request, then end of file


def test_netstat_rows_and_its_text(hc: tcpsim.Run) -> None:
    ns = hc.netstat(at=1.5)
    assert isinstance(ns, pd.DataFrame)
    assert list(ns.columns) == ["Host", "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State"]
    assert ns[["Host", "Local Address", "Foreign Address", "State"]].values.tolist() == [
        ["client", "192.0.2.1:54606", "192.0.2.2:80", "TIME_WAIT"],
        ["server", "192.0.2.2:80", "0.0.0.0:*", "LISTEN"],
    ]
    server = hc.netstat(at=1.04, host="server")
    assert server["State"].tolist() == ["LISTEN", "ESTABLISHED"]
    assert str(server) == "\n".join([
        "Active Internet connections (servers and established)",
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State",
        "tcp        0      0 192.0.2.2:80            0.0.0.0:*               LISTEN",
        "tcp        0      0 192.0.2.2:80            192.0.2.1:54606         ESTABLISHED",
    ])
    assert str(hc.netstat(at=0.5, host="client")) == "no sockets at t=0.5 s"
    with pytest.raises(ValueError, match=r"host='nobody': no TCP socket on that node in this run \(nodes with "
                                         r"sockets: client, server\)"):
        hc.netstat(at=1.0, host="nobody")
    with pytest.raises(ValueError, match="at=-1"):
        hc.netstat(at=-1)


def test_netstat_text_is_what_tcpsim_netstat_prints(hc: tcpsim.Run, tmp_path: Path) -> None:
    hc.save(tmp_path / "run", plots=False)
    for args, kwargs in ((["--at", "1.5"], {}), (["--at", "1.04", "--host", "server"], {"host": "server"})):
        res = CliRunner().invoke(cli, ["netstat", str(tmp_path / "run"), *args])
        assert res.exit_code == 0
        at = float(args[1])
        assert res.stdout == str(hc.netstat(at=at, **kwargs)) + "\n"


# -- Run: figures, files, Jupyter ----------------------------------------------------------------


def test_plot_returns_figures(hc: tcpsim.Run) -> None:
    assert hc.figures() == ["timeline", "ladder", "counts", "timeseq", "states"]
    for kind in hc.figures():
        fig = hc.plot(kind)
        assert isinstance(fig, Figure) and fig.axes
    window = hc.plot("ladder", start=1.0, end=1.025)
    texts = [t.get_text() for t in window.texts]
    assert texts[0] == "handshake-and-close: ladder diagram"
    assert texts[1].startswith("packets sent 1\u20131.025 s (4 of 11)"), texts
    with pytest.raises(ValueError, match="unknown figure"):
        hc.plot("pie")
    with pytest.raises(ValueError, match="start= and end= choose the ladder's window"):
        hc.plot("timeline", start=1.0)


def test_save_writes_what_the_cli_writes(hc: tcpsim.Run, tmp_path: Path) -> None:
    paths = hc.save(tmp_path / "api")
    res = CliRunner().invoke(cli, ["run", "handshake-and-close", "--quiet", "--out", str(tmp_path / "cli")])
    assert res.exit_code == 0
    api_files = sorted(p.name for p in (tmp_path / "api").iterdir())
    assert api_files == sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert sorted(p.name for p in paths) == sorted(n for n in api_files if n != ".tcpsim-views")
    for name in ("trace.jsonl", "packets.txt", "summary.json", "client.pcap"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    assert json.loads((tmp_path / "api" / "summary.json").read_text()) == hc.summary


def test_save_refuses_a_directory_it_did_not_write(hc: tcpsim.Run, tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(tcpsim.OutputError, match="refusing to replace a directory holding files tcpsim did not "
                                                 r"write \(mine.txt\)") as info:
        hc.save(tmp_path)
    assert info.value.refused is True


def test_repr_html_shows_the_expectations_and_the_figures_inline(hc: tcpsim.Run) -> None:
    page = hc._repr_html_()
    assert "<h3>handshake-and-close</h3>" in page
    assert "expectations: 15 of 15 passed" in page
    assert page.count("<svg") == 4  # timeline, ladder, counts, timeseq
    assert "<td>client</td><td>6</td><td>5</td><td>0</td><td>-</td>" in page


# -- arguments: set, variant, seed, trace, sources -------------------------------------------------


def test_set_variant_and_seed() -> None:
    run = tcpsim.run("syn-flood", seed=3, set={"flood_rate": 20}, until=10.0)
    assert (run.seed, run.end_time, run.summary["params"]["flood_rate"]) == (3, 10.0, 20)
    sent = run.summary["apps"]["flood"]["results"]
    assert sent["syns_sent"] == 100  # 20 SYN/s for 5 s
    run = tcpsim.run("server-restart", variant=tcpsim.load("server-restart").variants and
                     next(iter(tcpsim.load("server-restart").variants)))
    assert run.variant == next(iter(run.scenario.variants))
    assert run.summary["variant"] == run.variant


def test_bad_arguments_are_value_errors() -> None:
    with pytest.raises(ValueError, match="trace='everything': expected one of counters, states, packets, full"):
        tcpsim.run("ping-ttl", trace="everything")
    with pytest.raises(ValueError, match="seed=-1"):
        tcpsim.run("ping-ttl", seed=-1)
    with pytest.raises(ValueError, match="lang='fr'"):
        tcpsim.run("ping-ttl", lang="fr")
    with pytest.raises(TypeError, match="got int"):
        tcpsim.run(42)  # type: ignore[arg-type]


def test_a_trace_too_low_for_the_expectations_is_a_scenario_error() -> None:
    with pytest.raises(tcpsim.ScenarioError, match="trace='counters' is too low") as info:
        tcpsim.run("handshake-and-close", trace="counters")
    assert info.value.yaml_path == "trace"


def test_explain_narrates_through_echo_in_both_languages() -> None:
    lines: list[str] = []
    tcpsim.run("handshake-and-close", explain=True, echo=lines.append)
    assert len(lines) == 12 and "TIME_WAIT" in lines[9]
    zh: list[str] = []
    tcpsim.run("handshake-and-close", explain=True, lang="zh", echo=zh.append)
    assert len(zh) == 12 and zh != lines


def test_a_scenario_made_in_python_runs() -> None:
    scn = tcpsim.Scenario(
        name="tiny", until=5.0,
        hosts={"a": {}, "b": {}},
        links=[{"a": "a", "b": "b", "delay": 0.01}],
        apps=[{"type": "tcp-server", "name": "srv", "host": "b", "port": 80},
              {"type": "tcp-client", "name": "cli", "host": "a", "dst": "b", "port": 80, "start": 1.0}],
        expect=[{"host": "a", "app": "cli", "sequence": ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
                                                         "TIME_WAIT"]}],
    )
    run = tcpsim.run(scn)
    assert run.ok and run.name == "tiny"
    assert run.states["new"].tolist()[:4] == ["LISTEN", "SYN_SENT", "SYN_RECV", "ESTABLISHED"]
    with pytest.raises(ValueError, match="set= and variant= need the scenario's source"):
        tcpsim.run(scn, set={"x": 1})


# -- Scenario and ScenarioError ------------------------------------------------------------------


def test_scenario_load_from_dict_to_yaml_round_trip(tmp_path: Path) -> None:
    scn = tcpsim.Scenario.load("handshake-and-close")
    assert scn.name == "handshake-and-close" and scn.document is not None
    text = scn.to_yaml()
    assert text.startswith("name: handshake-and-close\n")
    again = tcpsim.Scenario.from_dict(yaml.safe_load(text))
    assert again.model_dump() == scn.model_dump()
    (tmp_path / "copy.yaml").write_text(text)
    assert tcpsim.Scenario.load(tmp_path / "copy.yaml").model_dump() == scn.model_dump()
    assert tcpsim.run(tmp_path / "copy.yaml").ok
    flood = tcpsim.Scenario.load("syn-flood", set={"flood_rate": 7})
    assert flood.params["flood_rate"] == 7
    assert [a.rate for a in flood.apps if a.type == "syn-flood"] == [7]


BAD = """\
name: bad
hosts:
  client: {}
  server: {}
links:
  - {a: client, b: server, delay: -5ms}
"""


def test_scenario_error_fields_match_what_the_cli_prints(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    with pytest.raises(tcpsim.ScenarioError) as info:
        tcpsim.Scenario.load(path)
    err = info.value
    assert (err.path, err.line, err.yaml_path) == (str(path), 6, "links[0].delay")
    assert err.file == str(path)
    with pytest.raises(tcpsim.ScenarioError) as again:
        tcpsim.run(str(path))
    assert str(again.value) == str(err)
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert (res.exit_code, res.stderr) == (2, str(err) + "\n")
    assert str(err).startswith(f"{path}:6: links[0].delay: ")


def test_scenario_error_from_a_dict_has_no_line() -> None:
    data = yaml.safe_load(BAD)
    with pytest.raises(tcpsim.ScenarioError) as info:
        tcpsim.Scenario.from_dict(data)
    err = info.value
    assert (err.path, err.line, err.yaml_path) == ("<dict>", None, "links[0].delay")
    assert str(err).startswith("<dict>: links[0].delay: ")
    with pytest.raises(tcpsim.ScenarioError, match=r"^no-such-scenario: no such file or built-in scenario"):
        tcpsim.run("no-such-scenario")
    with pytest.raises(tcpsim.ScenarioError, match=r"--set nope: unknown parameter"):
        tcpsim.run("syn-flood", set={"nope": 1})


def test_scenario_error_survives_pickling() -> None:
    import pickle

    err = tcpsim.ScenarioError("f.yaml", "hosts.a", "bad", 3)
    back = pickle.loads(pickle.dumps(err))
    assert (back.path, back.line, back.yaml_path, str(back)) == ("f.yaml", 3, "hosts.a", "f.yaml:3: hosts.a: bad")


# -- the library ---------------------------------------------------------------------------------


def test_scenarios_lists_the_built_ins_with_descriptions_and_variants() -> None:
    table = tcpsim.scenarios()
    assert list(table.columns) == ["name", "description", "variants", "path", "error"]
    assert table["name"].tolist() == sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))
    row = table.set_index("name").loc["handshake-and-close"]
    assert row["description"].startswith("One request over TCP, start to finish")
    assert row["variants"] == [] and row["error"] is None
    assert table.set_index("name").loc["server-restart", "variants"] == list(tcpsim.load("server-restart").variants)
    res = CliRunner().invoke(cli, ["list"])
    assert len(res.stdout.splitlines()) == len(table)


# -- sweeps --------------------------------------------------------------------------------------


def test_sweep_results_and_plot(tmp_path: Path) -> None:
    sweep_file = tmp_path / "s.yaml"
    sweep_file.write_text(textwrap.dedent(f"""\
        scenario: {REPO / 'scenarios' / 'syn-flood.yaml'}
        until: 8s
        grid:
          flood_rate: [10, 20]
          backlog: [4, 64]
        metrics:
          peak_syn_recv: peak('server', 'SYN_RECV')
    """))
    sw = tcpsim.sweep(sweep_file, out=tmp_path / "out", jobs=1)
    assert sw.ok and sw.out == tmp_path / "out"
    r = sw.results
    assert isinstance(r, pd.DataFrame) and len(r) == 4
    assert r[["flood_rate", "backlog"]].values.tolist() == [[10, 4], [10, 64], [20, 4], [20, 64]]
    assert (r["status"] == "done").all()
    # A backlog of 4 caps the half-open requests; 64 holds every SYN (5 s of flood, none expired yet).
    assert r["peak_syn_recv"].tolist() == [4, 50, 4, 64]
    fig = sw.plot("peak_syn_recv")
    assert isinstance(fig, Figure) and fig.axes
    assert isinstance(sw.plot("peak_syn_recv", heatmap=True), Figure)
    with pytest.raises(ValueError, match="not a metric of this sweep"):
        sw.plot("nope")
    again = tcpsim.sweep(sweep_file, out=tmp_path / "out")
    assert (again.report.skipped, again.report.done) == (4, 0)  # resumed: nothing left to run
    with pytest.raises(ValueError, match="give one of them"):
        tcpsim.sweep(sweep_file, jobs=1, dask="local:1")


def test_scenarios_reports_an_invalid_built_in_and_list_prints_it(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from tcpsim.scenario import library

    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    good = REPO / "scenarios" / "ping-ttl.yaml"
    monkeypatch.setattr(library, "builtin_scenarios", lambda: {"bad": bad, "ping-ttl": good})
    table = tcpsim.scenarios()
    assert table["error"][1] is None and table["description"][0] == ""
    assert table["error"][0].startswith(f"{bad}:6: links[0].delay: ")
    res = CliRunner().invoke(cli, ["list"])
    lines = res.stdout.splitlines()
    assert lines[0] == f"bad       (invalid: {table['error'][0]})"
    assert lines[1].startswith("ping-ttl  Ping across eight routers")
