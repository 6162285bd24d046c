"""pcap files from the trace: real IPv4 / TCP / ICMP bytes that Wireshark and tcpdump read.

Why real bytes: the point of a capture is that students open it in the tools
they will use on real networks, and that those tools act as an outside
oracle on the simulator (DESIGN.md §5: "tshark reads our pcap without
complaint"). So headers are encoded field by field with dpkt, checksums
are computed over the real bytes, and TCP options are laid out as Linux lays
them out (``mss``, ``sackOK`` next to ``TS``, NOP padding), which is also the
layout ``tcpdump.py`` prints.

Choices:

* Link type LINKTYPE_RAW (101): the simulator has no Ethernet, so the file
  holds bare IPv4 packets; inventing MAC addresses would only add noise.
* Nanosecond timestamps: simulated serialization times are finer than a
  microsecond, and a coarser clock would reorder packets in Wireshark's view.
  Time 0 of the run is the Unix epoch.
* A packet damaged on a link (``corrupted``) is written with a wrong TCP or
  ICMP checksum, which is what a capture at the receiver would show.
* The IP total length is the length of the bytes written. It can exceed the
  packet's modelled ``size`` by the few bytes of NOP padding Linux puts
  around SACK blocks, which the size model does not count.
* Segment payloads are the real bytes when the trace was kept in memory, and
  zeros when it was read back from trace.jsonl (which keeps only lengths).

One capture per host (``RUNDIR/<host>.pcap``: what the host sent and what
reached its IP layer) and, on request, one per link (``RUNDIR/link-<name>.pcap``:
what was put on the link, both ways); see ``analysis.py`` for what each holds.
"""

from __future__ import annotations

import io
import socket
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import dpkt

from tcpsim.trace.analysis import Captured, host_capture, hosts_in, link_capture
from tcpsim.wire.ip import IPPROTO_TCP, ICMPMessage, IPPacket
from tcpsim.wire.segment import Segment

__all__ = ["LINKTYPE_RAW", "ip_bytes", "tcp_options_bytes", "pcap_bytes", "write_host_pcaps", "write_link_pcaps"]

LINKTYPE_RAW = 101


def tcp_options_bytes(seg: Segment) -> bytes:
    """TCP options in Linux's tcp_options_write() layout (always a multiple of 4 bytes)."""
    out = bytearray()
    if seg.mss is not None:
        out += struct.pack("!BBH", 2, 4, seg.mss)
    if seg.ts_val is not None:
        out += struct.pack("!BB", 4, 2) if seg.sack_ok else b"\x01\x01"
        out += struct.pack("!BBII", 8, 10, seg.ts_val & 0xFFFFFFFF, (seg.ts_ecr or 0) & 0xFFFFFFFF)
    elif seg.sack_ok:
        out += b"\x01\x01" + struct.pack("!BB", 4, 2)
    if seg.wscale is not None:
        out += b"\x01" + struct.pack("!BBB", 3, 3, seg.wscale)
    if seg.sack:
        out += b"\x01\x01" + struct.pack("!BB", 5, 2 + 8 * len(seg.sack))
        for a, b in seg.sack:
            out += struct.pack("!II", a & 0xFFFFFFFF, b & 0xFFFFFFFF)
    return bytes(out)


def _echo_data(n: int) -> bytes:
    # ping's pattern after its 8-byte timestamp: bytes counting up from 0x08.
    return bytes((i + 8) & 0xFF for i in range(n))


def _transport(pkt: IPPacket) -> dpkt.Packet:
    p = pkt.payload
    if isinstance(p, Segment):
        opts = tcp_options_bytes(p)
        return dpkt.tcp.TCP(sport=p.sport, dport=p.dport, seq=p.seq & 0xFFFFFFFF, ack=p.ack & 0xFFFFFFFF,
                            off=(20 + len(opts)) // 4, flags=p.flags, win=p.window & 0xFFFF,
                            urp=p.urg_ptr, opts=opts, data=bytes(p.payload))
    if isinstance(p, ICMPMessage):
        if p.quoted is not None:
            # RFC 792: the offending packet's IP header and the first 64 bits of its data.
            quoted = ip_bytes(p.quoted)
            body = quoted[: (quoted[0] & 0x0F) * 4 + 8]
            inner: dpkt.Packet = dpkt.icmp.ICMP.TimeExceed(data=body) if p.type == 11 \
                else dpkt.icmp.ICMP.Unreach(data=body)
        elif p.type in (0, 8):
            inner = dpkt.icmp.ICMP.Echo(id=p.ident, seq=p.seqno, data=_echo_data(p.payload_len))
        else:
            inner = dpkt.icmp.ICMP.Echo(id=p.ident, seq=p.seqno, data=b"")
        return dpkt.icmp.ICMP(type=p.type, code=p.code, data=inner)
    raise ValueError(f"cannot encode a packet of protocol {pkt.proto}")  # pragma: no cover


def ip_bytes(pkt: IPPacket) -> bytes:
    """The packet as it would be on the wire, checksums included (a wrong one when ``corrupted``)."""
    body = _transport(pkt)
    ip = dpkt.ip.IP(src=socket.inet_aton(pkt.src), dst=socket.inet_aton(pkt.dst), ttl=max(0, pkt.ttl),
                    p=pkt.proto, id=pkt.ident & 0xFFFF, df=1 if pkt.proto == IPPROTO_TCP else 0,
                    data=body)
    raw = bytearray(bytes(ip))
    if pkt.corrupted:
        # Damage the transport checksum so the receiver's verdict ("checksum") shows in the capture.
        off = 20 + (16 if pkt.proto == IPPROTO_TCP else 2)
        raw[off] ^= 0x5A
    return bytes(raw)


def pcap_bytes(capture: Iterable[Captured]) -> bytes:
    """A whole pcap file (nanosecond, LINKTYPE_RAW) holding ``capture`` in order."""
    buf = io.BytesIO()
    w = dpkt.pcap.Writer(buf, snaplen=65535, linktype=LINKTYPE_RAW, nano=True)
    for c in capture:
        w.writepkt_time(ip_bytes(c.pkt), c.t)
    return buf.getvalue()


def write_host_pcaps(records: Sequence[tuple[Any, ...]], out_dir: Path,
                     hosts: Iterable[str] | None = None) -> list[Path]:
    """``<host>.pcap`` for every host (default: every node that sent or received a packet and forwarded none)."""
    paths: list[Path] = []
    for host in (hosts_in(records, routers=False) if hosts is None else hosts):
        path = out_dir / f"{host}.pcap"
        path.write_bytes(pcap_bytes(host_capture(records, host)))
        paths.append(path)
    return paths


def write_link_pcaps(records: Sequence[tuple[Any, ...]], out_dir: Path,
                     links: dict[str, tuple[str, str]]) -> list[Path]:
    """``link-<name>.pcap`` per link; ``links`` maps a link name to its two direction names."""
    paths: list[Path] = []
    for name, dirs in links.items():
        path = out_dir / f"link-{name}.pcap"
        path.write_bytes(pcap_bytes(link_capture(records, dirs)))
        paths.append(path)
    return paths
