"""Values that travel: TCP segments, IPv4 packets and ICMP messages.

Everything here is a plain value with no behaviour beyond cheap derived
properties. The hot path constructs one of these per packet, so they are
slotted classes rather than frozen dataclasses (a frozen dataclass pays an
``object.__setattr__`` call per field on construction). Treat them as
immutable: code that needs a changed copy builds a new one.
"""

from tcpsim.wire.ip import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    ICMP_TIME_EXCEEDED,
    IPPROTO_ICMP,
    IPPROTO_TCP,
    UNREACH_HOST,
    UNREACH_NET,
    UNREACH_PORT,
    ICMPMessage,
    IPPacket,
)
from tcpsim.wire.segment import (
    ACK,
    CWR,
    ECE,
    FIN,
    PSH,
    RST,
    SYN,
    URG,
    Segment,
    flags_text,
)

__all__ = [
    "ACK", "CWR", "ECE", "FIN", "PSH", "RST", "SYN", "URG",
    "Segment", "flags_text",
    "IPPacket", "ICMPMessage",
    "IPPROTO_ICMP", "IPPROTO_TCP",
    "ICMP_ECHO_REPLY", "ICMP_ECHO_REQUEST", "ICMP_DEST_UNREACH", "ICMP_TIME_EXCEEDED",
    "UNREACH_NET", "UNREACH_HOST", "UNREACH_PORT",
]
