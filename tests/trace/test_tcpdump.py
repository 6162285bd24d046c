"""tcpdump's text view: exact lines, as ``tcpdump -n -tt`` (and ``-S``) prints them."""

from __future__ import annotations

from typing import Any

import pytest

from tcpsim.trace.records import Level, Trace
from tcpsim.trace.tcpdump import TcpdumpFormatter, format_flags, format_icmp, tcpdump_lines
from tcpsim.wire import (
    ACK,
    CWR,
    ECE,
    FIN,
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_TIME_EXCEEDED,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    PSH,
    RST,
    SYN,
    URG,
    ICMPMessage,
    IPPacket,
    Segment,
)

C, S = "192.0.2.1", "198.51.100.1"
CP, SP = 39870, 80
C_ISN, S_ISN = 2927179378, 1040000000


def tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, win: int,
        data: bytes = b"", **opts: Any) -> IPPacket:
    seg = Segment(sport, dport, seq, ack, flags, win, data, **opts)
    return IPPacket(src, dst, 64, IPPROTO_TCP, seg, 20 + seg.header_len + len(data))


def c2s(seq: int, ack: int, flags: int, win: int = 502, data: bytes = b"", **opts: Any) -> IPPacket:
    return tcp(C, S, CP, SP, seq, ack, flags, win, data, **opts)


def s2c(seq: int, ack: int, flags: int, win: int = 509, data: bytes = b"", **opts: Any) -> IPPacket:
    return tcp(S, C, SP, CP, seq, ack, flags, win, data, **opts)


SYN_OPTS: dict[str, Any] = {"mss": 1460, "sack_ok": True, "ts_val": 1, "ts_ecr": 0, "wscale": 7}


def conversation() -> list[IPPacket]:
    """A whole connection: handshake, 100 bytes each way, close from the client."""
    return [
        c2s(C_ISN, 0, SYN, win=64240, **SYN_OPTS),
        s2c(S_ISN, C_ISN + 1, SYN | ACK, win=65160, mss=1460, sack_ok=True, ts_val=9, ts_ecr=1, wscale=7),
        c2s(C_ISN + 1, S_ISN + 1, ACK, ts_val=2, ts_ecr=9),
        c2s(C_ISN + 1, S_ISN + 1, PSH | ACK, data=b"x" * 100, ts_val=2, ts_ecr=9),
        s2c(S_ISN + 1, C_ISN + 101, ACK, ts_val=10, ts_ecr=2),
        s2c(S_ISN + 1, C_ISN + 101, PSH | ACK, data=b"y" * 50),
        c2s(C_ISN + 101, S_ISN + 51, FIN | ACK),
        s2c(S_ISN + 51, C_ISN + 102, FIN | ACK),
        c2s(C_ISN + 102, S_ISN + 52, ACK),
    ]


RELATIVE = [
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [S], seq 2927179378, win 64240, "
    "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [S.], seq 1040000000, ack 2927179379, win 65160, "
    "options [mss 1460,sackOK,TS val 9 ecr 1,nop,wscale 7], length 0",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [.], ack 1, win 502, options [nop,nop,TS val 2 ecr 9], length 0",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [P.], seq 1:101, ack 1, win 502, "
    "options [nop,nop,TS val 2 ecr 9], length 100",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [.], ack 101, win 509, options [nop,nop,TS val 10 ecr 2], length 0",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [P.], seq 1:51, ack 101, win 509, length 50",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [F.], seq 101, ack 51, win 502, length 0",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [F.], seq 51, ack 102, win 509, length 0",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [.], ack 52, win 502, length 0",
]

