"""tcpdump's text view of a trace (``tcpdump -n -tt``, optionally ``-S``).

Why mimic tcpdump exactly: people learn TCP by reading tcpdump, and a line
they can compare field by field with a capture from a real machine is worth
more than any prettier format. The rules followed here, from tcpdump's
``print-tcp.c`` and ``print-icmp.c``:

* ``TIME IP SRC.SPORT > DST.DPORT: Flags [F], seq S[:E], ack A, win W[, urg U][, options [...]], length L``;
  the time is seconds with six decimals (``-tt``); addresses and ports are
  numeric (``-n``).
* Flag letters in tcpdump's table order ``F S R P . U E W`` (so SYN+ACK is
  ``S.`` and FIN+PSH+ACK is ``FP.``), ``none`` when no flag is set.
* ``seq`` is printed only when the segment carries data or SYN/FIN/RST, as
  ``seq S:S+len`` when it carries data; ``ack`` only when ACK is set.
* Relative numbers (the default; ``absolute=True`` is ``-S``): tcpdump keeps
  one entry per conversation, created by the first segment *with ACK set*
  (or any later one with SYN+ACK) and printed absolute; afterwards seq is
  shown minus that direction's base and ack minus the other's. So the first
  SYN and the SYN-ACK show absolute numbers, and the third ACK shows
  ``ack 1``. SACK blocks are relative to the peer's base, like ack.
* TCP options in the order Linux puts them on the wire (``mss``, ``sackOK``
  next to ``TS``, ``nop`` padding), because the simulated segment carries
  options as fields, not bytes, and Linux's layout is what a student will
  compare against.
* ICMP: ``ICMP echo request, id I, seq S, length L``, ``ICMP time exceeded
  in-transit, length L``, ``ICMP 198.51.100.1 tcp port 80 unreachable,
  length L`` and the rest of print-icmp.c's wording; ``length`` is the ICMP
  message length (IP payload).

A pure function of the trace: feed it the same records, get the same lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from tcpsim.trace.records import DROP, PKT, SEND
from tcpsim.wire.ip import IPPROTO_TCP, ICMPMessage, IPPacket
from tcpsim.wire.segment import ACK, CWR, ECE, FIN, PSH, RST, SYN, URG, Segment

__all__ = ["TcpdumpFormatter", "format_flags", "format_options", "format_icmp", "tcpdump_lines"]

_MOD = 1 << 32

# tcpdump's tcp_flag_values table, in its order.
_FLAG_TABLE = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."), (URG, "U"), (ECE, "E"), (CWR, "W"))


def format_flags(flags: int) -> str:
    """The text inside ``Flags [...]``."""
    text = "".join(letter for bit, letter in _FLAG_TABLE if flags & bit)
    return text or "none"


def format_options(seg: Segment, sack_base: int = 0) -> str:
    """The text inside ``options [...]``, laid out as Linux's tcp_options_write does.

    ``sack_base`` is subtracted from SACK block edges (tcpdump shows them
    relative when it shows ack relative).
    """
    parts: list[str] = []
    if seg.mss is not None:
        parts.append(f"mss {seg.mss}")
    if seg.ts_val is not None:
        # SACK-permitted rides in the two bytes a NOP pair would otherwise fill.
        parts.extend(["sackOK"] if seg.sack_ok else ["nop", "nop"])
        parts.append(f"TS val {seg.ts_val} ecr {seg.ts_ecr or 0}")
    elif seg.sack_ok:
        parts.extend(["nop", "nop", "sackOK"])
    if seg.wscale is not None:
        parts.extend(["nop", f"wscale {seg.wscale}"])
    if seg.sack:
        blocks = "".join(f"{{{(a - sack_base) % _MOD}:{(b - sack_base) % _MOD}}}" for a, b in seg.sack)
        parts.extend(["nop", "nop", f"sack {len(seg.sack)} {blocks}"])
    return ",".join(parts)


# print-icmp.c's wording for Destination Unreachable codes other than 2, 3 and 4.
_UNREACH = {
    0: "net {} unreachable",
    1: "host {} unreachable",
    5: "{} unreachable - source route failed",
    6: "net {} unreachable - unknown",
    7: "host {} unreachable - unknown",
    8: "{} unreachable - source host isolated",
    9: "net {} unreachable - admin prohibited",
    10: "host {} unreachable - admin prohibited",
    11: "net {} unreachable - tos prohibited",
    12: "host {} unreachable - tos prohibited",
    13: "host {} unreachable - admin prohibited filter",
    14: "host {} unreachable - host precedence violation",
    15: "host {} unreachable - precedence cutoff",
}
_ICMP_TYPES = {
    4: "source quench", 10: "router solicitation", 13: "time stamp request", 14: "time stamp reply",
    15: "information request", 16: "information reply", 17: "address mask request",
}


def format_icmp(icmp: ICMPMessage) -> str:
    """``ICMP ..., length L`` for one ICMP message."""
    t, code = icmp.type, icmp.code
    quoted = icmp.quoted
    if t in (0, 8):
        text = f"echo {'request' if t == 8 else 'reply'}, id {icmp.ident}, seq {icmp.seqno}"
    elif t == 3:
        qdst = quoted.dst if quoted is not None else "?"
        if code == 2:
            text = f"{qdst} protocol {quoted.proto if quoted is not None else 0} unreachable"
        elif code == 3:
            q = quoted.payload if quoted is not None else None
            port = q.dport if isinstance(q, Segment) else 0
            if quoted is not None and quoted.proto == IPPROTO_TCP:
                text = f"{qdst} tcp port {port} unreachable"
            else:
                text = f"{qdst} protocol {quoted.proto if quoted is not None else 0} port {port} unreachable"
        elif code == 4:
            mtu = getattr(icmp, "mtu", 0) or 0
            text = f"{qdst} unreachable - need to frag" + (f" (mtu {mtu})" if mtu else "")
        else:
            text = _UNREACH.get(code, "{} unreachable - #" + str(code)).format(qdst)
    elif t == 11:
        text = {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(code, f"time exceeded-#{code}")
    elif t == 12:
        text = f"parameter problem - code {code}" if code else "parameter problem - octet 0"
    else:
        text = _ICMP_TYPES.get(t, f"type-#{t}")
    return f"ICMP {text}, length {icmp.size}"


class TcpdumpFormatter:
    """Formats packets one by one, remembering each conversation's initial numbers as tcpdump does.

    Feed packets in trace order; the same instance must see a connection's
    SYN-ACK before its later segments for relative numbers to come out right,
    exactly like tcpdump reading a capture.
    """

    def __init__(self, absolute: bool = False) -> None:
        self.absolute = absolute
        # conversation key -> {(addr, port): base sequence number of that direction}
        self._bases: dict[tuple[tuple[str, int], tuple[str, int]], dict[tuple[str, int], int]] = {}

    def packet(self, pkt: IPPacket, t: float | None = None, *, update: bool = True) -> str:
        """One tcpdump line (with the ``-tt`` timestamp when ``t`` is given).

        ``update=False`` formats with the conversations seen so far without
        recording this packet's numbers (used for drops: a dropped packet was
        already shown when it was sent).
        """
        payload = pkt.payload
        if isinstance(payload, Segment):
            body = self._tcp(pkt, payload, update)
        elif isinstance(payload, ICMPMessage):
            body = f"{pkt.src} > {pkt.dst}: {format_icmp(payload)}"
        else:  # pragma: no cover - only TCP and ICMP travel
            body = f"{pkt.src} > {pkt.dst}: ip-proto-{pkt.proto} {pkt.size - 20}"
        line = f"IP {body}"
        return line if t is None else f"{t:.6f} {line}"

    def numbers(self, pkt: IPPacket, seg: Segment, update: bool = True) -> tuple[int, int, int]:
        """(seq, ack, SACK base) as the line shows them: relative once the conversation is known."""
        seq, ack, flags = seg.seq, seg.ack, seg.flags
        sack_base = 0
        if not self.absolute and flags & ACK:
            me, peer = (pkt.src, seg.sport), (pkt.dst, seg.dport)
            key = (me, peer) if me <= peer else (peer, me)
            bases = self._bases.get(key)
            if bases is None or flags & SYN:
                # New conversation (or a new SYN on an old one): this segment sets the bases.
                if update:
                    self._bases[key] = {me: seq, peer: (ack - 1) % _MOD}
                sack_base = (ack - 1) % _MOD
            else:
                seq = (seq - bases[me]) % _MOD
                ack = (ack - bases[peer]) % _MOD
                sack_base = bases[peer]
        return seq, ack, sack_base

    def _tcp(self, pkt: IPPacket, seg: Segment, update: bool) -> str:
        flags = seg.flags
        seq, ack, sack_base = self.numbers(pkt, seg, update)
        length = len(seg.payload)
        text = f"{pkt.src}.{seg.sport} > {pkt.dst}.{seg.dport}: Flags [{format_flags(flags)}]"
        if length > 0 or flags & (SYN | FIN | RST):
            text += f", seq {seq}"
            if length > 0:
                text += f":{(seq + length) % _MOD}"
        if flags & ACK:
            text += f", ack {ack}"
        text += f", win {seg.window}"
        if flags & URG:
            text += f", urg {seg.urg_ptr}"
        options = format_options(seg, sack_base)
        if options:
            text += f", options [{options}]"
        return text + f", length {length}"


def tcpdump_lines(records: Iterable[tuple[Any, ...]], *, absolute: bool = False, drops: bool = True) -> Iterator[str]:
    """packets.txt: each packet once, when it leaves its origin, and every drop as a comment.

    Only ``send`` records become packet lines (a forwarded packet is the same
    packet, so showing every hop would repeat it); a drop becomes
    ``# drop TIME at NODE on LINK (REASON): <the packet>``, so that the lost
    packet can be matched with the line where it was sent.
    """
    fmt = TcpdumpFormatter(absolute=absolute)
    for r in records:
        if r[1] != PKT:
            continue
        t, _, node, event, pkt, where, reason = r
        if event == SEND:
            yield fmt.packet(pkt, t)
        elif event == DROP and drops:
            shown = fmt.packet(pkt, update=False)
            on = f" on {where}" if where else ""
            yield f"# drop {t:.6f} at {node}{on} ({reason or 'unknown'}): {shown}"

