"""pcap files: tshark reads every one without complaint and its TCP analysis agrees with the trace's.

These tests need tshark and fail (never skip) without it: CI installs it (.ci/run).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tcpsim.net import Simulation
from tcpsim.trace.analysis import host_capture, link_capture, tcp_analysis
from tcpsim.trace.pcap import LINKTYPE_RAW, ip_bytes, pcap_bytes, write_host_pcaps, write_link_pcaps
from tcpsim.wire import ACK, IPPROTO_TCP, SYN, IPPacket, Segment

# ICMP checksums are always verified; IP and TCP ones only when asked.
CHECKSUMS = ["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"]


def tshark(*args: str) -> str:
    exe = shutil.which("tshark")
    assert exe is not None, "tshark is not installed: apt-get install tshark (CI does it in .ci/run)"
    proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def count(path: Path, display_filter: str) -> int:
    return len(tshark("-r", str(path), *CHECKSUMS, "-Y", display_filter).splitlines())


def assert_clean(path: Path) -> None:
    """No malformed packet, no bad checksum, no error of any kind in tshark's expert info."""
    assert count(path, "_ws.malformed || _ws.expert.severity == error") == 0, tshark("-r", str(path), "-V")
    assert count(path, "ip.checksum.status == 0 || tcp.checksum.status == 0 || icmp.checksum.status == 0") == 0
    # And the verbose dissection names no problem either.
    verbose = tshark("-r", str(path), *CHECKSUMS, "-V")
    for bad in ("Malformed", "[Checksum Status: Bad]", "Bogus"):
        assert bad not in verbose


def test_the_file_header_is_nanosecond_raw_ip(tmp_path: Path, clean_run: Simulation) -> None:
    data = pcap_bytes(host_capture(clean_run.trace.records, "client"))
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, linktype) == (0xA1B23C4D, 2, 4, LINKTYPE_RAW)
    assert snaplen == 65535


def test_checksums_are_right_for_a_known_segment() -> None:
    seg = Segment(40000, 80, 1000, 0, SYN, 64240, mss=1460, sack_ok=True, ts_val=5, ts_ecr=0, wscale=7)
    raw = ip_bytes(IPPacket("192.0.2.1", "198.51.100.1", 64, IPPROTO_TCP, seg, 60, 7))
    assert len(raw) == 60 and raw[0] == 0x45
    assert struct.unpack("!H", raw[2:4])[0] == 60  # total length
    # The ones' complement sum over a header with a correct checksum is 0xFFFF.
    def fold(b: bytes) -> int:
        s = sum(struct.unpack(f"!{len(b) // 2}H", b))
        while s >> 16:
            s = (s & 0xFFFF) + (s >> 16)
        return s
    assert fold(raw[:20]) == 0xFFFF
    pseudo = raw[12:20] + struct.pack("!BBH", 0, IPPROTO_TCP, len(raw) - 20)
    assert fold(pseudo + raw[20:]) == 0xFFFF
    # Options in Linux's order: mss, sackOK + TS, nop, wscale.
    assert raw[40:44] == bytes([2, 4, 0x05, 0xB4]) and raw[44:46] == bytes([4, 2]) and raw[46] == 8
    assert raw[56:60] == bytes([1, 3, 3, 7])


def test_a_corrupted_packet_has_a_bad_checksum(tmp_path: Path) -> None:
    seg = Segment(40000, 80, 1, 1, ACK, 100, b"hello")
    good = IPPacket("192.0.2.1", "198.51.100.1", 64, IPPROTO_TCP, seg, 45, 1)
    bad = good.copy(corrupted=True)
    path = tmp_path / "c.pcap"
    from tcpsim.trace.analysis import Captured

    path.write_bytes(pcap_bytes([Captured(0.0, good, True, 0), Captured(0.001, bad, True, 1)]))
    assert count(path, "tcp.checksum.status == 0") == 1
    assert count(path, "tcp.checksum.status == 1") == 1


@pytest.mark.parametrize("scenario", ["ping-ttl", "traceroute"])
def test_tshark_reads_scenario_captures_cleanly(tmp_path: Path, scenario: str) -> None:
    from tcpsim.scenario.library import builtin_scenarios
    from tcpsim.scenario.loader import load_document
    from tcpsim.scenario.run import run_scenario

    doc, model = load_document(builtin_scenarios()[scenario])
    records = run_scenario(model, doc=doc).built.sim.trace.records
    paths = write_host_pcaps(records, tmp_path)
    assert {p.name for p in paths} == {"client.pcap", "server.pcap"}
    for p in paths:
        assert_clean(p)
        n = len(host_capture(records, p.stem))
        assert len(tshark("-r", str(p)).splitlines()) == n > 0
    # The client saw every ICMP message it was sent.
    client = tshark("-r", str(tmp_path / "client.pcap"), "-T", "fields", "-e", "icmp.type")
    types = {int(t.split(",")[0]) for t in client.split()}  # an error quotes the probe: "11,8"
    assert (types >= {0, 8}) if scenario == "ping-ttl" else (11 in types)