ABSOLUTE = [
    RELATIVE[0],
    RELATIVE[1],
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [.], ack 1040000001, win 502, "
    "options [nop,nop,TS val 2 ecr 9], length 0",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [P.], seq 2927179379:2927179479, ack 1040000001, win 502, "
    "options [nop,nop,TS val 2 ecr 9], length 100",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [.], ack 2927179479, win 509, "
    "options [nop,nop,TS val 10 ecr 2], length 0",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [P.], seq 1040000001:1040000051, ack 2927179479, win 509, length 50",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [F.], seq 2927179479, ack 1040000051, win 502, length 0",
    "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [F.], seq 1040000051, ack 2927179480, win 509, length 0",
    "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [.], ack 1040000052, win 502, length 0",
]


def test_the_brief_example_syn_line_with_timestamp() -> None:
    fmt = TcpdumpFormatter()
    assert fmt.packet(conversation()[0], 0.104701) == (
        "0.104701 IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [S], seq 2927179378, win 64240, "
        "options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
    )


def test_relative_numbers_by_default() -> None:
    fmt = TcpdumpFormatter()
    assert [fmt.packet(p) for p in conversation()] == RELATIVE


def test_absolute_numbers_like_dash_S() -> None:
    fmt = TcpdumpFormatter(absolute=True)
    assert [fmt.packet(p) for p in conversation()] == ABSOLUTE


def test_rst_without_ack_shows_seq_and_no_ack() -> None:
    fmt = TcpdumpFormatter()
    for p in conversation()[:3]:
        fmt.packet(p)
    # tcpdump only translates segments with ACK set, so a bare RST shows its absolute seq.
    assert fmt.packet(c2s(C_ISN + 1, 0, RST, win=0)) == (
        "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [R], seq 2927179379, win 0, length 0"
    )


def test_rst_ack_to_a_closed_port_is_a_new_conversation_in_absolute_numbers() -> None:
    fmt = TcpdumpFormatter()
    fmt.packet(c2s(C_ISN, 0, SYN, win=64240, **SYN_OPTS))
    assert fmt.packet(s2c(0, C_ISN + 1, RST | ACK, win=0)) == (
        "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [R.], seq 0, ack 2927179379, win 0, length 0"
    )


def test_rst_ack_after_the_handshake_is_relative() -> None:
    fmt = TcpdumpFormatter()
    for p in conversation()[:3]:
        fmt.packet(p)
    assert fmt.packet(s2c(S_ISN + 1, C_ISN + 1, RST | ACK, win=0)) == (
        "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [R.], seq 1, ack 1, win 0, length 0"
    )


def test_relative_numbers_wrap_modulo_2_32() -> None:
    isn = 2**32 - 10
    fmt = TcpdumpFormatter()
    fmt.packet(c2s(isn, 0, SYN, win=64240))
    fmt.packet(s2c(5, isn + 1, SYN | ACK, win=65160))
    line = fmt.packet(c2s((isn + 1) % 2**32, 6, PSH | ACK, data=b"z" * 20))
    assert line == "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [P.], seq 1:21, ack 1, win 502, length 20"
    absolute = TcpdumpFormatter(absolute=True).packet(c2s(2**32 - 5, 6, PSH | ACK, data=b"z" * 20))
    assert ", seq 4294967291:15, ack 6," in absolute


def test_sack_blocks_are_relative_to_the_peer_like_ack() -> None:
    fmt = TcpdumpFormatter()
    for p in conversation()[:3]:
        fmt.packet(p)
    sack = ((C_ISN + 1 + 1448, C_ISN + 1 + 2896),)
    line = fmt.packet(s2c(S_ISN + 1, C_ISN + 1, ACK, sack=sack, ts_val=11, ts_ecr=3))
    assert line == (
        "IP 198.51.100.1.80 > 192.0.2.1.39870: Flags [.], ack 1, win 509, "
        "options [nop,nop,TS val 11 ecr 3,nop,nop,sack 1 {1449:2897}], length 0"
    )
    line = TcpdumpFormatter(absolute=True).packet(s2c(S_ISN + 1, C_ISN + 1, ACK, sack=sack))
    assert "options [nop,nop,sack 1 {2927180827:2927182275}]" in line


