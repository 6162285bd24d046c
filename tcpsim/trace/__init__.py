"""One append-only record stream. Only the network adapters write it; every
view (tcpdump text, JSONL, pcap, netstat, plots, summary) reads it."""

from tcpsim.trace.records import Level, Trace

__all__ = ["Level", "Trace"]
