"""IPv4 packets and ICMP messages (RFC 791, RFC 792)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tcpsim.wire.segment import Segment

IPPROTO_ICMP = 1
IPPROTO_TCP = 6

IP_HEADER_LEN = 20

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO_REQUEST = 8
ICMP_TIME_EXCEEDED = 11

# Destination Unreachable codes (RFC 792, RFC 1122 3.2.2.1).
UNREACH_NET = 0
UNREACH_HOST = 1
UNREACH_PROTOCOL = 2
UNREACH_PORT = 3
UNREACH_FRAG_NEEDED = 4
UNREACH_ADMIN = 13


class ICMPMessage:
    """An ICMP message. Error messages quote the offending packet in ``quoted``.

    ``ident``/``seqno`` are used by echo request and reply; ``payload_len``
    is the echo data length (56 by default, as ping sends).
    """

    __slots__ = ("type", "code", "ident", "seqno", "payload_len", "quoted", "sent_at")

    def __init__(
        self,
        type: int,
        code: int = 0,
        ident: int = 0,
        seqno: int = 0,
        payload_len: int = 0,
        quoted: IPPacket | None = None,
        sent_at: float = 0.0,
    ) -> None:
        self.type = type
        self.code = code
        self.ident = ident
        self.seqno = seqno
        self.payload_len = payload_len
        self.quoted = quoted
        self.sent_at = sent_at

    @property
    def size(self) -> int:
        """ICMP message length in bytes (header 8 + data)."""
        if self.quoted is not None:
            # RFC 792: the original IP header plus the first 64 bits of its data.
            return 8 + IP_HEADER_LEN + 8
        return 8 + self.payload_len

    @property
    def is_error(self) -> bool:
        return self.type in (ICMP_DEST_UNREACH, ICMP_TIME_EXCEEDED)

    def __repr__(self) -> str:
        return f"ICMP(type={self.type} code={self.code} id={self.ident} seq={self.seqno})"


class IPPacket:
    """An IPv4 packet. ``payload`` is a Segment (proto 6) or ICMPMessage (proto 1).

    ``size`` is the total length in bytes, used for serialization delay and
    byte-limited queues. ``ident`` is the IP identification field, assigned by
    the sending host. ``corrupted`` marks a packet damaged on a link: the
    receiver drops it as a checksum failure.
    """

    __slots__ = ("src", "dst", "ttl", "proto", "payload", "size", "ident", "corrupted")

    def __init__(
        self,
        src: str,
        dst: str,
        ttl: int,
        proto: int,
        payload: Segment | ICMPMessage,
        size: int,
        ident: int = 0,
        corrupted: bool = False,
    ) -> None:
        self.src = src
        self.dst = dst
        self.ttl = ttl
        self.proto = proto
        self.payload = payload
        self.size = size
        self.ident = ident
        self.corrupted = corrupted

    def copy(self, **changes: object) -> IPPacket:
        """A copy with some fields changed (a router's TTL decrement, a duplicate)."""
        p = IPPacket(self.src, self.dst, self.ttl, self.proto, self.payload, self.size, self.ident, self.corrupted)
        for k, v in changes.items():
            setattr(p, k, v)
        return p

    def __repr__(self) -> str:
        return f"IPPacket({self.src} > {self.dst} ttl={self.ttl} proto={self.proto} size={self.size} {self.payload!r})"