def test_linux_option_layout_without_timestamps() -> None:
    fmt = TcpdumpFormatter()
    line = fmt.packet(c2s(C_ISN, 0, SYN, win=64240, mss=1460, sack_ok=True, wscale=7))
    assert line.endswith("options [mss 1460,nop,nop,sackOK,nop,wscale 7], length 0")


@pytest.mark.parametrize(
    ("flags", "text"),
    [
        (SYN, "S"), (SYN | ACK, "S."), (ACK, "."), (PSH | ACK, "P."), (FIN | ACK, "F."),
        (FIN | PSH | ACK, "FP."), (RST, "R"), (RST | ACK, "R."), (SYN | ECE | CWR, "SEW"),
        (SYN | ACK | ECE, "S.E"), (URG | ACK, ".U"), (0, "none"),
    ],
)
def test_flag_letters_in_tcpdumps_order(flags: int, text: str) -> None:
    assert format_flags(flags) == text


def test_urgent_pointer_is_shown() -> None:
    seg = Segment(CP, SP, 1, 1, URG | ACK, 502, b"!", urg_ptr=1)
    pkt = IPPacket(C, S, 64, IPPROTO_TCP, seg, 41)
    assert TcpdumpFormatter(absolute=True).packet(pkt) == (
        "IP 192.0.2.1.39870 > 198.51.100.1.80: Flags [.U], seq 1:2, ack 1, win 502, urg 1, length 1"
    )


# -- ICMP -------------------------------------------------------------------------------


def icmp(src: str, dst: str, msg: ICMPMessage) -> IPPacket:
    return IPPacket(src, dst, 64, IPPROTO_ICMP, msg, 20 + msg.size)


def quoted_tcp() -> IPPacket:
    return c2s(C_ISN, 0, SYN, win=64240)


def quoted_echo() -> IPPacket:
    return icmp(C, S, ICMPMessage(ICMP_ECHO_REQUEST, 0, 1, 3, 56))


@pytest.mark.parametrize(
    ("pkt", "line"),
    [
        (icmp(C, S, ICMPMessage(ICMP_ECHO_REQUEST, 0, 1, 1, 56)),
         "IP 192.0.2.1 > 198.51.100.1: ICMP echo request, id 1, seq 1, length 64"),
        (icmp(S, C, ICMPMessage(ICMP_ECHO_REPLY, 0, 1, 1, 56)),
         "IP 198.51.100.1 > 192.0.2.1: ICMP echo reply, id 1, seq 1, length 64"),
        (icmp("203.0.113.1", C, ICMPMessage(ICMP_TIME_EXCEEDED, 0, quoted=quoted_echo())),
         "IP 203.0.113.1 > 192.0.2.1: ICMP time exceeded in-transit, length 36"),
        (icmp(S, C, ICMPMessage(ICMP_DEST_UNREACH, 3, quoted=quoted_tcp())),
         "IP 198.51.100.1 > 192.0.2.1: ICMP 198.51.100.1 tcp port 80 unreachable, length 36"),
        (icmp("203.0.113.1", C, ICMPMessage(ICMP_DEST_UNREACH, 1, quoted=quoted_tcp())),
         "IP 203.0.113.1 > 192.0.2.1: ICMP host 198.51.100.1 unreachable, length 36"),
        (icmp("203.0.113.1", C, ICMPMessage(ICMP_DEST_UNREACH, 0, quoted=quoted_echo())),
         "IP 203.0.113.1 > 192.0.2.1: ICMP net 198.51.100.1 unreachable, length 36"),
        (icmp(S, C, ICMPMessage(ICMP_DEST_UNREACH, 2, quoted=quoted_tcp())),
         "IP 198.51.100.1 > 192.0.2.1: ICMP 198.51.100.1 protocol 6 unreachable, length 36"),
        (icmp("203.0.113.1", C, ICMPMessage(ICMP_DEST_UNREACH, 4, quoted=quoted_tcp())),
         "IP 203.0.113.1 > 192.0.2.1: ICMP 198.51.100.1 unreachable - need to frag, length 36"),
        (icmp("203.0.113.1", C, ICMPMessage(ICMP_DEST_UNREACH, 13, quoted=quoted_tcp())),
         "IP 203.0.113.1 > 192.0.2.1: ICMP host 198.51.100.1 unreachable - admin prohibited filter, length 36"),
        (icmp("203.0.113.1", C, ICMPMessage(ICMP_TIME_EXCEEDED, 1, quoted=quoted_echo())),
         "IP 203.0.113.1 > 192.0.2.1: ICMP ip reassembly time exceeded, length 36"),
    ],
)
def test_icmp_lines(pkt: IPPacket, line: str) -> None:
    assert TcpdumpFormatter().packet(pkt) == line