def test_tshark_reads_a_tcp_exchange_cleanly(tmp_path: Path, clean_run: Simulation) -> None:
    records = clean_run.trace.records
    for p in write_host_pcaps(records, tmp_path):
        assert_clean(p)
    text = tshark("-r", str(tmp_path / "client.pcap"), "-T", "fields", "-e", "tcp.flags.str", "-e", "tcp.seq",
                  "-e", "tcp.ack", "-e", "tcp.len")
    rows = [line.split("\t") for line in text.splitlines()]
    # Wireshark's relative numbers: SYN seq 0; SYN-ACK seq 0 ack 1; ACK seq 1 ack 1.
    assert rows[0][1:3] == ["0", "0"] and "S" in rows[0][0]
    assert rows[1][1:3] == ["0", "1"]
    assert rows[2][1:3] == ["1", "1"]
    assert sum(int(r[3]) for r in rows) == 3000 + 0  # every data byte the client sent is in its capture once


def test_tshark_analysis_agrees_with_the_trace_on_a_lossy_transfer(tmp_path: Path, lossy_run: Simulation) -> None:
    records = lossy_run.trace.records
    write_host_pcaps(records, tmp_path)
    for host in ("client", "server"):
        path = tmp_path / f"{host}.pcap"
        assert_clean(path)
        ours = tcp_analysis(host_capture(records, host))
        theirs_re = count(path, "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || "
                                "tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order")
        assert ours.retransmissions == theirs_re, host
        assert ours.dup_acks == count(path, "tcp.analysis.duplicate_ack"), host
        assert ours.zero_windows == count(path, "tcp.analysis.zero_window"), host
    client = tcp_analysis(host_capture(records, "client"))
    assert client.retransmissions > 5 and client.dup_acks > 20 and client.zero_windows >= 1
    # The sender's count covers what it really had to do: every data segment of its own that the
    # network lost was sent again.
    lost = sum(1 for r in records if r[1] == "pkt" and r[3] == "drop" and r[4].src == "192.0.2.1"
               and r[4].payload.payload)
    assert 0 < lost <= client.retransmissions


def test_link_capture_holds_what_was_put_on_the_link(tmp_path: Path, lossy_run: Simulation) -> None:
    records = lossy_run.trace.records
    paths = write_link_pcaps(records, tmp_path, {"r1-server": ("r1->server", "server->r1")})
    assert_clean(paths[0])
    cap = link_capture(records, ("r1->server", "server->r1"))
    assert len(tshark("-r", str(paths[0])).splitlines()) == len(cap)
    # Lost on that link, yet on the tap: the tap sits before the lossy medium.
    lost = sum(1 for r in records if r[1] == "pkt" and r[3] == "drop" and r[5] in ("r1->server", "server->r1"))
    assert lost > 0
    forwarded = sum(1 for r in records if r[1] == "pkt" and r[3] == "fwd" and r[5] == "r1->server")
    sent = sum(1 for r in records if r[1] == "pkt" and r[3] == "send" and r[5] == "server->r1")
    assert len(cap) == forwarded + sent


@pytest.mark.parametrize("scenario", ["lossy-transfer", "lost-final-ack"])
def test_tshark_analysis_agrees_on_library_scenarios(tmp_path: Path, scenario: str) -> None:
    from tcpsim.scenario.library import builtin_scenarios
    from tcpsim.scenario.loader import load_document
    from tcpsim.scenario.run import run_scenario

    doc, model = load_document(builtin_scenarios()[scenario])
    records = run_scenario(model, doc=doc).built.sim.trace.records
    paths = write_host_pcaps(records, tmp_path)
    total_re = 0
    for path in paths:
        assert_clean(path)
        ours = tcp_analysis(host_capture(records, path.stem))
        theirs_re = count(path, "tcp.analysis.retransmission || tcp.analysis.fast_retransmission || "
                                "tcp.analysis.spurious_retransmission || tcp.analysis.out_of_order")
        assert ours.retransmissions == theirs_re, path.stem
        assert ours.dup_acks == count(path, "tcp.analysis.duplicate_ack"), path.stem
        assert ours.zero_windows == count(path, "tcp.analysis.zero_window"), path.stem
        total_re += ours.retransmissions
    assert total_re > 0  # both scenarios are about retransmission: the FIN again, lost data again
