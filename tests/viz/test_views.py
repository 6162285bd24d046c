"""The views of a run directory: written by `tcpsim run`, redrawn by `tcpsim plot`, read by `tcpsim netstat`;
and a trace read back from trace.jsonl gives the same views as the one kept in memory."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tcpsim.cli import cli
from tcpsim.net import Simulation
from tcpsim.trace.analysis import host_capture
from tcpsim.trace.load import load_records, records_from_json
from tcpsim.trace.pcap import pcap_bytes
from tcpsim.trace.records import read_jsonl
from tcpsim.trace.tcpdump import tcpdump_lines
from tcpsim.viz.views import VIEWS_MANIFEST, RunInfo, write_views


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="tcpsim")


def roundtrip(sim: Simulation) -> list[tuple[object, ...]]:
    buf = io.StringIO()
    sim.trace.write_jsonl(buf)
    return list(records_from_json(read_jsonl(buf.getvalue().splitlines())))


def test_a_trace_read_back_gives_the_same_views(lossy_run: Simulation) -> None:
    mem = lossy_run.trace.records
    back = roundtrip(lossy_run)
    samples = lossy_run.trace.count_samples
    assert samples and back[len(mem):] == samples  # the state-count samples come last, intact
    back = back[:len(mem)]
    assert len(back) == len(mem)
    assert list(tcpdump_lines(back)) == list(tcpdump_lines(mem))
    # Same headers byte for byte; only payload bytes differ (the JSON keeps lengths, not data).
    for host in ("client", "server"):
        a, b = host_capture(mem, host), host_capture(back, host)
        assert [(c.t, c.out, c.pkt.size) for c in a] == [(c.t, c.out, c.pkt.size) for c in b]
    a = pcap_bytes(c for c in host_capture(mem, "server") if not c.pkt.payload.payload)  # type: ignore[union-attr]
    b = pcap_bytes(c for c in host_capture(back, "server") if not c.pkt.payload.payload)  # type: ignore[union-attr]
    assert a == b


def test_write_views_writes_pcaps_figures_report_and_a_manifest(tmp_path: Path, clean_run: Simulation) -> None:
    paths = write_views(clean_run.trace.records, tmp_path, RunInfo(name="demo", description="d", lesson="L"))
    names = {p.name for p in paths}
    assert {"client.pcap", "server.pcap", "report.html", "timeline.png", "timeline.svg", "ladder.png",
            "counts.svg", "timeseq.png", "states.png"} <= names
    assert (tmp_path / VIEWS_MANIFEST).read_text().split() == [p.name for p in paths]
    html = (tmp_path / "report.html").read_text()
    # Self-contained: figures inline, nothing fetched from anywhere.
    assert html.count("<svg") == sum(1 for n in names if n.endswith(".svg"))
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert 'id="arrow|0"' in html and "netstat -nat" in html and "CLOSED \u2192 LISTEN" in html
    assert "<h2>Lesson</h2>" in html


def test_no_plots_keeps_only_the_pcaps(tmp_path: Path, clean_run: Simulation) -> None:
    paths = write_views(clean_run.trace.records, tmp_path, plots=False)
    assert sorted(p.name for p in paths) == ["client.pcap", "server.pcap"]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_writes_views_and_reruns_replace_them(in_tmp: Path) -> None:
    r = invoke("run", "handshake-and-close", "--out", "out", "-q")
    assert r.exit_code == 0, r.output
    names = {p.name for p in (in_tmp / "out").iterdir()}
    assert {"report.html", "timeline.png", "ladder.svg", "client.pcap", "server.pcap", VIEWS_MANIFEST} <= names
    r = invoke("run", "handshake-and-close", "--out", "out", "-q", "--no-plots")
    assert r.exit_code == 0, r.output
    names = {p.name for p in (in_tmp / "out").iterdir()}
    assert "report.html" not in names and "timeline.png" not in names and "client.pcap" in names


def test_run_explain_narrates_live_in_either_language(in_tmp: Path) -> None:
    r = invoke("run", "handshake-and-close", "--out", "out", "--no-plots", "--explain")
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.stdout.splitlines() if "\u2192" in ln and "(RFC" in ln]
    assert lines[0] == "0.000s server 192.0.2.2:80 (listening) CLOSED \u2192 LISTEN: listen(): passive open " \
                       "(RFC 9293 §3.10.1)"
    assert any("SYN_SENT \u2192 ESTABLISHED" in ln for ln in lines)
    r = invoke("run", "handshake-and-close", "--out", "out", "--no-plots", "--explain", "--lang", "zh")
    assert "三次握手完成" in r.stdout


def test_netstat_command(in_tmp: Path) -> None:
    assert invoke("run", "handshake-and-close", "--out", "out", "-q", "--no-plots").exit_code == 0
    r = invoke("netstat", "out", "--at", "1.025", "--host", "client")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1].startswith("Proto Recv-Q Send-Q Local Address")
    assert r.stdout.splitlines()[2].endswith("192.0.2.2:80            ESTABLISHED")
    r = invoke("netstat", "out", "--at", "30s", "--summary")
    assert "== client at t=30 s ==\n      1 TIME_WAIT" in r.stdout and "      1 LISTEN" in r.stdout
    assert invoke("netstat", "out", "--at", "1", "--host", "nobody").exit_code == 2
    assert invoke("netstat", "nowhere", "--at", "1").exit_code == 2


def test_plot_command_redraws_from_the_trace(in_tmp: Path) -> None:
    assert invoke("run", "handshake-and-close", "--out", "out", "-q", "--no-plots").exit_code == 0
    r = invoke("plot", "out", "--what", "ladder", "--from", "1.0", "--to", "1.03", "--format", "svg",
               "--link", "client-server", "--out", "pics")
    assert r.exit_code == 0, r.output
    svg = (in_tmp / "pics" / "ladder.svg").read_text()
    summary = json.loads((in_tmp / "out" / "summary.json").read_text())
    assert summary["scenario"] in svg
    # Only the packets sent in the window: the handshake and the request.
    from tcpsim.trace.analysis import flights

    inside = [f for f in flights(load_records(in_tmp / "out")) if 1.0 <= f.t_send <= 1.03]
    assert len(re.findall(r'id="arrow\|', svg)) == len(inside) == 4
    assert (in_tmp / "pics" / "link-client-server.pcap").stat().st_size > 24
    assert invoke("plot", "out", "--what", "nonsense").exit_code == 2
    assert invoke("plot", "out", "--link", "x-y").exit_code == 2


def test_load_records_reads_a_run_directory(in_tmp: Path) -> None:
    assert invoke("run", "ping-ttl", "--out", "out", "-q", "--no-plots").exit_code == 0
    records = load_records(in_tmp / "out")
    assert sum(1 for r in records if r[1] == "pkt" and r[3] == "send") == 8