def test_unknown_icmp_type() -> None:
    assert format_icmp(ICMPMessage(42, 0)) == "ICMP type-#42, length 8"


# -- packets.txt ------------------------------------------------------------------------


def test_lines_show_sends_once_and_drops_as_comments() -> None:
    trace = Trace(Level.PACKETS)
    conv = conversation()
    syn, synack, ack = conv[0], conv[1], conv[2]
    data = conv[3]
    trace.packet(0.0, "client", "send", syn, "client->r1")
    trace.packet(0.001, "r1", "fwd", syn.copy(ttl=63), "r1->server")
    trace.packet(0.002, "server", "recv", syn, "r1->server")
    trace.packet(0.002, "server", "send", synack, "server->r1")
    trace.packet(0.004, "client", "send", ack, "client->r1")
    trace.packet(0.004, "client", "send", data, "client->r1")
    trace.packet(0.005, "r1", "drop", data, "r1->server", "queue")
    trace.state(0.004, "client", "192.0.2.1:39870>198.51.100.1:80", "SYN-SENT", "ESTABLISHED", "rcv SYN,ACK")
    trace.packet(0.3, "client", "drop", icmp(C, S, ICMPMessage(ICMP_ECHO_REQUEST, 0, 1, 1, 56)), "", "noroute")
    assert list(tcpdump_lines(trace.records)) == [
        "0.000000 " + RELATIVE[0],
        "0.002000 " + RELATIVE[1],
        "0.004000 " + RELATIVE[2],
        "0.004000 " + RELATIVE[3],
        "# drop 0.005000 at r1 on r1->server (queue): " + RELATIVE[3],
        "# drop 0.300000 at client (noroute): IP 192.0.2.1 > 198.51.100.1: ICMP echo request, id 1, seq 1, length 64",
    ]
    assert list(tcpdump_lines(trace.records, absolute=True))[3] == "0.004000 " + ABSOLUTE[3]
    assert len(list(tcpdump_lines(trace.records, drops=False))) == 4


def test_a_dropped_synack_does_not_disturb_relative_numbers() -> None:
    trace = Trace(Level.PACKETS)
    conv = conversation()
    trace.packet(0.0, "client", "send", conv[0], "client->r1")
    # A SYN-ACK dropped before anything was sent would otherwise set the bases early.
    trace.packet(0.001, "r1", "drop", s2c(777, C_ISN + 1, SYN | ACK), "r1->client", "loss")
    trace.packet(0.002, "server", "send", conv[1], "server->r1")
    trace.packet(0.003, "client", "send", conv[2], "client->r1")
    lines = list(tcpdump_lines(trace.records))
    assert lines[1].startswith("# drop 0.001000 at r1 on r1->client (loss): IP 198.51.100.1.80 > 192.0.2.1.39870: "
                               "Flags [S.], seq 777, ack 2927179379")
    assert lines[3] == "0.003000 " + RELATIVE[2]


def test_pure_function_of_the_records() -> None:
    trace = Trace(Level.PACKETS)
    for i, p in enumerate(conversation()):
        trace.packet(i / 10, "x", "send", p, "x->y")
    assert list(tcpdump_lines(trace.records)) == list(tcpdump_lines(trace.records))
